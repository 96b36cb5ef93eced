"""The synthesized stack, resource by resource, against the contracts it is built from: the
manifests and registry in statemachines/, touchpoint.routing, touchpoint.metrics,
touchpoint.settings and touchpoint.aws.tables. One synth for the module."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from infra import journeys as compiled
from infra.observability.alarms import SES_BOUNCE_REVIEW, SES_COMPLAINT_REVIEW, kpi_alarms
from infra.observability.metrics import (
    SEND_FAILURE_CEILING,
    SEND_FAILURE_MIN_FAILED,
    SEND_FAILURE_MIN_SAMPLE,
    send_failure_kpi,
)
from infra.schedules import ROLLUP_EVERY, dates_every
from infra.sending import SES_EVENTS
from infra.stack import BUNDLE_ROOT, TouchpointStack
from infra.wiring import FUNCTIONS, PLACEHOLDER_FUNCTIONS, FunctionName, env_name
from tests.conftest import STATEMACHINES
from tests.infra.conftest import (
    CONFIG,
    ORIGINATION_ARN,
    logical_id,
    resource_names,
    resources,
    synthesize,
    template_of,
)
from touchpoint import contract, metrics, routing
from touchpoint.aws import tables as table_specs
from touchpoint.journey.model import KpiTarget
from touchpoint.registry import load as load_registry
from touchpoint.settings import Settings

JOURNEYS = compiled.load(STATEMACHINES)
REGISTRY = load_registry(STATEMACHINES / "registry.json")
CAMPAIGNS = sorted(REGISTRY.campaigns)
SENDING = [j for j in JOURNEYS if j.settings.channels]
Built = tuple[TouchpointStack, dict[str, Any]]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return synthesize(CONFIG, tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="module")
def stack(built: Built) -> TouchpointStack:
    return built[0]


@pytest.fixture(scope="module")
def template(built: Built) -> dict[str, Any]:
    return built[1]


def _arn(stack: TouchpointStack, construct: Any) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id(stack, construct), "Arn"]}


def _join_tail(value: Any) -> str:
    """The literal end of an ``Fn::Join`` ARN (``:stateMachine:touchpoint-x``)."""
    return str(value["Fn::Join"][1][-1])


def _policy(template: dict[str, Any], stack: TouchpointStack, role: Any) -> list[dict[str, Any]]:
    role_id = logical_id(stack, role)
    for policy in resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            return list(policy["Properties"]["PolicyDocument"]["Statement"])
    raise AssertionError(f"no policy for {role_id}")


def _statement(statements: list[dict[str, Any]], sid: str) -> dict[str, Any]:
    found = [s for s in statements if s.get("Sid") == sid]
    assert len(found) == 1, f"{sid}: {found}"
    return found[0]


def _function(template: dict[str, Any], stack: TouchpointStack, name: FunctionName) -> dict[str, Any]:
    fn = stack.functions[name]
    return dict(template["Resources"][logical_id(stack, fn)]["Properties"])


# ---------------------------------------------------------------------- every resource kind


def test_every_resource_kind_of_the_engine_is_there(template: dict[str, Any]) -> None:
    declared = sum(
        (kpi.floor is not None) + (kpi.ceiling is not None)
        for entry in REGISTRY.journeys.values()
        for kpi in entry.kpis.values()
    )
    # the default send_failure_rate ceiling of every sending journey that declares none
    defaulted = sum(
        1
        for j in SENDING
        if j.settings.kpis.get("send_failure_rate") is None
        or j.settings.kpis["send_failure_rate"].ceiling is None
    )
    per_journey = 2 * len(JOURNEYS) + len(SENDING)  # executions failed, throttled; sends failing
    operational = 3 + len(FUNCTIONS) + 1 + 2  # dead letters, function errors, backlog, SES reputation
    expected = {
        "AWS::DynamoDB::Table": 3,
        "AWS::Events::EventBus": 1,
        "AWS::Events::Rule": len(routing.RULES),
        "AWS::SQS::Queue": 5,
        "AWS::Lambda::Function": len(FUNCTIONS),
        "AWS::Lambda::LayerVersion": 1,
        "AWS::Lambda::EventSourceMapping": 2,
        "AWS::Lambda::Url": 1,
        "AWS::StepFunctions::StateMachine": len(JOURNEYS),
        "AWS::Scheduler::Schedule": 2 + sum(j.schedule is not None for j in JOURNEYS),
        "AWS::Scheduler::ScheduleGroup": 1,
        "AWS::SES::ConfigurationSet": 1,
        "AWS::SES::ConfigurationSetEventDestination": 1,
        "AWS::SMSVOICE::ConfigurationSet": 1,
        "AWS::SNS::Topic": 1,
        "AWS::SNS::Subscription": 1,
        "AWS::SecretsManager::Secret": 1,
        "AWS::KMS::Key": 1,
        "AWS::CloudWatch::Dashboard": len(JOURNEYS) + 1 + len(CAMPAIGNS),
        "AWS::CloudWatch::Alarm": declared + defaulted + per_journey + operational,
    }
    counted = {kind: len(resources(template, kind)) for kind in expected}
    assert counted == expected


def test_tables_follow_the_runtime_key_specs(stack: TouchpointStack, template: dict[str, Any]) -> None:
    for table, spec in (
        (stack.tables.profiles, table_specs.PROFILES),
        (stack.tables.state, table_specs.STATE),
        (stack.tables.kpis, table_specs.KPIS),
    ):
        resource = template["Resources"][logical_id(stack, table)]
        props = resource["Properties"]
        keys = [{"AttributeName": spec.partition_key, "KeyType": "HASH"}]
        if spec.sort_key:
            keys.append({"AttributeName": spec.sort_key, "KeyType": "RANGE"})
        assert props["KeySchema"] == keys
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["SSESpecification"] == {"SSEEnabled": True}  # AWS-managed KMS key
        assert props["DeletionProtectionEnabled"] is True
        assert resource["DeletionPolicy"] == "Retain"
        ttl = props.get("TimeToLiveSpecification")
        assert ttl == ({"AttributeName": table_specs.TTL_ATTRIBUTE, "Enabled": True} if spec.ttl else None)


def test_rules_are_exactly_the_routing_rules(stack: TouchpointStack, template: dict[str, Any]) -> None:
    queues = {
        "trigger": logical_id(stack, stack.queues.trigger),
        "kpi": logical_id(stack, stack.queues.kpi),
    }
    bus = {"app": {"Ref": logical_id(stack, stack.buses.app)}, "default": "default"}
    synthesized = sorted(
        (
            json.dumps(r["Properties"]["EventBusName"]),
            json.dumps(r["Properties"]["EventPattern"], sort_keys=True),
            tuple(sorted(t["Arn"]["Fn::GetAtt"][0] for t in r["Properties"]["Targets"])),
        )
        for r in resources(template, "AWS::Events::Rule").values()
    )
    configuration_set = {"Ref": logical_id(stack, stack.email.configuration_set)}
    expected = sorted(
        (
            json.dumps(bus[rule.bus]),
            json.dumps(rule.pattern, sort_keys=True),
            tuple(sorted(queues[t] for t in rule.targets)),
        )
        for rule in routing.deployed(configuration_set, stack.config.sms_origination_identity)  # type: ignore[arg-type]
    )
    assert synthesized == expected
    ses_rule = next(
        r for r in resources(template, "AWS::Events::Rule").values() if "aws.ses" in json.dumps(r)
    )
    # only this stack's configuration set: other applications' mail in the account is never counted
    assert ses_rule["Properties"]["EventPattern"]["detail"] == {
        "mail": {"tags": {"ses:configuration-set": [configuration_set]}}
    }


def test_each_rule_may_send_only_to_its_queues(stack: TouchpointStack, template: dict[str, Any]) -> None:
    targets: list[routing.Target] = ["trigger", "kpi"]
    for target in targets:
        queue = stack.queues.by_target(target)
        policy = next(
            p["Properties"]["PolicyDocument"]
            for p in resources(template, "AWS::SQS::QueuePolicy").values()
            if {"Ref": logical_id(stack, queue)} in p["Properties"]["Queues"]
        )
        sources = {
            s["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::GetAtt"][0]
            for s in policy["Statement"]
            if s.get("Principal") == {"Service": "events.amazonaws.com"}
        }
        expected = {logical_id(stack, stack.rules[r.name]) for r in routing.rules_for(target)}
        assert sources == expected


def test_queues_are_encrypted_with_dead_letter_queues(
    stack: TouchpointStack, template: dict[str, Any]
) -> None:
    for resource in resources(template, "AWS::SQS::Queue").values():
        assert resource["Properties"]["SqsManagedSseEnabled"] is True
    for queue, dlq in (
        (stack.queues.trigger, stack.queues.trigger_dlq),
        (stack.queues.kpi, stack.queues.kpi_dlq),
    ):
        redrive = template["Resources"][logical_id(stack, queue)]["Properties"]["RedrivePolicy"]
        assert redrive["deadLetterTargetArn"] == _arn(stack, dlq)


def test_queues_feed_the_functions_with_partial_batch_failures(
    stack: TouchpointStack, template: dict[str, Any]
) -> None:
    mappings = {
        m["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]: m["Properties"]
        for m in resources(template, "AWS::Lambda::EventSourceMapping").values()
    }
    trigger = mappings[logical_id(stack, stack.queues.trigger)]
    kpi = mappings[logical_id(stack, stack.queues.kpi)]
    assert trigger["FunctionName"] == {"Ref": logical_id(stack, stack.functions["trigger_eval"])}
    assert kpi["FunctionName"] == {"Ref": logical_id(stack, stack.functions["kpi_rollup"])}
    for mapping, concurrency in (
        (trigger, CONFIG.trigger_max_concurrency),
        (kpi, CONFIG.kpi_max_concurrency),
    ):
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["ScalingConfig"] == {"MaximumConcurrency": concurrency}


# ---------------------------------------------------------------------- functions


def test_functions_are_python313_arm64_with_the_shared_layer(
    stack: TouchpointStack, template: dict[str, Any]
) -> None:
    layer = {"Ref": logical_id(stack, stack.node.find_child("DependenciesLayer"))}
    code_keys = set()
    for spec in FUNCTIONS:
        props = _function(template, stack, spec.name)
        assert props["Runtime"] == "python3.13"
        assert props["Architectures"] == ["arm64"]
        assert props["Handler"] == f"functions.{spec.name}.app.handler"
        assert props["Layers"] == [layer]
        code_keys.add(props["Code"]["S3Key"])
    assert len(code_keys) == 1, "one asset for all five functions"


def test_send_functions_have_reserved_concurrency(stack: TouchpointStack, template: dict[str, Any]) -> None:
    reserved = {
        s.name: _function(template, stack, s.name).get("ReservedConcurrentExecutions") for s in FUNCTIONS
    }
    assert reserved == {
        "trigger_eval": None,
        "send_email": 7,
        "send_sms": 3,
        "kpi_rollup": None,
        "unsubscribe": CONFIG.unsubscribe_concurrency,
    }


def test_each_function_gets_exactly_the_settings_it_reads(
    stack: TouchpointStack, template: dict[str, Any]
) -> None:
    declared = set(Settings.env_names().values())
    given = stack.setting_values()
    for spec in FUNCTIONS:
        variables = _function(template, stack, spec.name)["Environment"]["Variables"]
        touchpoint = {k for k in variables if k.startswith("TOUCHPOINT_")}
        assert touchpoint <= declared
        assert touchpoint == {env_name(s) for s in spec.settings if s in given}
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == metrics.NAMESPACE
        assert variables["POWERTOOLS_LOG_LEVEL"] == CONFIG.log_level
        assert variables["POWERTOOLS_SERVICE_NAME"].startswith("touchpoint-")
        assert variables["TOUCHPOINT_BUNDLE_ROOT"] == BUNDLE_ROOT


def test_settings_values_reach_the_functions(stack: TouchpointStack, template: dict[str, Any]) -> None:
    email = _function(template, stack, "send_email")["Environment"]["Variables"]
    sms = _function(template, stack, "send_sms")["Environment"]["Variables"]
    trigger = _function(template, stack, "trigger_eval")["Environment"]["Variables"]
    rollup = _function(template, stack, "kpi_rollup")["Environment"]["Variables"]
    url = {"Fn::GetAtt": [logical_id(stack, stack.unsubscribe_url), "FunctionUrl"]}
    assert email["TOUCHPOINT_UNSUBSCRIBE_URL"] == sms["TOUCHPOINT_UNSUBSCRIBE_URL"] == url
    assert email["TOUCHPOINT_EMAIL_FROM"] == CONFIG.email_from
    assert email["TOUCHPOINT_SCHEDULER_ROLE_ARN"] == _arn(stack, stack.deferral.role)
    assert sms["TOUCHPOINT_SMS_ORIGINATION_IDENTITY"] == ORIGINATION_ARN
    assert sms["TOUCHPOINT_SMS_CONFIGURATION_SET"] == {"Ref": logical_id(stack, stack.sms_configuration_set)}
    assert trigger["TOUCHPOINT_TRIGGER_QUEUE_URL"] == {"Ref": logical_id(stack, stack.queues.trigger)}
    assert trigger["TOUCHPOINT_DEFAULT_TIMEZONE"] == "Asia/Shanghai"
    assert rollup["TOUCHPOINT_KPI_STEP_DIMENSION"] == "cart-abandonment"
    assert rollup["TOUCHPOINT_ALERT_TOPIC_ARN"] == {"Ref": logical_id(stack, stack.alerts.topic)}


def test_unsubscribe_is_a_public_function_url(stack: TouchpointStack, template: dict[str, Any]) -> None:
    (url,) = resources(template, "AWS::Lambda::Url").values()
    assert url["Properties"]["AuthType"] == "NONE"
    assert url["Properties"]["TargetFunctionArn"] == _arn(stack, stack.functions["unsubscribe"])
    statements = _policy(template, stack, stack.role_of("unsubscribe"))
    assert _statement(statements, "Profiles")["Action"] == ["dynamodb:GetItem", "dynamodb:UpdateItem"]


# ---------------------------------------------------------------------- journeys


def test_one_standard_state_machine_per_manifest(stack: TouchpointStack, template: dict[str, Any]) -> None:
    machines = {
        m["Properties"]["StateMachineName"]: m["Properties"]
        for m in resources(template, "AWS::StepFunctions::StateMachine").values()
    }
    assert set(machines) == {j.state_machine_name for j in JOURNEYS}
    for journey in JOURNEYS:
        props = machines[journey.state_machine_name]
        assert props["StateMachineType"] == "STANDARD"
        assert "DefinitionS3Location" in props  # DefinitionBody.from_file
        assert sorted(props["DefinitionSubstitutions"]) == sorted(journey.placeholders)
        assert props["LoggingConfiguration"]["Level"] == "ERROR"
        assert props["TracingConfiguration"] == {"Enabled": False}


def test_cart_abandonment_iam_is_exactly_its_manifest(
    stack: TouchpointStack, template: dict[str, Any]
) -> None:
    machine = stack.state_machines["cart-abandonment"]
    statements = _policy(template, stack, machine.role)
    assert statements == [
        {
            "Sid": "InvokeFunctions",
            "Action": "lambda:InvokeFunction",
            "Effect": "Allow",
            "Resource": [
                _arn(stack, stack.functions["send_email"]),
                _arn(stack, stack.functions["trigger_eval"]),
            ],
        },
        {
            "Sid": "PutEvents",
            "Action": "events:PutEvents",
            "Effect": "Allow",
            "Resource": _arn(stack, stack.buses.app),
        },
        {
            "Action": [
                "logs:CreateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:DescribeLogGroups",
                "logs:DescribeResourcePolicies",
                "logs:GetLogDelivery",
                "logs:ListLogDeliveries",
                "logs:PutResourcePolicy",
                "logs:UpdateLogDelivery",
            ],
            "Effect": "Allow",
            "Resource": "*",
        },
    ]
    trust = template["Resources"][logical_id(stack, machine.role)]["Properties"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "states.amazonaws.com"}
    assert trust["Statement"][0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    }


def test_every_machine_may_use_only_its_manifest_integrations(
    stack: TouchpointStack, template: dict[str, Any]
) -> None:
    for journey in JOURNEYS:
        statements = _policy(template, stack, stack.state_machines[journey.id].role)
        sids = {s.get("Sid") for s in statements} - {None}
        invoked = journey.targets("arn:aws:states:::lambda:invoke")
        expected = {"InvokeFunctions"} if invoked else set()
        if contract.EVENT_BUS in journey.targets("arn:aws:states:::events:putEvents"):
            expected.add("PutEvents")
        assert sids == expected, journey.id
        if invoked:
            functions = [stack.functions[PLACEHOLDER_FUNCTIONS[p]] for p in invoked]
            resource = _statement(statements, "InvokeFunctions")["Resource"]
            assert resource == (
                [_arn(stack, f) for f in functions] if len(functions) > 1 else _arn(stack, functions[0])
            )


def test_the_date_sweep_runs_as_often_as_configured() -> None:
    assert dates_every(30) == "cron(0/30 * * * ? *)"
    assert dates_every(60) == "cron(0 * * * ? *)"  # every hour on the hour, not "0/60"


def test_schedules_come_from_the_manifests(stack: TouchpointStack, template: dict[str, Any]) -> None:
    schedules = {
        s["Properties"]["Name"]: s["Properties"]
        for s in resources(template, "AWS::Scheduler::Schedule").values()
    }
    trigger = _arn(stack, stack.functions["trigger_eval"])
    rollup = _arn(stack, stack.functions["kpi_rollup"])
    expected: dict[str, tuple[str, str, Any, dict[str, str]]] = {
        "touchpoint_dates": ("cron(0/15 * * * ? *)", "Asia/Shanghai", trigger, {"action": "dates"}),
        "touchpoint_kpi_rollup": (ROLLUP_EVERY, "Asia/Shanghai", rollup, {"action": "rollup"}),
    }
    for journey in JOURNEYS:
        if journey.schedule:
            expected[f"touchpoint-{journey.id}"] = (
                journey.schedule.expression,
                journey.schedule.timezone,
                trigger,
                {"action": "schedule", "journey_id": journey.id, "run_id": "<aws.scheduler.scheduled-time>"},
            )
    assert set(schedules) == set(expected)
    for name, (expression, zone, target, payload) in expected.items():
        props = schedules[name]
        assert props["ScheduleExpression"] == expression
        assert props["ScheduleExpressionTimezone"] == zone
        assert props["Target"]["Arn"] == target
        assert json.loads(props["Target"]["Input"]) == payload
        assert props["Target"]["RoleArn"] == _arn(stack, stack.schedules_role)
        assert props["Target"]["DeadLetterConfig"] == {"Arn": _arn(stack, stack.queues.invocation_dlq)}
        assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}


# ---------------------------------------------------------------------- function permissions


def test_trigger_eval_reaches_every_journey_and_nothing_else(
    stack: TouchpointStack, template: dict[str, Any]
) -> None:
    statements = _policy(template, stack, stack.role_of("trigger_eval"))
    start = _statement(statements, "StartJourneys")
    assert start["Action"] == "states:StartExecution"
    assert sorted(_join_tail(r) for r in start["Resource"]) == sorted(
        f":stateMachine:{j.state_machine_name}" for j in JOURNEYS
    )
    stop = _statement(statements, "StopJourneyExecutions")
    assert stop["Action"] == ["states:DescribeExecution", "states:StopExecution"]
    assert sorted(_join_tail(r) for r in stop["Resource"]) == sorted(
        f":execution:{j.state_machine_name}:*" for j in JOURNEYS
    )
    waits = [
        j
        for j in JOURNEYS
        if contract.TRIGGER_EVAL_FUNCTION in j.targets("arn:aws:states:::lambda:invoke.waitForTaskToken")
    ]
    resume = _statement(statements, "ResumeWaits")
    assert sorted(_join_tail(r) for r in resume["Resource"]) == sorted(
        f":stateMachine:{j.state_machine_name}" for j in waits
    )
    assert _statement(statements, "ContinuationPages")["Resource"] == _arn(stack, stack.queues.trigger)
    assert _statement(statements, "PutEvents")["Resource"] == _arn(stack, stack.buses.app)
    assert "dynamodb:Scan" in _statement(statements, "Profiles")["Action"]
    assert "dynamodb:Scan" not in _statement(statements, "State")["Action"]


def test_send_functions_send_only_as_the_configured_identities(
    stack: TouchpointStack, template: dict[str, Any]
) -> None:
    email = _policy(template, stack, stack.role_of("send_email"))
    tails = [r["Fn::Join"][1][-1] for r in _statement(email, "SendEmail")["Resource"]]
    assert sorted(map(json.dumps, tails)) == sorted(
        map(json.dumps, [":identity/example.com", {"Ref": logical_id(stack, stack.email.configuration_set)}])
    )
    sms = _policy(template, stack, stack.role_of("send_sms"))
    assert _statement(sms, "SendTextMessage") == {
        "Sid": "SendTextMessage",
        "Action": "sms-voice:SendTextMessage",
        "Effect": "Allow",
        "Resource": [ORIGINATION_ARN, _arn(stack, stack.sms_configuration_set)],
    }
    for name, statements in (("send_email", email), ("send_sms", sms)):
        placeholder = next(p for p, n in PLACEHOLDER_FUNCTIONS.items() if n == name)
        users = [j for j in JOURNEYS if placeholder in j.placeholders]
        complete = _statement(statements, "CompleteSends")
        assert complete["Action"] == ["states:SendTaskFailure", "states:SendTaskSuccess"]
        assert sorted(_join_tail(r) for r in complete["Resource"]) == sorted(
            f":stateMachine:{j.state_machine_name}" for j in users
        )
        assert _statement(statements, "Profiles")["Action"] == [
            "dynamodb:BatchGetItem",
            "dynamodb:ConditionCheckItem",
            "dynamodb:GetItem",
            "dynamodb:Query",
        ]
        assert _statement(statements, "ReadUnsubscribeKey")["Resource"] == {
            "Ref": logical_id(stack, stack.unsubscribe_secret)
        }
        assert _join_tail(_statement(statements, "DeferSends")["Resource"]) == ":schedule/touchpoint/*"
        passing = _statement(statements, "PassDeferredSendRole")
        assert passing["Resource"] == _arn(stack, stack.deferral.role)
        assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}


def test_deferred_send_role_wakes_only_the_send_functions(
    stack: TouchpointStack, template: dict[str, Any]
) -> None:
    statements = _policy(template, stack, stack.deferral.role)
    assert [(s["Action"], s["Resource"]) for s in statements] == [
        ("lambda:InvokeFunction", _arn(stack, stack.functions["send_email"])),
        ("lambda:InvokeFunction", _arn(stack, stack.functions["send_sms"])),
    ]
    (group,) = resources(template, "AWS::Scheduler::ScheduleGroup").values()
    assert group["Properties"]["Name"] == Settings.model_fields["scheduler_group"].default


def test_kpi_rollup_publishes_alerts_only(stack: TouchpointStack, template: dict[str, Any]) -> None:
    statements = _policy(template, stack, stack.role_of("kpi_rollup"))
    assert _statement(statements, "PublishAlerts")["Resource"] == {
        "Ref": logical_id(stack, stack.alerts.topic)
    }
    assert _statement(statements, "EncryptAlerts")["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert _statement(statements, "Kpis")["Resource"] == _arn(stack, stack.tables.kpis)
    assert not {s.get("Sid") for s in statements} & {"Profiles", "State"}


# ---------------------------------------------------------------------- messaging


def test_ses_configuration_set_publishes_every_routed_event_to_the_default_bus(
    template: dict[str, Any],
) -> None:
    (destination,) = resources(template, "AWS::SES::ConfigurationSetEventDestination").values()
    props = destination["Properties"]["EventDestination"]
    assert props["Enabled"] is True
    assert props["EventBridgeDestination"]["EventBusArn"]["Fn::Join"][1][-1] == ":event-bus/default"
    assert set(SES_EVENTS) == set(routing.SES_DETAIL_TYPES)
    assert sorted(props["MatchingEventTypes"]) == sorted(  # only what Touchpoint uses (docs/events.md)
        [
            "delivery",
            "open",
            "click",
            "bounce",
            "complaint",
            "renderingFailure",
            "reject",
        ]
    )
    (configuration_set,) = resources(template, "AWS::SES::ConfigurationSet").values()
    assert configuration_set["Properties"]["ReputationOptions"] == {"ReputationMetricsEnabled": True}


def test_alert_topic_is_encrypted_and_mailed(stack: TouchpointStack, template: dict[str, Any]) -> None:
    tpl = template_of(template)
    tpl.has_resource_properties(
        "AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [logical_id(stack, stack.alerts.key), "Arn"]}}
    )
    tpl.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "oncall@example.com"}
    )
    tpl.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_unsubscribe_secret_is_generated(template: dict[str, Any]) -> None:
    (secret,) = resources(template, "AWS::SecretsManager::Secret").values()
    assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] == 64
    assert "SecretString" not in secret["Properties"]


# ---------------------------------------------------------------------- dashboards and alarms


def _alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
    }


def test_every_kpi_floor_and_ceiling_is_an_alarm_at_that_value(
    stack: TouchpointStack, template: dict[str, Any]
) -> None:
    alarms = _alarms(template)
    topic = {"Ref": logical_id(stack, stack.alerts.topic)}
    checked = 0
    for journey_id, entry in REGISTRY.journeys.items():
        for name, kpi in entry.kpis.items():
            for bound, value, operator in (
                ("floor", kpi.floor, "LessThanThreshold"),
                ("ceiling", kpi.ceiling, "GreaterThanThreshold"),
            ):
                alarm_name = f"touchpoint-{journey_id}-{name}-{bound}"
                if value is None:
                    assert alarm_name not in alarms
                    continue
                alarm = alarms[alarm_name]
                checked += 1
                assert alarm["Threshold"] == value
                assert alarm["ComparisonOperator"] == operator
                assert alarm["TreatMissingData"] == "notBreaching"
                assert alarm["AlarmActions"] == [topic]
                expression = next(m for m in alarm["Metrics"] if m.get("ReturnData", True))
                assert expression["Expression"].startswith("IF(")
                assert f">= {kpi.min_sample}, " in expression["Expression"]
                assert expression["Expression"].endswith(f", {value})")
                used = [m["MetricStat"] for m in alarm["Metrics"] if "MetricStat" in m]
                rate = metrics.RATES[name]
                assert sorted(u["Metric"]["MetricName"] for u in used) == sorted(
                    metrics.metric_name(c) for c in (*rate.numerator, *rate.denominator)
                )
                dimensions = [{"Name": metrics.DIM_JOURNEY, "Value": journey_id}]
                if rate.channel is not None:  # email_delivery_rate: that channel's counters only
                    dimensions.append({"Name": metrics.DIM_CHANNEL, "Value": rate.channel})
                for stat in used:
                    assert stat["Period"] == metrics.KPI_ALARM_PERIOD_SECONDS
                    assert stat["Stat"] == "Sum"
                    assert stat["Metric"]["Namespace"] == metrics.NAMESPACE
                    assert sorted(stat["Metric"]["Dimensions"], key=lambda d: d["Name"]) == sorted(
                        dimensions, key=lambda d: d["Name"]
                    )
    assert checked >= 15  # the examples declare 17 floors and ceilings


def test_a_channel_rate_alarm_reads_only_that_channel(template: dict[str, Any]) -> None:
    alarm = _alarms(template)["touchpoint-membership-expiry-email_delivery_rate-floor"]
    expression = next(m["Expression"] for m in alarm["Metrics"] if m.get("ReturnData", True))
    assert expression == (
        "IF((FILL(d_email_sent, 0)) >= 100, (FILL(n_email_delivered, 0)) / (FILL(d_email_sent, 0)), 0.9)"
    )
    channels = {
        d["Value"]
        for m in alarm["Metrics"]
        if "MetricStat" in m
        for d in m["MetricStat"]["Metric"]["Dimensions"]
        if d["Name"] == metrics.DIM_CHANNEL
    }
    assert channels == {"email"}


# ---------------------------------------------------------------------- send failures

#: failed ÷ (sent + failed), as every send-failure alarm reads it (one Failed metric, read once).
FAILED, SENT_OR_FAILED = "(FILL(n_failed, 0))", "(FILL(d_sent, 0) + FILL(n_failed, 0))"
DAILY = (
    f"IF({SENT_OR_FAILED} >= {SEND_FAILURE_MIN_SAMPLE}, {FAILED} / {SENT_OR_FAILED}, "
    f"IF({FAILED} >= {SEND_FAILURE_MIN_FAILED}, {FAILED} / {SENT_OR_FAILED}, {SEND_FAILURE_CEILING}))"
)
HOURLY = f"IF({FAILED} >= {SEND_FAILURE_MIN_FAILED}, {FAILED} / {SENT_OR_FAILED}, 0)"


def _judged(alarm: dict[str, Any]) -> tuple[str, dict[str, tuple[str, int]]]:
    """The alarm's expression and, per metric id, (metric name, period)."""
    expression = next(m["Expression"] for m in alarm["Metrics"] if m.get("ReturnData", True))
    used = {
        m["Id"]: (m["MetricStat"]["Metric"]["MetricName"], m["MetricStat"]["Period"])
        for m in alarm["Metrics"]
        if "MetricStat" in m
    }
    for m in alarm["Metrics"]:
        if "MetricStat" in m:
            assert m["MetricStat"]["Stat"] == "Sum"
            assert m["MetricStat"]["Metric"]["Namespace"] == metrics.NAMESPACE
    return expression, used


