"""The synthesized template, pinned: a deployed stack must never see a resource replaced or a
permission change by accident, so every logical ID, property, IAM statement (in its order) and
cdk-nag acknowledgement is compared with a golden, for each configuration branch.

Only asset hashes are masked (the function code asset changes with any source file) and the
``aws:cdk:path`` metadata dropped (a construct may move in the tree; its resource may not). A
change that means to alter the template regenerates the goldens with
``TOUCHPOINT_UPDATE_GOLDENS=1 pytest tests/infra/test_template_golden.py`` and says in its commit
what changed and why. The goldens are xz-compressed JSON."""

from __future__ import annotations

import json
import lzma
import re
from pathlib import Path
from typing import Any

import pytest

from infra.config import DeployConfig
from tests.conftest import UPDATE_GOLDENS
from tests.infra.conftest import CONFIG, OTHER_BRANCHES, synthesize

GOLDENS = Path(__file__).resolve().parent / "golden"
#: One configuration per branch of the stack: End User Messaging with an origination ARN (the
#: tests' configuration); SNS with X-Ray, a created email identity and no deletion protection; a
#: pool id with an imported email identity ARN and an hourly date sweep.
CONFIGS = {
    "end-user-messaging": CONFIG,
    "sns-xray-identity": OTHER_BRANCHES,
    "pool-identity-arn": DeployConfig(
        sms_origination_identity="pool-0123456789abcdef0123456789abcdef",
        email_identity_arn="arn:aws:ses:eu-west-1:123456789012:identity/example.com",
        xray=True,
        date_sweep_minutes=60,
        log_retention_days=90,
    ),
}
_ASSET_HASH = re.compile(r"^[0-9a-f]{64}(\.[a-z]+)?$")


def normalized(value: Any) -> Any:
    """The template with asset hashes masked and the construct-path metadata dropped."""
    if isinstance(value, dict):
        return {k: normalized(v) for k, v in value.items() if k != "aws:cdk:path"}
    if isinstance(value, list):
        return [normalized(v) for v in value]
    if isinstance(value, str) and _ASSET_HASH.match(value):
        return _ASSET_HASH.sub(r"<asset hash>\1", value)
    return value


def _first_difference(path: str, expected: Any, actual: Any) -> str | None:
    if type(expected) is not type(actual):
        return f"{path}: golden {json.dumps(expected)[:300]}, now {json.dumps(actual)[:300]}"
    if isinstance(expected, dict):
        if list(expected) != list(actual):
            gone, new = sorted(set(expected) - set(actual)), sorted(set(actual) - set(expected))
            return f"{path}: keys removed {gone}, added {new} (or reordered)"
        for key in expected:
            found = _first_difference(f"{path}.{key}", expected[key], actual[key])
            if found:
                return found
        return None
    if isinstance(expected, list):
        if len(expected) != len(actual):
            return f"{path}: golden has {len(expected)} items, now {len(actual)}"
        for n, (a, b) in enumerate(zip(expected, actual, strict=True)):
            found = _first_difference(f"{path}[{n}]", a, b)
            if found:
                return found
        return None
    return None if expected == actual else f"{path}: golden {expected!r}, now {actual!r}"


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_the_template_is_identical_to_its_golden(name: str, tmp_path: Path) -> None:
    _, template = synthesize(CONFIGS[name], tmp_path, nag=True)
    text = json.dumps(normalized(template), indent=1, sort_keys=False) + "\n"
    golden = GOLDENS / f"{name}.template.json.xz"
    if UPDATE_GOLDENS:
        golden.write_bytes(lzma.compress(text.encode("utf-8"), preset=9))
    assert golden.exists(), f"{golden} is missing; run with TOUCHPOINT_UPDATE_GOLDENS=1"
    expected = lzma.decompress(golden.read_bytes()).decode("utf-8")
    if text != expected:
        difference = _first_difference("template", json.loads(expected), json.loads(text))
        pytest.fail(f"the {name} template differs from {golden.name}: {difference or 'in its text'}")


def test_normalization_masks_asset_hashes_only() -> None:
    digest = "542fa357a19e179c1e2e37521f907ca9eb2209768d41246ec9289042ef3f2a7d"
    assert normalized({"S3Key": f"{digest}.zip", "Key": digest, "Ref": "TriggerEval44028C95"}) == {
        "S3Key": "<asset hash>.zip",
        "Key": "<asset hash>",
        "Ref": "TriggerEval44028C95",
    }
    assert normalized({"Metadata": {"aws:cdk:path": "Touchpoint/X/Resource", "cdk_nag": {}}}) == {
        "Metadata": {"cdk_nag": {}}
    }
    assert _first_difference("t", {"a": [1, {"b": 2}]}, {"a": [1, {"b": 3}]}) == "t.a[1].b: golden 2, now 3"
