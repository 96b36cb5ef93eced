"""The deploy configuration: defaults that synthesize, errors that say what to write, and the
settings file / CDK context precedence. No synthesis here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra.config import (
    BUNDLE_LAYER_CONTEXT,
    CONFIG_FILE_CONTEXT,
    REPO_ROOT,
    ConfigError,
    DeployConfig,
    bundle_layer,
    load_config,
)
from tests.conftest import REPO

EXAMPLE = REPO / "infra" / "deploy.example.yaml"
DOCS = REPO / "docs" / "deploy.md"


def context(values: dict[str, Any]) -> Any:
    return values.get


def test_defaults_synthesize_with_example_identities(tmp_path: Path) -> None:
    config = load_config(context({}), cwd=tmp_path)
    assert config == DeployConfig()
    assert config.sending_identity == "example.com"
    assert config.project_dir == REPO_ROOT
    assert config.deletion_protection is True


def test_deploy_yaml_next_to_cdk_json_is_read(tmp_path: Path) -> None:
    (tmp_path / "deploy.yaml").write_text("alert_email: ops@example.com\n", encoding="utf-8")
    assert load_config(context({}), cwd=tmp_path).alert_email == "ops@example.com"


def test_the_example_file_is_valid_and_names_every_setting(tmp_path: Path) -> None:
    config = load_config(context({CONFIG_FILE_CONTEXT: str(EXAMPLE)}), cwd=tmp_path)
    assert config.account == "123456789012"
    assert config.sending_identity == "mail.acme.com"
    assert config.kpi_step_dimension == ("cart-abandonment",)
    assert config.sms_signature_cn == "【Acme】"
    text = EXAMPLE.read_text(encoding="utf-8")
    missing = [
        name
        for name in DeployConfig.model_fields
        if f"\n{name}:" not in text and f"\n# {name}:" not in text and name != "project_dir"
    ]
    assert missing == []


def test_docs_describe_every_setting() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert [name for name in DeployConfig.model_fields if f"`{name}`" not in text] == []


def test_context_wins_over_the_file_and_is_coerced(tmp_path: Path) -> None:
    path = tmp_path / "deploy.yaml"
    path.write_text("alert_email: a@example.com\nxray: true\nsend_email_concurrency: 4\n", encoding="utf-8")
    config = load_config(
        context(
            {
                CONFIG_FILE_CONTEXT: str(path),
                "touchpoint:alert_email": "b@example.com",
                "touchpoint:send_email_concurrency": "null",
                "touchpoint:trigger_max_concurrency": "50",
                "touchpoint:kpi_step_dimension": "a, b",
            }
        ),
        cwd=tmp_path,
    )
    assert config.alert_email == "b@example.com"
    assert config.xray is True
    assert config.send_email_concurrency is None
    assert config.trigger_max_concurrency == 50
    assert config.kpi_step_dimension == ("a", "b")


def test_project_dir_is_relative_to_the_repository(tmp_path: Path) -> None:
    config = load_config(context({"touchpoint:project_dir": "other"}), cwd=tmp_path)
    assert config.project_dir == tmp_path / "other"
    assert config.statemachines_dir == tmp_path / "other" / "statemachines"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "alert_emial: a@example.com\n",
            'deploy.yaml:1 alert_emial: unknown setting "alert_emial"; did you mean "alert_email"?',
        ),
        ("default_timezone: Asia/Shangai\n", "deploy.yaml:1 default_timezone:"),
        ("account: 012345678901\n", 'quote it, e.g. account: "012345678901"'),
        ("account: 12345\n", 'write the account id in quotes, e.g. account: "012345678901"'),
        ("log_retention_days: 10\n", "CloudWatch Logs keeps logs for one of: 1, 3, 5, 7, 14, 30"),
        ("sms_origination_identity: +15551234567\n", "write the ARN of an End User Messaging phone number"),
        ("email_from: news\n", 'write an address, optionally with a name: "Acme <news@mail.acme.com>"'),
        (
            "trigger_max_concurrency: 1\n",
            "trigger_max_concurrency: Input should be greater than or equal to 2",
        ),
        ("xray: maybe\n", "xray: Input should be a valid boolean"),
        ("sms_adapter: twilio\n", "sms_adapter: Input should be 'end-user-messaging' or 'sns'"),
        ("- a\n- b\n", "write settings as `name: value` lines"),
    ],
)
def test_errors_name_the_setting_and_say_what_to_write(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "deploy.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(context({CONFIG_FILE_CONTEXT: str(path)}), cwd=tmp_path)
    assert expected in str(raised.value)


def test_an_error_line_points_into_the_file(tmp_path: Path) -> None:
    path = tmp_path / "deploy.yaml"
    path.write_text("stack_name: Touchpoint\n\nalert_email: not-an-address\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"deploy.yaml:3 alert_email: write one e-mail address"):
        load_config(context({CONFIG_FILE_CONTEXT: str(path)}), cwd=tmp_path)


def test_time_zone_errors_suggest_the_zone(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Asia/Shanghai"):
        load_config(context({"touchpoint:default_timezone": "Asia/Shangai"}), cwd=tmp_path)


def test_sns_adapter_takes_no_origination_identity(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="sms_origination_identity is for sms_adapter: end-user-messaging"):
        load_config(
            context(
                {"touchpoint:sms_adapter": "sns", "touchpoint:sms_origination_identity": "pool-" + "0" * 32}
            ),
            cwd=tmp_path,
        )


def test_a_named_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such settings file"):
        load_config(context({CONFIG_FILE_CONTEXT: str(tmp_path / "missing.yaml")}), cwd=tmp_path)


def test_an_empty_file_means_defaults(tmp_path: Path) -> None:
    path = tmp_path / "deploy.yaml"
    path.write_text("# nothing set yet\n", encoding="utf-8")
    assert load_config(context({CONFIG_FILE_CONTEXT: str(path)}), cwd=tmp_path) == DeployConfig()


@pytest.mark.parametrize(
    ("value", "expected"), [(None, True), (False, False), ("false", False), ("true", True)]
)
def test_bundle_layer_switch(value: object, expected: bool) -> None:
    assert bundle_layer(context({BUNDLE_LAYER_CONTEXT: value})) is expected


def test_bundle_layer_switch_rejects_nonsense() -> None:
    with pytest.raises(ConfigError, match="write true or false"):
        bundle_layer(context({BUNDLE_LAYER_CONTEXT: "sometimes"}))
