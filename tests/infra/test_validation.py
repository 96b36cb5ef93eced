"""Full validation, once: the pinned CDK CLI synthesizes the app offline (cdk-nag AwsSolutions as a
validation plugin, CDK's built-in CloudFormation validation on), cfn-lint reads what it wrote, and
the configuration branches the CLI run does not take go through cdk-nag in-process. A control
proves cdk-nag still fails a synth, so a broken plugin cannot make these pass vacuously."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_sqs as sqs
from cdk_nag import AwsSolutionsChecks

from infra.acknowledgements import REASONS
from infra.journeys import load
from tests.conftest import NODE_BIN, REPO, STATEMACHINES
from tests.infra.conftest import OTHER_BRANCHES, resources, synthesize

#: Only W3005 is ignored: CDK makes every Function and StateMachine depend on its role *and* the
#: role's default policy; the policy dependency is needed (permissions before first invocation),
#: the role one is redundant with the GetAtt. That is CDK's template, not a defect of ours.
CFN_LINT_IGNORED = "W3005"


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    executable = NODE_BIN / "cdk"
    if not executable.exists():
        pytest.fail(f"{executable} is missing: run `make deps` (npm ci)")
    out = tmp_path_factory.mktemp("cli") / "cdk.out"
    empty = out.parent / "deploy.yaml"
    empty.write_text("# defaults: what a fresh clone synthesizes\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "CDK_VALIDATION"}
    env.update(
        CDK_DISABLE_VERSION_CHECK="true",
        CDK_DISABLE_CLI_TELEMETRY="true",
        AWS_EC2_METADATA_DISABLED="true",  # offline: never probe for credentials
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    command = [
        str(executable),
        "synth",
        "--no-notices",
        "--quiet",
        "--context",
        "touchpoint:bundle_layer=false",
        "--context",
        f"touchpoint:config={empty}",
        "--output",
        str(out),
    ]
    result = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    return result, out


@pytest.fixture(scope="module")
def cli_template(cli: tuple[subprocess.CompletedProcess[str], Path]) -> dict[str, Any]:
    result, out = cli
    assert result.returncode == 0, result.stdout + result.stderr
    return dict(json.loads((out / "Touchpoint.template.json").read_text(encoding="utf-8")))


def test_cdk_cli_synthesizes_offline_with_cdk_nag_and_cloudformation_validation(
    cli: tuple[subprocess.CompletedProcess[str], Path], cli_template: dict[str, Any]
) -> None:
    result, out = cli
    assert "AwsSolutions" not in result.stdout + result.stderr, "an unacknowledged cdk-nag finding"
    report = json.loads((out / "validation-report.json").read_text(encoding="utf-8"))
    assert [v for r in report["pluginReports"] for v in r["violations"]] == []
    assert len(resources(cli_template, "AWS::StepFunctions::StateMachine")) == len(load(STATEMACHINES))


def test_cfn_lint_passes_on_the_synthesized_template(
    cli: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, out = cli
    executable = Path(sys.executable).parent / "cfn-lint"
    if not executable.exists():
        pytest.fail(f"{executable} is missing: run `make deps`")
    lint = subprocess.run(
        [
            str(executable),
            *("--format", "json", "--ignore-checks", CFN_LINT_IGNORED, "--"),
            str(out / "Touchpoint.template.json"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    findings = json.loads(lint.stdout)  # cfn-lint prints [] when the template is clean
    assert findings == [], json.dumps(findings, indent=1)[:4000]
    assert lint.returncode == 0, lint.stderr


def test_cfn_lint_would_report_an_error(tmp_path: Path) -> None:
    """Control: the same invocation fails a template with an unknown property."""
    broken = tmp_path / "broken.json"
    broken.write_text(
        json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"Nonsense": 1}}}}),
        encoding="utf-8",
    )
    lint = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "json", "--", str(broken)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert lint.returncode != 0
    assert any(f["Rule"]["Id"].startswith("E") for f in json.loads(lint.stdout))


def test_every_acknowledgement_carries_its_reason(cli_template: dict[str, Any]) -> None:
    acknowledged = [
        rule
        for resource in cli_template["Resources"].values()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]
    assert acknowledged
    reasons = set(REASONS.values())
    for rule in acknowledged:
        assert rule["reason"] in reasons, rule  # one documented reason per finding (xray is off here)
    families = {rule["id"].split("[")[0] for rule in acknowledged}
    assert families == {
        "AwsSolutions-L1",
        "AwsSolutions-SF1",
        "AwsSolutions-SF2",
        "AwsSolutions-IAM5",
        "AwsSolutions-SMG4",
        "AwsSolutions-SQS3",
    }
    wildcards = sorted(
        r["id"] for r in acknowledged if r["id"].startswith("AwsSolutions-IAM5[Resource::arn:")
    )
    journeys = load(STATEMACHINES)
    assert len(wildcards) == len(journeys) + 3  # executions of each journey; the schedule group, thrice
    assert all(":execution:touchpoint-" in w or ":schedule/touchpoint/*" in w for w in wildcards)


def test_cdk_nag_passes_for_the_other_configuration_branches(tmp_path: Path) -> None:
    stack, template = synthesize(OTHER_BRANCHES, tmp_path, nag=True)  # raises on an unacknowledged finding
    assert stack.sms_configuration_set is None
    assert len(resources(template, "AWS::SES::EmailIdentity")) == 1
    for machine in resources(template, "AWS::StepFunctions::StateMachine").values():
        assert machine["Properties"]["TracingConfiguration"] == {"Enabled": True}
    for table in resources(template, "AWS::DynamoDB::Table").values():
        assert table["DeletionPolicy"] == "Delete"
        assert table["Properties"]["DeletionProtectionEnabled"] is False


def test_cdk_nag_fails_a_synth_on_an_unacknowledged_finding(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Control")
    sqs.Queue(stack, "Plain")  # no DLQ, no TLS enforcement: AwsSolutions-SQS3 and SQS4
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(Exception, match="AwsSolutions-SQS"):
        app.synth()
