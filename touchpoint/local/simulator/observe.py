"""What the simulator reads off the bus and the send path: the messages, the trace, the alerts,
and each message a user got, handed to the behaviour model."""

from __future__ import annotations

import datetime as dt
from typing import Any

from touchpoint.channels import tags as message_tags
from touchpoint.engine.kpi.values import KPI_ALERT
from touchpoint.local.faults import Accepted
from touchpoint.local.simulator.reactions import Reactions
from touchpoint.local.simulator.record import Sent
from touchpoint.local.simulator.world import World

ALERT_FIELDS = ("journey_id", "kpi", "status", "condition", "value", "threshold", "sample", "period")
_FINAL = ("journey.exited", "journey.converted", "journey.step_failed", "journey.unsubscribed")


class Observer:
    def __init__(self, world: World, reactions: Reactions) -> None:
        self.world, self.reactions = world, reactions

    def observe(self, event: dict[str, Any]) -> None:
        """One event the engine put on the bus."""
        seen = self.world.seen
        detail, kind = event["detail"], event["detail-type"]
        if kind == KPI_ALERT:  # a journey's KPI crossed a floor or ceiling at the rollup
            alert = {k: detail["properties"].get(k) for k in ALERT_FIELDS}
            seen.alerts.append({**alert, "at": detail["occurred_at"]})
            return
        # A re-emitted event (a replayed entry, a retried step) has the id of the first: it is
        # one fact, as kpi_rollup counts it once.
        if detail["event_id"] in seen.observed:
            return
        seen.observed.add(detail["event_id"])
        properties, user_id = detail["properties"], detail["user_id"]
        at = dt.datetime.fromisoformat(detail["occurred_at"].replace("Z", "+00:00"))
        journey_id = properties.get("journey_id")
        if kind == "journey.message" and properties.get("reconciled"):
            # an unconfirmed send that SES or End User Messaging showed went out: not a new message
            seen.note(user_id, journey_id, at, "reconciled", {"step_id": properties["step_id"]})
            return
        if kind == "journey.message":
            self._message(user_id, journey_id, at, detail)
        elif kind == "journey.entry":
            seen.note(
                user_id,
                journey_id,
                at,
                "entry",
                {k: properties.get(k) for k in ("entered", "eligible", "reason", "holdout", "trigger")},
            )
        elif kind in _FINAL:
            seen.note(
                user_id,
                journey_id,
                at,
                kind.removeprefix("journey."),
                {k: v for k, v in properties.items() if k not in ("journey_id", "execution")},
            )

    def _message(self, user_id: str, journey_id: str, at: dt.datetime, detail: dict[str, Any]) -> None:
        """A send step's outcome: recorded, and when the user got it, answered."""
        seen, properties = self.world.seen, detail["properties"]
        seen.messages.append(
            {
                "user_id": user_id,
                "journey_id": journey_id,
                "step_id": properties["step_id"],
                "channel": properties["channel"],
                "template": properties["template"],
                "status": properties["status"],
                "reason": properties.get("reason"),
                "at": detail["occurred_at"],
            }
        )
        shown = ("step_id", "channel", "template", "status", "reason", "template_file", "segments")
        seen.note(user_id, journey_id, at, "send", {k: properties.get(k) for k in shown})
        message_id: str | None = None
        if properties["status"] == "sent":
            message_id = properties["message_id"]
            if properties["channel"] == "sms":
                phone = self.world.phones.get(user_id, "")
                seen.segments["cn" if phone.startswith("+86") else "other"] += int(
                    properties.get("segments") or 1
                )
        elif properties["status"] == "sent_unconfirmed":
            accepted = self._accepted(str(properties.get("execution")), properties["step_id"])
            if accepted is not None:  # the provider took it: the user has it, its events follow
                message_id = accepted.message_id
                seen.unanswered.add(message_id)
        if message_id is not None:
            sent = Sent(user_id, journey_id, properties["step_id"], properties["channel"], message_id, at)
            seen.sent[(user_id, journey_id, sent.step_id)] = sent
            self.reactions.react(sent)

    def _accepted(self, execution: str, step_id: str) -> Accepted | None:
        """The message a provider took for this send although the engine never learned its id
        (a fault after the provider accepted): found by the send's tag, as reconciliation finds it."""
        faults = self.world.faults
        if faults is None:
            return None
        digest = message_tags.send_digest(f"{execution}:{step_id}")
        for accepted in faults.unanswered:
            request = accepted.request
            tags = {t["Name"]: t["Value"] for t in request.get("EmailTags", [])}
            tags.update(request.get("Context") or {})
            if tags.get(message_tags.SEND) == digest:
                return accepted
        return None

    def send_attempt(self, name: str, payload: dict[str, Any], result: Any) -> None:
        """A send the engine deferred (quiet hours, a cap, a paused journey): into the trace."""
        if isinstance(result, dict) and result.get("status") == "deferred":
            self.world.seen.note(
                payload["user_id"],
                payload["journey_id"],
                self.world.clock.now(),
                "deferral",
                {"step_id": payload["step_id"], "reason": result.get("reason"), "until": result.get("until")},
            )
