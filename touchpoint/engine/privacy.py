"""Export and erasure of one user's data across the tables (R17: PIPL and GDPR requests)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from touchpoint.clock import Clock, iso
from touchpoint.engine.ports import ExecutionsPort, ProfilesPort, StatePort
from touchpoint.engine.trigger import date_keys
from touchpoint.journey.model import DateTrigger
from touchpoint.registry import Registry


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset):
        return sorted(_json(v) for v in value)
    if isinstance(value, Mapping):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value


class Privacy:
    def __init__(
        self,
        registry: Registry,
        profiles: ProfilesPort,
        state: StatePort,
        executions: ExecutionsPort,
        clock: Clock,
    ) -> None:
        self.registry, self.profiles, self.state, self.executions, self.clock = (
            registry,
            profiles,
            state,
            executions,
            clock,
        )

    def export(self, user_id: str) -> dict[str, Any]:
        """Everything stored about the user: the profile (attributes, tags, consent ledger) and the
        journey state (entries, waits, caps, message references). KPI counters hold no user data."""
        return {
            "user_id": user_id,
            "exported_at": iso(self.clock.now()),
            "profile": _json(self.profiles.get(user_id)),
            "journeys": [_json(i) for i in self.state.user_items(user_id)],
        }

    def erase(self, user_id: str) -> dict[str, Any]:
        """Stop the user's running journeys, then delete the profile, the date index entries, the
        journey state and the message index. Journey steps never recreate an erased profile."""
        profile = self.profiles.get(user_id)
        stopped = []
        for record in self.state.user_state(user_id).entries.values():
            if record.status != "ended":
                self.executions.stop(record.execution_arn, "erased")
                stopped.append(record.journey_id)
        for attribute in {
            j.trigger.date.attribute
            for j in self.registry.journeys.values()
            if isinstance(j.trigger, DateTrigger)
        }:
            if profile.get(attribute) is not None:
                self.state.index_date(attribute, date_keys(profile[attribute]), user_id, add=False)
        deleted = self.state.erase_user(user_id)
        self.profiles.delete(user_id)
        return {
            "user_id": user_id,
            "erased_at": iso(self.clock.now()),
            "stopped_journeys": sorted(stopped),
            "state_items_deleted": deleted,
            "profile_deleted": bool(profile),
        }


class PrivacyRequest(BaseModel):
    """``{"action": "export" | "erase", "user_id": …}``: a direct invocation of trigger_eval."""

    action: Literal["export", "erase"]
    user_id: str = Field(min_length=1)


def run(privacy: Privacy, request: PrivacyRequest) -> dict[str, Any]:
    return privacy.export(request.user_id) if request.action == "export" else privacy.erase(request.user_id)