def test_every_sending_journey_alarms_on_its_send_failures(
    stack: TouchpointStack, template: dict[str, Any]
) -> None:
    alarms = _alarms(template)
    topic = {"Ref": logical_id(stack, stack.alerts.topic)}
    assert len(SENDING) == len(JOURNEYS)  # every example journey sends
    for journey in SENDING:
        assert "send_failure_rate" not in journey.settings.kpis  # so every one gets the defaults
        daily = alarms[f"touchpoint-{journey.id}-send_failure_rate-ceiling"]
        hourly = alarms[f"touchpoint-{journey.id}-sends-failing"]
        for alarm, expected, period in ((daily, DAILY, 86400), (hourly, HOURLY, 3600)):
            assert alarm["Threshold"] == SEND_FAILURE_CEILING == 0.05
            assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
            assert alarm["TreatMissingData"] == "notBreaching"
            assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (1, 1)
            assert alarm["AlarmActions"] == [topic]
            expression, used = _judged(alarm)
            assert expression == expected, journey.id
            assert used == {"n_failed": ("Failed", period), "d_sent": ("Sent", period)}
            for m in alarm["Metrics"]:
                if "MetricStat" in m:
                    assert m["MetricStat"]["Metric"]["Dimensions"] == [
                        {"Name": metrics.DIM_JOURNEY, "Value": journey.id}
                    ]
        assert "default ceiling" in daily["AlarmDescription"]


