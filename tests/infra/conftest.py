"""The infra tier: synthesize the CDK stack in-process, fast.

Fast synths skip the pip layer build (``touchpoint:bundle_layer=false``) and CDK's built-in
CloudFormation validation (``CDK_VALIDATION=false``, read by the jsii runtime when it starts, so it
is set here before aws_cdk is imported). The full validation, cdk-nag included, runs once through
the CDK CLI in test_validation.py, in a subprocess without that variable."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, get_args

os.environ.setdefault("CDK_VALIDATION", "false")
# Node 20 is past end-of-life for jsii; the warning says nothing a test can act on.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

from aws_cdk import App, Validations
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from infra.config import BUNDLE_LAYER_CONTEXT, DeployConfig
from infra.stack import TouchpointStack
from infra.wiring import Resource
from tests.conftest import REPO

#: The feature flags of cdk.json, so in-process synths behave like ``cdk synth``.
CDK_CONTEXT: dict[str, Any] = json.loads((REPO / "cdk.json").read_text(encoding="utf-8"))["context"]
ORIGINATION_ARN = (
    "arn:aws:sms-voice:eu-west-1:123456789012:phone-number/phone-0123456789abcdef0123456789abcdef"
)
#: The tests' configuration: End User Messaging with an origination ARN, every setting off its default.
CONFIG = DeployConfig(
    sms_origination_identity=ORIGINATION_ARN,
    alert_email="oncall@example.com",
    default_timezone="Asia/Shanghai",
    kpi_step_dimension=("cart-abandonment",),
    send_email_concurrency=7,
    send_sms_concurrency=3,
    trigger_max_concurrency=20,
)
#: The branches CONFIG does not take: SNS, X-Ray, a created email identity, no deletion protection.
OTHER_BRANCHES = DeployConfig(
    sms_adapter="sns",
    xray=True,
    create_email_identity=True,
    email_identity="mail.example.com",
    alert_email="oncall@example.com",
    send_email_concurrency=None,
    send_sms_concurrency=None,
    unsubscribe_concurrency=None,
    deletion_protection=False,
)


def synthesize(
    config: DeployConfig, outdir: Path, *, nag: bool = False
) -> tuple[TouchpointStack, dict[str, Any]]:
    """Build and synthesize one stack; with ``nag`` the synth raises on any unacknowledged finding."""
    app = App(context={**CDK_CONTEXT, BUNDLE_LAYER_CONTEXT: False}, outdir=str(outdir))
    stack = TouchpointStack(app, config.stack_name, config=config, bundle_layer=False)
    if nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True))
    assembly = app.synth()
    template = assembly.get_stack_artifact(stack.artifact_id).template
    return stack, template


def template_of(data: dict[str, Any]) -> Template:
    return Template.from_json(data)


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """Logical id → resource, for one resource type."""
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def logical_id(stack: TouchpointStack, construct: Any) -> str:
    """The logical id of an L2 construct's resource (or of an L1 itself)."""
    resource = construct.node.default_child or construct
    return str(stack.get_logical_id(resource))


def resource_names() -> list[str]:
    """Every name an IAM need may use (the members of the ``infra.wiring.Resource`` literals)."""
    return [name for literal in get_args(Resource) for name in get_args(literal)]
