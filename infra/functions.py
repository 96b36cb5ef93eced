"""The five Lambda functions (``infra.wiring.FUNCTIONS``): one code asset and one dependency
layer for all, each with its own role, log group and exactly the settings it reads."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs

from infra import packaging
from infra.config import DeployConfig
from infra.conventions import retention
from infra.wiring import FUNCTIONS, FunctionName, FunctionSpec, env_name
from touchpoint import metrics


def build(
    scope: Stack, config: DeployConfig, invocation_dlq: sqs.IQueue, *, bundle_layer: bool
) -> dict[FunctionName, lambda_.Function]:
    code = packaging.function_code(config.project_dir)
    layer = packaging.dependencies_layer(scope, "DependenciesLayer", bundle=bundle_layer)
    return {spec.name: _function(scope, config, spec, code, layer, invocation_dlq) for spec in FUNCTIONS}


def _function(
    scope: Stack,
    config: DeployConfig,
    spec: FunctionSpec,
    code: lambda_.Code,
    layer: lambda_.ILayerVersion,
    invocation_dlq: sqs.IQueue,
) -> lambda_.Function:
    cid = spec.construct_id
    role = iam.Role(
        scope,
        f"{cid}Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=f"Touchpoint {spec.name}: only the tables and actions it uses.",
    )
    log_group = logs.LogGroup(
        scope, f"{cid}Logs", retention=retention(config), removal_policy=RemovalPolicy.DESTROY
    )
    reserved = {
        "send_email": config.send_email_concurrency,
        "send_sms": config.send_sms_concurrency,
        "unsubscribe": config.unsubscribe_concurrency,
    }.get(spec.name)
    asynchronous = spec.name != "unsubscribe"  # Scheduler invokes the other four asynchronously
    function = lambda_.Function(
        scope,
        cid,
        description=spec.description,
        runtime=lambda_.Runtime.PYTHON_3_13,
        architecture=lambda_.Architecture.ARM_64,
        handler=spec.handler,
        code=code,
        layers=[layer],
        role=role,
        log_group=log_group,
        timeout=Duration.seconds(spec.timeout_seconds),
        memory_size=spec.memory_mb,
        reserved_concurrent_executions=reserved,
        tracing=lambda_.Tracing.ACTIVE if config.xray else lambda_.Tracing.DISABLED,
        on_failure=destinations.SqsDestination(invocation_dlq) if asynchronous else None,
        environment={
            "POWERTOOLS_SERVICE_NAME": f"touchpoint-{spec.name.replace('_', '-')}",
            "POWERTOOLS_METRICS_NAMESPACE": metrics.NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": config.log_level,
        },
    )
    log_group.grant_write(role)
    return function


def configure(functions: Mapping[FunctionName, lambda_.Function], values: Mapping[str, str]) -> None:
    """Each function's TOUCHPOINT_* variables: the settings it reads that the stack gives."""
    for spec in FUNCTIONS:
        for setting in spec.settings:
            if setting in values:
                functions[spec.name].add_environment(env_name(setting), values[setting])


def role_of(function: lambda_.IFunction) -> iam.IRole:
    role = function.role
    if role is None:  # pragma: no cover - every function is created with its own role
        raise AssertionError(f"{function.node.id} has no role")
    return role