class _Series(float):
    """One datapoint of a metric-math series: a division by zero is no datapoint (NaN)."""

    def __add__(self, other: float) -> _Series:
        return _Series(float(self) + float(other))

    def __truediv__(self, other: float) -> _Series:
        return _Series(float(self) / float(other) if other else float("nan"))


def _evaluate(expression: str, **counts: float) -> float:
    """The subset of metric math the send-failure alarms use (IF, FILL, +, /, >=), on one period."""
    python = expression.replace("FILL(", "_fill(").replace("IF(", "_if(")
    names = {k: _Series(v) for k, v in counts.items()}
    scope = {"_fill": lambda v, _: v, "_if": lambda c, a, b: a if c else b, **names}
    return float(eval(python, {"__builtins__": {}}, scope))  # the stack's own expressions, no builtins


def _alarms_on(expression: str, *, sent: int, failed: int) -> bool:
    value = _evaluate(expression, n_failed=failed, d_sent=sent)
    return value > SEND_FAILURE_CEILING  # GreaterThanThreshold; NaN never breaches


@pytest.mark.parametrize(
    ("case", "sent", "failed", "daily", "hourly"),
    [
        ("nothing sent", 0, 0, False, False),
        ("one failure among thousands", 4000, 1, False, False),
        ("a few failures among thousands", 4000, 30, False, False),
        ("one profile without a variable, a small journey", 20, 1, False, False),
        ("two failures", 10, 2, False, False),
        ("a step broken for everyone, busy journey", 300, 100, True, True),
        ("a step broken for everyone, small journey", 15, 5, True, True),
        ("a share of profiles without a variable", 940, 60, True, True),
    ],
)
def test_send_failure_alarms_page_for_a_broken_step_not_for_one_failure(
    case: str, sent: int, failed: int, daily: bool, hourly: bool
) -> None:
    """What the two alarms decide on one period's counts (a day for the rate, an hour for
    sends failing), read from the expressions the stack deploys."""
    assert _alarms_on(DAILY, sent=sent, failed=failed) is daily, case
    assert _alarms_on(HOURLY, sent=sent, failed=failed) is hourly, case


