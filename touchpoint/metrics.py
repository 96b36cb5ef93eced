"""KPI counters, CloudWatch metric names and the rate definitions, in one place.

kpi_rollup counts and emits these (EMF, namespace ``Touchpoint``); the CDK stack builds dashboards
and KPI alarms from the same definitions with metric math; the simulator reports them. A rate
means the same numerator over the same denominator everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, get_args

NAMESPACE: Final = "Touchpoint"
DIM_JOURNEY: Final = "Journey"
DIM_CHANNEL: Final = "Channel"
DIM_STEP: Final = "Step"

Counter = Literal[
    "triggered",  # an event (or schedule run) matched the journey's trigger for a user
    "eligible",  # … and the user matched the audience (effective, not paused)
    "entered",  # … and an execution was started (after re-entry, group, canary)
    "entry_failed",  # StartExecution failed after retries
    "held_out",  # entered as holdout (counted in entered too)
    "sent",  # a message accepted by SES / the SMS provider (reconciled ones included)
    "skipped",  # a send the gate skipped (reason in the event)
    "failed",  # a send that failed after its retries
    "unconfirmed",  # the provider's answer was lost: maybe sent, never retried (docs/reliability.md)
    "reconciled",  # an unconfirmed send that the provider's events showed was sent (counted in sent)
    "delivered",  # one final outcome per message: delivered, bounced or dropped
    "opened",  # unique per message
    "clicked",  # unique per message
    "bounced",  # the recipient's server or carrier refused it
    "dropped",  # the provider took the request but never sent it (SES suppression list, reject)
    "complained",
    "unsubscribed",
    "converted",  # goal event within the goal window
    "exited",  # execution ended (any reason)
]
COUNTERS: Final[tuple[Counter, ...]] = get_args(Counter)
MESSAGE_COUNTERS: Final = frozenset(COUNTERS[COUNTERS.index("sent") : COUNTERS.index("unsubscribed") + 1])
"""The counters of one message, ``sent`` to ``unsubscribed``: they also carry the Channel dimension."""


def metric_name(counter: str) -> str:
    """``entry_failed`` → ``EntryFailed`` (CloudWatch metric name)."""
    return "".join(part.capitalize() for part in counter.split("_"))


def channel_key(channel: str, counter: str) -> str:
    """A message counter of one channel in counter totals (``email:delivered``)."""
    return f"{channel}:{counter}"


@dataclass(frozen=True)
class RateDef:
    numerator: tuple[Counter, ...]  # summed
    denominator: tuple[Counter, ...]  # summed
    channel: str | None = None  # counted on this channel only (the Channel dimension)

    def keys(self, counters: tuple[Counter, ...]) -> tuple[str, ...]:
        """Where the counters are found in counter totals."""
        if self.channel is None:
            return counters
        return tuple(channel_key(self.channel, c) for c in counters)


#: Rates where less is better: their target is met at or below it (the report, alarms, plan table).
LOWER_IS_BETTER: Final = frozenset(
    {
        "unsubscribe_rate",
        "complaint_rate",
        "bounce_rate",
        "send_failure_rate",
        "email_send_failure_rate",
        "sms_send_failure_rate",
    }
)

RATES: Final[dict[str, RateDef]] = {
    "reach_rate": RateDef(("entered",), ("eligible",)),
    "delivery_rate": RateDef(("delivered",), ("sent",)),
    # per channel, so a channel without delivery reports (SMS through SNS) cannot drag down the other
    "email_delivery_rate": RateDef(("delivered",), ("sent",), "email"),
    "sms_delivery_rate": RateDef(("delivered",), ("sent",), "sms"),
    "open_rate": RateDef(("opened",), ("delivered",)),
    "click_rate": RateDef(("clicked",), ("delivered",)),
    "click_to_open_rate": RateDef(("clicked",), ("opened",)),
    "conversion_rate": RateDef(("converted",), ("entered",)),
    "unsubscribe_rate": RateDef(("unsubscribed",), ("delivered",)),
    "complaint_rate": RateDef(("complained",), ("delivered",)),
    "bounce_rate": RateDef(("bounced",), ("sent",)),
    "send_failure_rate": RateDef(("failed",), ("sent", "failed")),
    "email_send_failure_rate": RateDef(("failed",), ("sent", "failed"), "email"),
    "sms_send_failure_rate": RateDef(("failed",), ("sent", "failed"), "sms"),
    "trigger_success_rate": RateDef(("entered",), ("entered", "entry_failed")),
}
"""Every rate KPI a journey may declare (touchpoint.journey.model.RATE_KPIS) is defined here."""


#: Counters that only some channels ever report: SMS has no opens and no complaints, and its
#: clicks are not tracked, so an SMS-only journey's open or click rate could never have data.
CHANNELS_REPORTING: Final[dict[str, frozenset[str]]] = {
    "opened": frozenset({"email"}),
    "clicked": frozenset({"email"}),
    "complained": frozenset({"email"}),
}


def counters_of(kpi: str) -> tuple[str, ...]:
    """The counters a KPI is made of: a count KPI is its counter, a rate its numerator's."""
    definition = RATES.get(kpi)
    return (kpi,) if definition is None else definition.numerator


def rate(counts: dict[str, float], name: str) -> tuple[float | None, float]:
    """(value, denominator) of a rate from counter totals; value None when the denominator is 0."""
    definition = RATES[name]
    numerator = sum(counts.get(c, 0) for c in definition.keys(definition.numerator))
    denominator = sum(counts.get(c, 0) for c in definition.keys(definition.denominator))
    return (numerator / denominator if denominator else None), denominator


#: Alarm period for KPI floors and ceilings: rates are judged per day.
KPI_ALARM_PERIOD_SECONDS: Final = 86400
