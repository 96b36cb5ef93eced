"""The simulation's results document (``touchpoint simulate --json``) as typed models.

One contract for the simulator that writes it, the reports that read it and the JSON Schema
published at docs/results.schema.json: a renamed or missing key fails validation instead of
showing "–". Numbers that may arrive as ints or floats keep their JSON type (``Real``), and
``to_json`` omits exactly the keys the simulator left out, so the file's bytes do not change.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, JsonValue

#: A number as JSON wrote it: an int stays an int, a float a float (the file's bytes depend on it).
Real: TypeAlias = int | float

SCHEMA_ID = "https://touchpoint.dev/schemas/results-v1.json"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScenarioInfo(Model):
    start: str = Field(description="UTC, ISO 8601 with Z.")
    end: str
    start_local: str = Field(description="The start as the scenario wrote it (its offset).")
    end_local: str
    seed: int
    users: int = Field(description="Generated plus scripted users.")
    scripted_users: list[str]
    journeys: list[str]


class Message(Model):
    user_id: str
    journey_id: str
    step_id: str
    channel: str
    template: str
    status: str = Field(description="sent, sent_unconfirmed, skipped, failed…")
    reason: str | None
    at: str


class Execution(Model):
    user_id: str
    journey_id: str
    status: str = Field(description="Step Functions' status: RUNNING, SUCCEEDED, FAILED…")
    entered_at: str
    ended_at: str | None
    path: list[str] = Field(description="The steps passed, in order.")
    exit_reason: str | None
    holdout: bool


class Campaign(Model):
    id: str
    stage: str
    date: str
    participants_of: list[str] | None = None


class StageKpi(Model):
    kpi: str
    value: Real | None
    target: Real | None
    floor: Real | None
    ceiling: Real | None
    sample: Real
    verdict: Literal["met", "missed", "not_enough_data"]


class StageReport(Model):
    id: str
    name: str | None
    journey: str
    owner: str
    audience: str | None
    from_: str | None = Field(alias="from", description="Local ISO 8601: entries from this moment.")
    until: str | None = Field(description="Local ISO 8601: no entries from this moment on.")
    funnel: dict[str, int]
    participants: int = Field(description="Participants whose first stage this was.")
    kpis: list[StageKpi]


class CampaignGoal(Model):
    event: str
    target: Real
    participants: int
    converted: int
    rate: Real | None
    interval: list[Real] | None = Field(description="95% Wilson interval of the rate.")
    verdict: Literal["met", "missed", "not_enough_data", "inconclusive"]
    revenue: Real | None = Field(description="Sum of the goal's value property over converting orders.")
    value: str | None


class CampaignReport(Model):
    name: str
    owner: str
    timezone: str
    date: str
    until: str
    stages: list[StageReport]
    goal: CampaignGoal | None


class Target(Model):
    """A KPI's value against its target, floor and ceiling."""

    value: Real | None
    target: Real | None
    floor: Real | None
    ceiling: Real | None
    met: bool | None
    breached: bool
    sample: Real


class Kpis(Model):
    counts: dict[str, int]
    rates: dict[str, Real | None]
    targets: dict[str, Target]


class Goal(Model):
    event: str
    within: str
    target: Real
    baseline: Real | None
    entered: int
    converted: int
    actual: Real | None
    met: bool | None
    holdout_entered: int
    holdout_actual: Real | None
    lift: Real | None


class JourneyReport(Model):
    name: str
    campaign: Campaign | None
    kpis: Kpis
    goal: Goal | None


class RejectedEvent(Model):
    event: JsonValue = Field(description="The event as sent (without id, account, region), or its text.")
    reason: str


class Alert(Model):
    journey_id: str
    kpi: str
    status: str
    condition: str
    value: Real | None
    threshold: Real | None
    sample: Real | None
    period: str
    at: str


class Cost(Model):
    step_functions: Real
    lambda_: Real = Field(alias="lambda")
    dynamodb: Real
    eventbridge: Real
    sqs: Real
    ses: Real
    sms: Real
    total: Real


class JourneyCostParts(Model):
    step_functions: Real
    lambda_: Real = Field(alias="lambda")
    dynamodb: Real
    eventbridge: Real
    total: Real


class JourneyCost(Model):
    """What one journey's executions billed for in the run, priced as ``touchpoint cost`` prices a
    path: transitions and Task attempts measured, DynamoDB and events per invocation from
    ``pricing.INVOCATION_UNITS``; messages, kpi_rollup and wake-ups left out (D27)."""

    user_journeys: int = Field(description="Executions the journey started in the run.")
    running: int = Field(description="Of them, still running when the run ended: counted as far as they got.")
    state_transitions: int = Field(description="Their billed state transitions, retries included.")
    lambda_invocations: int = Field(
        description="Their Task attempts on the stack's functions, plus one entering trigger_eval run each."
    )
    cost_usd: JourneyCostParts
    cost_per_1000_user_journeys_usd: Real