def test_a_journeys_own_send_failure_ceiling_replaces_the_default() -> None:
    journey = next(j for j in SENDING if j.id == "cart-abandonment")

    def with_kpi(kpi: KpiTarget) -> compiled.CompiledJourney:
        kpis = {**journey.settings.kpis, "send_failure_rate": kpi}
        return dataclasses.replace(journey, settings=journey.settings.model_copy(update={"kpis": kpis}))

    assert send_failure_kpi(journey) == (
        KpiTarget(ceiling=SEND_FAILURE_CEILING, min_sample=SEND_FAILURE_MIN_SAMPLE),
        True,
    )
    own = with_kpi(KpiTarget(ceiling=0.01, min_sample=500))
    (alarm,) = [a for a in kpi_alarms(own) if a.kpi == "send_failure_rate"]
    assert (alarm.name, alarm.threshold) == ("touchpoint-cart-abandonment-send_failure_rate-ceiling", 0.01)
    assert "default" not in alarm.description
    expression = alarm.metric.to_metric_config().math_expression
    assert expression is not None
    assert expression.expression == (
        "IF((FILL(d_sent, 0) + FILL(n_failed, 0)) >= 500, "
        "(FILL(n_failed, 0)) / (FILL(d_sent, 0) + FILL(n_failed, 0)), 0.01)"
    )
    # a target alone keeps the default ceiling, with the journey's own min_sample
    target_only = with_kpi(KpiTarget(target=0.001, min_sample=50))
    assert send_failure_kpi(target_only) == (KpiTarget(target=0.001, ceiling=0.05, min_sample=50), True)
    (alarm,) = [a for a in kpi_alarms(target_only) if a.kpi == "send_failure_rate"]
    assert alarm.threshold == SEND_FAILURE_CEILING
    assert "default ceiling" in alarm.description
    silent = dataclasses.replace(journey, settings=journey.settings.model_copy(update={"channels": []}))
    assert send_failure_kpi(silent) is None  # a journey that never sends has nothing to fail


