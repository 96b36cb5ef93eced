"""The alert's SNS subject and body and its ``journey.kpi_alert`` event (pure)."""

from __future__ import annotations

import json
from typing import Any

from touchpoint import contract
from touchpoint.clock import iso
from touchpoint.engine.kpi.values import KPI_ALERT, Alert

# --------------------------------------------------------------------------- alert messages (pure)


def _show(value: float) -> str:
    return f"{value:.4f}" if value < 1 or not float(value).is_integer() else f"{value:.0f}"


def alert_subject(alert: Alert) -> str:
    """SNS subjects must be ASCII, one line, under 100 characters: journey and KPI ids are."""
    where = "below floor" if alert.condition == "below_floor" else "above ceiling"
    if alert.status == "breached":
        text = f"Touchpoint KPI alert: {alert.journey_id} {alert.kpi} {where}"
    else:
        text = f"Touchpoint KPI recovered: {alert.journey_id} {alert.kpi}"
    return text.encode("ascii", "replace").decode()[:99]


def alert_body(alert: Alert) -> str:
    bound = "floor" if alert.condition == "below_floor" else "ceiling"
    if alert.status == "breached":
        relation = "below its floor" if alert.condition == "below_floor" else "above its ceiling"
        headline = f'{alert.kpi} of journey "{alert.journey_name}" ({alert.journey_id}) is {relation}.'
        footer = (
            "You get this once when the KPI crosses the threshold, and one recovery notice when it is "
            "back within bounds."
        )
    else:
        headline = (
            f'{alert.kpi} of journey "{alert.journey_name}" ({alert.journey_id}) is back within its {bound}.'
        )
        footer = "The alert sent when it crossed the threshold is resolved."
    lines = [
        headline,
        "",
        f"Value:      {_show(alert.value)}",
        f"{bound.capitalize() + ':':<11} {_show(alert.threshold)}",
    ]
    if alert.target is not None:
        lines.append(f"Target:     {_show(alert.target)}")
    sample = f"Sample:     {alert.sample:.0f} ({alert.sample_of})"
    if alert.min_sample:
        sample += f", alerts need at least {alert.min_sample}"
    lines += [
        sample,
        f"Period:     {alert.period}",
        f"Owner:      {alert.owner}",
        f"Checked at: {iso(alert.at)}",
        "",
        footer,
    ]
    return "\n".join(lines)


def alert_event(alert: Alert) -> dict[str, Any]:
    """The ``journey.kpi_alert`` PutEvents entry (without EventBusName)."""
    detail = {
        "event_id": alert.event_id,
        "occurred_at": iso(alert.at),
        "properties": {
            "journey_id": alert.journey_id,
            "kpi": alert.kpi,
            "status": alert.status,
            "condition": alert.condition,
            "value": alert.value,
            "threshold": alert.threshold,
            "sample": alert.sample,
            "min_sample": alert.min_sample,
            "period": alert.period,
            "target": alert.target,
            "owner": alert.owner,
        },
    }
    return {
        "Source": contract.JOURNEY_SOURCE,
        "DetailType": KPI_ALERT,
        "Detail": json.dumps(detail, sort_keys=True, ensure_ascii=False),
    }