class Aws(Model):
    state_transitions: int
    lambda_invocations: int
    dynamodb_requests: int
    ses_messages: int
    sms_messages: int
    events_put: int
    estimated_cost_usd: Real
    cost_per_1000_user_journeys_usd: Real
    cost_usd: Cost
    requests: dict[str, int]
    invocations: dict[str, int]
    by_journey: dict[str, JourneyCost] = Field(
        description="Per journey: its executions' orchestration usage and cost (no messages)."
    )


class Retried(Model):
    step_attempts: int
    sqs_records: int
    scheduled_invocations: int


class ActOn(Model):
    failed_steps: int
    unconfirmed_not_reconciled: int
    dead_lettered: int


class FunctionDeadLetter(Model):
    function: str
    error: str


class QueueDeadLetter(Model):
    queue: str
    body: str


class Faults(Model):
    """What the scenario's faults did, and what the engine did about them (docs/reliability.md)."""

    injected: dict[str, int]
    faults: list[str]
    retried: Retried
    deferred: int
    fell_back: int
    unconfirmed: int
    reconciled: int
    unconfirmed_in_flight: int
    act_on: ActOn
    dead_letters: list[FunctionDeadLetter | QueueDeadLetter]


# ---------------------------------------------------------------------------------------- trace


class EntryDetail(Model):
    entered: bool
    eligible: bool
    reason: str | None
    holdout: bool
    trigger: str


class SendDetail(Model):
    step_id: str
    channel: str
    template: str
    status: str
    reason: str | None
    template_file: str | None
    segments: int | None


class DeferralDetail(Model):
    step_id: str
    reason: str | None
    until: str | None


class StepDetail(Model):
    step_id: str


class OperationDetail(Model):
    command: str


class ExitedDetail(Model):
    status: str
    reason: str | None
    holdout: bool


class ConvertedDetail(Model):
    event_id: str
    entered_at: str
    holdout: bool


class StepFailedDetail(Model):
    step_id: str
    error: str | None
    cause: str | None
    channel: str | None = Field(None, description="Absent for steps that send nothing.")


class UnsubscribedDetail(Model):
    channel: str


class _Trace(Model):
    user_id: str
    journey_id: str | None
    at: str


class EntryTrace(_Trace):
    kind: Literal["entry"]
    detail: EntryDetail


class SendTrace(_Trace):
    kind: Literal["send"]
    detail: SendDetail


class DeferralTrace(_Trace):
    kind: Literal["deferral"]
    detail: DeferralDetail


class ReconciledTrace(_Trace):
    kind: Literal["reconciled"]
    detail: StepDetail


class OperationTrace(_Trace):
    kind: Literal["operation"]
    detail: OperationDetail


class ExitedTrace(_Trace):
    kind: Literal["exited"]
    detail: ExitedDetail


class ConvertedTrace(_Trace):
    kind: Literal["converted"]
    detail: ConvertedDetail


class StepFailedTrace(_Trace):
    kind: Literal["step_failed"]
    detail: StepFailedDetail


class UnsubscribedTrace(_Trace):
    kind: Literal["unsubscribed"]
    detail: UnsubscribedDetail


AnyTrace: TypeAlias = (
    EntryTrace
    | SendTrace
    | DeferralTrace
    | ReconciledTrace
    | OperationTrace
    | ExitedTrace
    | ConvertedTrace
    | StepFailedTrace
    | UnsubscribedTrace
)
TraceEntry: TypeAlias = Annotated[AnyTrace, Field(discriminator="kind")]


# ------------------------------------------------------------------------------------ providers


class EmailProvider(Model):
    adapter: Literal["ses"]
    delivery_feedback: bool
    events: dict[str, int]
    not_published: dict[str, int]


class SnsSms(Model):
    adapter: Literal["sns"]
    delivery_feedback: Literal[False]
    note: str


class EndUserMessagingSms(Model):
    adapter: Literal["end-user-messaging"]
    delivery_feedback: bool
    events: dict[str, int]
    refused: dict[str, int]


class Providers(Model):
    email: EmailProvider
    sms: Annotated[SnsSms | EndUserMessagingSms, Field(discriminator="adapter")]


# ------------------------------------------------------------------------------------- document


class SimulationResults(Model):
    """What ``touchpoint simulate`` reports (docs/simulation.md)."""

    scenario: ScenarioInfo
    messages: list[Message]
    executions: list[Execution]
    journeys: dict[str, JourneyReport]
    campaigns: dict[str, CampaignReport] = Field(
        default_factory=dict, description="Only when the journeys include campaign stages."
    )
    rejected_events: list[RejectedEvent]
    alerts: list[Alert]
    aws: Aws
    faults: Faults | None = Field(None, description="Only when the scenario injects faults.")
    trace: list[TraceEntry]
    providers: Providers

    def to_jsonable(self) -> dict[str, Any]:
        """The document as the simulator wrote it: keys it left out stay out."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)

    def to_json(self) -> str:
        """The ``--json`` file's text (sorted keys, two-space indent, UTF-8 as is)."""
        return json.dumps(self.to_jsonable(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> SimulationResults:
        return cls.model_validate_json(text)


def results_schema() -> str:
    """docs/results.schema.json, checked by ``touchpoint schema --check``."""
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **SimulationResults.model_json_schema(by_alias=True),
    }
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