def test_cart_abandonment_open_rate_floor_is_the_journeys_floor(template: dict[str, Any]) -> None:
    alarm = _alarms(template)["touchpoint-cart-abandonment-open_rate-floor"]
    assert alarm["Threshold"] == REGISTRY.journeys["cart-abandonment"].kpis["open_rate"].floor == 0.1


def test_operational_alarms(stack: TouchpointStack, template: dict[str, Any]) -> None:
    alarms = _alarms(template)
    for name in ("trigger", "kpi", "invocation"):
        alarm = alarms[f"touchpoint-dlq-{name}-not-empty"]
        assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    for spec in FUNCTIONS:
        assert alarms[f"touchpoint-{spec.name.replace('_', '-')}-errors"]["MetricName"] == "Errors"
    for journey in JOURNEYS:
        assert alarms[f"touchpoint-{journey.id}-executions-failed"]["MetricName"] == "ExecutionsFailed"
        assert alarms[f"touchpoint-{journey.id}-executions-throttled"]["MetricName"] == "ExecutionThrottled"
        assert f"touchpoint-{journey.id}-sends-failing" in alarms
    assert alarms["touchpoint-ses-bounce-rate"]["Threshold"] == SES_BOUNCE_REVIEW == 0.05
    assert alarms["touchpoint-ses-complaint-rate"]["Threshold"] == SES_COMPLAINT_REVIEW == 0.001
    assert alarms["touchpoint-ses-bounce-rate"]["MetricName"] == "Reputation.BounceRate"
    topic = {"Ref": logical_id(stack, stack.alerts.topic)}
    assert all(a["AlarmActions"] == [topic] for a in alarms.values())


