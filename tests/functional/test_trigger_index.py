"""trigger_eval against 200 active journeys (issue 18 item 4): an event is checked against the
journeys the registry's index gives for its type and its changed attributes, and no other; the
journey table itself is never walked per event (counted, on moto's DynamoDB)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from tests.functional.conftest import START, Clock
from touchpoint import registry
from touchpoint.aws.profiles import DynamoProfiles
from touchpoint.aws.services import EventBus, SqsQueue, StepFunctionsExecutions
from touchpoint.aws.state import DynamoStorage
from touchpoint.aws.tables import create_tables
from touchpoint.engine.trigger import TriggerEval
from touchpoint.engine.trigger.actions import Outcome
from touchpoint.events import Event, EventDetail
from touchpoint.journey.model import Journey
from touchpoint.settings import Settings
from touchpoint.state.repository import StateRepository

JOURNEYS = 200


def synthetic(i: int) -> Journey:
    """Even journeys start on ``bench.e<i>``, odd ones when ``bench_a<i>`` changes."""
    trigger: dict[str, Any] = (
        {"event": f"bench.e{i}"} if i % 2 == 0 else {"attribute": {"name": f"bench_a{i}", "changed": True}}
    )
    return journey(f"bench-{i:04d}", trigger)


def journey(journey_id: str, trigger: dict[str, Any]) -> Journey:
    return Journey.model_validate(
        {
            "schema": "touchpoint/v1",
            "id": journey_id,
            "name": journey_id,
            "owner": "qa@example.com",
            "timezone": "UTC",
            "trigger": trigger,
            "audience": {"consent": "email"},
            "steps": [{"send": {"channel": "email", "template": "hello"}}],
        }
    )


class CountingJourneys(dict[str, registry.RegistryEntry]):
    """The registry's journey table, counting every read of it."""

    reads = 0

    def _read(self) -> None:
        type(self).reads += 1

    def __getitem__(self, key: str) -> registry.RegistryEntry:
        self._read()
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self._read()
        return super().get(key, default)

    def values(self) -> Any:
        self._read()
        return super().values()

    def items(self) -> Any:
        self._read()
        return super().items()

    def __iter__(self) -> Any:
        self._read()
        return super().__iter__()


@pytest.fixture
def service(aws: Any, settings: Settings) -> TriggerEval:
    create_tables(aws.client("dynamodb"), settings.profiles_table, settings.state_table, settings.kpis_table)
    aws.client("events").create_event_bus(Name=settings.event_bus_name)
    journeys = [synthetic(i) for i in range(JOURNEYS)]
    journeys += [
        journey("tag-vip", {"attribute": {"name": "tags", "added": "vip"}}),
        journey("region-north", {"attribute": {"name": "region", "to": "north"}}),
    ]
    document = registry.build((j, f"v-{j.id}") for j in journeys)
    loaded = registry.Registry.model_validate(document)
    evaluation = TriggerEval(
        settings,
        loaded,
        DynamoProfiles(aws.client("dynamodb"), settings.profiles_table),
        StateRepository(DynamoStorage(aws.client("dynamodb"), settings.state_table)),
        StepFunctionsExecutions(aws.client("stepfunctions")),
        EventBus(aws.client("events"), settings.event_bus_name),
        SqsQueue(aws.client("sqs"), settings.trigger_queue_url),
        Clock(START),
    )
    # from here on, every read of the journey table is counted
    object.__setattr__(loaded, "journeys", CountingJourneys(loaded.journeys))
    CountingJourneys.reads = 0
    return evaluation


def event(event_type: str, attributes: dict[str, Any], **profile: Any) -> Event:
    detail = EventDetail.model_validate(
        {
            "event_id": str(uuid.uuid4()),
            "user_id": "u1",
            "occurred_at": (START - dt.timedelta(minutes=1)).isoformat(),
            "profile": {"attributes": attributes, **profile},
        }
    )
    return Event(event_type, "app", detail)


def test_an_event_no_journey_takes_considers_no_journey(service: TriggerEval) -> None:
    assert service.registry.triggered_by("app.opened") == []
    outcome = service.on_event(event("app.opened", {"nickname": "Lin", "visits": 3}))
    assert outcome.status == "processed"
    assert outcome.decisions == []
    assert CountingJourneys.reads == 0


def test_a_matching_event_considers_only_the_journeys_it_matches(service: TriggerEval) -> None:
    by_type = service.on_event(event("bench.e4", {"visits": 1}))
    by_attribute = service.on_event(event("app.opened", {"bench_a7": "x", "bench_a11": 1}))
    # considered, and not entered: the user has not consented to email
    assert [(d.journey_id, d.enter, d.reason) for d in by_type.decisions] == [
        ("bench-0004", False, "audience")
    ]
    assert [d.journey_id for d in by_attribute.decisions] == ["bench-0007", "bench-0011"]
    assert not any(d.enter for d in by_attribute.decisions)
    assert CountingJourneys.reads == 0


def test_an_attribute_trigger_fires_on_its_own_change_only(service: TriggerEval) -> None:
    def considered(outcome: Outcome) -> list[str]:
        return [d.journey_id for d in outcome.decisions]

    assert considered(service.on_event(event("app.opened", {"region": "south"}))) == []
    assert considered(service.on_event(event("app.opened", {"region": "north"}))) == ["region-north"]
    assert considered(service.on_event(event("app.opened", {}, tags={"add": ["new"]}))) == []
    assert considered(service.on_event(event("app.opened", {}, tags={"add": ["vip"]}))) == ["tag-vip"]
    assert considered(service.on_event(event("app.opened", {}, tags={"remove": ["vip"]}))) == []
    assert CountingJourneys.reads == 0
