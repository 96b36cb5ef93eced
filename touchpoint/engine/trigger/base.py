"""The state every part of ``TriggerEval`` shares, and the record of a rejected input."""

from __future__ import annotations

import json

from touchpoint.clock import Clock
from touchpoint.engine.ports import BusPort, ExecutionsPort, ProfilesPort, QueuePort, StatePort
from touchpoint.engine.trigger.actions import Outcome
from touchpoint.journey.model import DateTrigger
from touchpoint.registry import Registry
from touchpoint.settings import Settings


class Base:
    """What every part of trigger_eval works with: its settings, registry, ports and clock."""

    def __init__(
        self,
        settings: Settings,
        registry: Registry,
        profiles: ProfilesPort,
        state: StatePort,
        executions: ExecutionsPort,
        bus: BusPort,
        queue: QueuePort,
        clock: Clock,
    ) -> None:
        self.settings, self.registry = settings, registry
        self.profiles, self.state, self.executions = profiles, state, executions
        self.bus, self.queue, self.clock = bus, queue, clock
        dated = sorted(
            {
                j.trigger.date.attribute
                for j in registry.journeys.values()
                if isinstance(j.trigger, DateTrigger)
            }
        )
        #: the attributes some date trigger reads (name → place), kept in the date index
        self.date_attributes = {name: rank for rank, name in enumerate(dated)}

    def _reject(self, raw: str, reason: str, user_id: str | None = None) -> Outcome:
        self.state.reject(raw, reason, self.clock.now(), user_id or _user_in(raw))
        return Outcome("rejected", reason)


def _user_in(raw: str) -> str | None:
    """The user a rejected input names, if it parses that far (so erasure finds the record)."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    detail = data.get("detail") if isinstance(data, dict) else None
    user = detail.get("user_id") if isinstance(detail, dict) else None
    return user if isinstance(user, str) and 0 < len(user) <= 128 else None