def _dashboard_body(dashboard: dict[str, Any]) -> str:
    """The body's literal text (tokens such as function names stay as their references)."""
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    return "".join(p if isinstance(p, str) else json.dumps(p) for p in parts)


def test_a_dashboard_per_journey_and_an_overview(template: dict[str, Any]) -> None:
    dashboards = {
        d["Properties"]["DashboardName"]: _dashboard_body(d)
        for d in resources(template, "AWS::CloudWatch::Dashboard").values()
    }
    assert set(dashboards) == (
        {f"touchpoint-{j.id}" for j in JOURNEYS}
        | {"touchpoint-overview"}
        | {f"touchpoint_campaign_{c}" for c in CAMPAIGNS}
    )
    for journey in JOURNEYS:
        body = dashboards[f"touchpoint-{journey.id}"]
        for title in (
            "Funnel",
            "Sends by channel",
            "Rates (daily)",
            "Failures",
            "Throttles",
            "Dead-letter queues",
        ):
            assert title in body, (journey.id, title)
        assert f'"{metrics.DIM_JOURNEY}","{journey.id}"' in body
        for channel in journey.settings.channels:
            assert f'"{metrics.DIM_CHANNEL}","{channel}"' in body
        for counter in ("entered", "sent", "delivered", "opened", "clicked", "converted"):
            assert f'"{metrics.metric_name(counter)}"' in body
        assert "IF((FILL(d_delivered, 0)) > 0, (FILL(n_opened, 0)) / (FILL(d_delivered, 0)))" in body
        assert f"IF({SENT_OR_FAILED} > 0, {FAILED} / {SENT_OR_FAILED})" in body  # send_failure_rate
        assert "send_failure_rate ceiling (default)" in body
    overview = dashboards["touchpoint-overview"]
    assert all(f"touchpoint-{j.id}" in overview for j in JOURNEYS)
    assert "Reputation.BounceRate" in overview


