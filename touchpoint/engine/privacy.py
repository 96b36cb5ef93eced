"""Export and erasure of one user's data across the tables (R17: PIPL and GDPR requests)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from touchpoint.clock import Clock, iso
from touchpoint.engine.ports import ErasureStatePort, ExecutionsPort, ProfilesPort, WakeupsPort
from touchpoint.engine.trigger.dates import date_keys
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
        state: ErasureStatePort,
        executions: ExecutionsPort,
        wakeups: WakeupsPort,
        clock: Clock,
    ) -> None:
        self.registry, self.profiles, self.state, self.executions = registry, profiles, state, executions
        self.wakeups, self.clock = wakeups, clock

    def export(self, user_id: str) -> dict[str, Any]:
        """Everything stored about the user: the profile (attributes, tags, current consent), the
        consent ledger (every decision, with its source) and the journey state (entries, waits,
        caps, message references). KPI counters hold no user data."""
        items = self.state.user_items(user_id)
        ledger = [i for i in items if str(i["sk"]).startswith("CONSENT#")]
        return {
            "user_id": user_id,
            "exported_at": iso(self.clock.now()),
            "profile": _json(self.profiles.get(user_id)),
            "consent_log": [
                _json({k: v for k, v in i.items() if k in ("channel", "granted", "at", "source")})
                for i in ledger
            ],
            "journeys": [_json(i) for i in items if i not in ledger],
        }

    def erase(self, user_id: str) -> dict[str, Any]:
        """Stop the user's running journeys and cancel their pending wake-ups, then delete the
        date index entries, everything in the user's partition and what it references (message
        index, send intents, held sends, rejected events, the consent ledger), and replace the
        profile by a tombstone that holds only the id and the time: a redelivered event from
        before the erasure is then rejected (``erased``) instead of recreating the person.
        Journey steps never recreate an erased profile (docs/decisions.md D5)."""
        profile = self.profiles.get(user_id)
        stopped = []
        for record in self.state.user_state(user_id).entries.values():
            if record.status != "ended":
                self.executions.stop(record.execution_arn, "erased")
                stopped.append(record.journey_id)
        items = self.state.user_items(user_id)
        for item in items:
            if str(item["sk"]).startswith("WAKE#"):
                self.wakeups.cancel(str(item["sk"]).removeprefix("WAKE#"))
        for attribute in {
            j.trigger.date.attribute
            for j in self.registry.journeys.values()
            if isinstance(j.trigger, DateTrigger)
        }:
            if profile.get(attribute) is not None:
                self.state.index_date(attribute, date_keys(profile[attribute]), user_id, add=False)
        deleted = self.state.erase_user(user_id)
        now = self.clock.now()
        self.profiles.erase(user_id, now)
        return {
            "user_id": user_id,
            "erased_at": iso(now),
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
