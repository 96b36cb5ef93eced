"""How the report writes numbers, times and small pieces: one way everywhere on the page."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from touchpoint.conditions import parse_time
from touchpoint.journey.model import COUNT_KPIS
from touchpoint.local.svg import attr, escape, text_width

_USER_STAGES = frozenset({"triggered", "eligible", "entered", "converted"})


AWS_METRICS: tuple[tuple[str, str], ...] = (
    ("state_transitions", "Step Functions state transitions"),
    ("lambda_invocations", "Lambda invocations"),
    ("dynamodb_requests", "DynamoDB requests"),
    ("events_put", "EventBridge events"),
    ("ses_messages", "SES emails"),
    ("sms_messages", "SMS messages"),
)

CHANNEL_COLOURS = {"email": "#3b82f6", "sms": "#10b981"}

_OTHER_COLOUR = "#a855f7"

FAILED_COLOUR = "#dc2626"

MAX_FAILURE_ROWS = 50


def _dv(value: object) -> str:
    """A number as a ``data-value``: exactly what the JSON held (ints stay ints)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _pct(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    text = f"{value * 100:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


def _count(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _usd(value: float | None) -> str:
    if value is None:
        return "–"
    return f"${value:,.4f}" if 0 < abs(value) < 0.1 else f"${value:,.2f}"


def _md(day: dt.date) -> str:
    """``Dec 5`` (strftime's ``%-d`` is not portable)."""
    return f"{day:%b} {day.day}"


def _kpi_text(name: str, value: float | None) -> str:
    return _count(value) if name in COUNT_KPIS else _pct(value)


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _int(value: object) -> int:
    number = _num(value)
    return int(number) if number is not None else 0


def _slug(value: str) -> str:
    """An element id part: the value itself, whitespace made ``_`` (ids may not hold spaces)."""
    return re.sub(r"\s", "_", value)


def _parse(value: object) -> dt.datetime | None:
    return parse_time(value) if isinstance(value, str) else None


def _label_width(text: str, size: float) -> float:
    return text_width(text, size)


def _words(name: str) -> str:
    return name.replace("_", " ")


def _reason_field(reason: str) -> str:
    """``detail.occurred_at: "…" is not …`` → ``detail.occurred_at`` (reasons group by field)."""
    head, sep, _ = reason.partition(":")
    return head.strip() if sep and head.strip() and " " not in head.strip() else reason[:60] or "unknown"


def _colour(channel: str) -> str:
    return CHANNEL_COLOURS.get(channel, _OTHER_COLOUR)


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _chips(counts: Mapping[str, int], kind: str) -> str:
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return (
        '<div class="chips">'
        + "".join(
            f'<span class="chip {kind}" data-{kind}="{attr(k)}" data-value="{v}">'
            f"{escape(k)} <b>{v:,}</b></span>"
            for k, v in ordered
        )
        + "</div>"
    )


def _nice_step(top: float) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if top / step <= 5:
            return step
    return int(10 ** len(str(int(top))) / 10)


_HATCH = (
    '<defs><pattern id="tp-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><rect width="6" height="6" fill="#e2e8f0"/>'
    '<line x1="0" y1="0" x2="0" y2="6" stroke="#94a3b8" stroke-width="2"/></pattern></defs>'
)