def test_outputs_tell_a_team_where_to_send_events(template: dict[str, Any]) -> None:
    tpl = template_of(template)
    tpl.has_output("EventBusName", Match.object_like({"Value": Match.any_value()}))
    tpl.has_output("UnsubscribeUrl", Match.any_value())
    tpl.has_output("AlertTopicArn", Match.any_value())


def test_code_asset_is_functions_touchpoint_journeys_and_the_registry(
    stack: TouchpointStack, tmp_path: Path
) -> None:
    from infra import packaging
    from infra.packaging import stage_code

    staged = stage_code(CONFIG.project_dir)
    top = sorted(p.name for p in staged.iterdir())
    assert top == ["functions", "journeys", "statemachines", "touchpoint"]
    assert [p.name for p in (staged / "statemachines").iterdir()] == ["registry.json"]
    assert (staged / "journeys" / "profile.yaml").is_file()
    assert not list(staged.rglob("tests"))
    compiled = {p.name.split(".")[-2] for p in staged.rglob("*.pyc")}
    # bytecode for the runtime's Python only (a host's own cache would be dead weight)
    assert compiled == ({"cpython-313"} if packaging.lambda_python() else set())


def test_the_stack_resolves_every_resource_a_need_may_name(stack: TouchpointStack) -> None:
    # journeys_awaiting is per function: infra.permissions resolves it from the manifests
    assert set(stack.resource_arns()) == set(resource_names()) - {"journeys_awaiting"}
