"""What the simulator saw, as it happened: the sends it can answer, the trace, the rejections."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from touchpoint.clock import iso


@dataclass
class Sent:
    user_id: str
    journey_id: str
    step_id: str
    channel: str
    message_id: str
    at: dt.datetime


@dataclass
class Run:
    """What the simulator saw, as it happened."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    trace: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    sent: dict[tuple[str, str, str], Sent] = field(default_factory=dict)
    segments: Counter[str] = field(default_factory=Counter)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    observed: set[str] = field(default_factory=set)  # event ids: the bus delivers at least once
    #: message ids of unconfirmed sends the provider took, about which it has published nothing yet
    unanswered: set[str] = field(default_factory=set)

    def note(
        self, user_id: str, journey_id: str | None, at: dt.datetime, kind: str, detail: dict[str, Any]
    ) -> None:
        """One line of the trace the report shows."""
        self.trace.append(
            {"user_id": user_id, "journey_id": journey_id, "at": iso(at), "kind": kind, "detail": detail}
        )
