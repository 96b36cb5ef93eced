"""What the dashboards and alarms watch: the journeys and their state machines, the functions and
the queues, and the topic every alarm notifies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn

from infra.ingest import Queues
from infra.journeys import CompiledJourney
from infra.wiring import FunctionName


@dataclass(frozen=True)
class Observed:
    journeys: Sequence[CompiledJourney]
    state_machines: Mapping[str, sfn.StateMachine]  # by journey id
    functions: Mapping[FunctionName, lambda_.Function]
    queues: Queues
    alert_topic: sns.ITopic
