"""kpi_rollup's domain: count journey events and message feedback exactly once, emit the counts as
metrics, and judge every journey's KPIs on a schedule.

Counting
    Every input becomes a ``Plan``: the counters to add 1 to (per journey, UTC day of the event,
    channel for message counters, step where ``kpi_step_dimension`` lists the journey) and one
    ``Marker`` that must not exist yet. The store writes the marker and all the ADDs in ONE
    DynamoDB transaction (``touchpoint/aws/kpis.py``), so:

    * a redelivery (SQS at-least-once, EventBridge retries, a retried Lambda) finds the marker,
      the transaction is cancelled and nothing is added: it cannot count twice;
    * a failed or timed-out attempt either committed everything (the retry is then a duplicate)
      or nothing (the record is reported as a batch item failure and counted on redelivery): it
      cannot lose a count, because the marker never exists without the ADDs.

    The marker is the event id (every journey event and every feedback has a deterministic one),
    except for opens and clicks, which are unique per message: their marker is the message id and
    the kind (``SEEN#<message id>`` / ``opened``), so the third open of an email counts nothing.

    Each message has at most one final outcome, counted once whichever arrives first (its marker
    is ``SEEN#<message id>`` / ``outcome``): ``delivered``; ``bounced`` (the recipient's server
    or the carrier refused it: a bounce, a final SMS failure); or ``dropped`` (the provider took
    the request but never sent it: SES's suppression lists, a reject, a rendering failure; AWS
    counts those in no bounce or complaint rate). Non-final statuses are in flight and count
    nothing. None of them is ``failed``: ``failed`` means the send itself failed and was never
    accepted, and ``send_failure_rate`` divides it by ``sent + failed``, which only works while
    the two are disjoint. A message is therefore ``sent`` and then one outcome (or none yet).

    A send whose provider answer was lost counts as ``unconfirmed``; when the provider's events
    show it was sent after all, trigger_eval reports it again as sent (``reconciled``), so it
    then counts in ``sent`` as well (docs/reliability.md).

    Feedback is attributed by the message's tags (SES) or echoed context (End User Messaging),
    and when those are missing by the message index, as trigger_eval attributes it.

Metrics
    The counts of a batch are summed and emitted once per (journey, channel, step) as EMF with the
    dimension sets [Journey] (every counter), [Journey, Channel] (message counters) and
    [Journey, Step] (message counters of journeys listed in ``kpi_step_dimension``). No user id,
    message id or template is ever a dimension. Duplicates emit nothing.

Rollup (hourly)
    * Rates (``metrics.RATES``) are computed over a rolling window of the last ``WINDOW_DAYS`` UTC
      days, today included, and also since the journey's first count (the ``all`` period).
    * A rate KPI is judged on the window: below ``floor`` or above ``ceiling`` is a breach, but only
      once the rate's denominator reaches ``min_sample``; below it the KPI is
      ``insufficient_sample`` and its alert state does not change.
    * A count KPI (``entered``, ``sent`` …) is judged on the last complete UTC day (as the CloudWatch
      alarms judge it, ``metrics.KPI_ALARM_PERIOD_SECONDS``), and only once the journey counted
      something before that day (so a journey launched yesterday evening is not below its floor).
      ``min_sample`` does not apply to counts.
    * Alerts fire on transitions of the remembered alert state: ok → breached sends one alert,
      breached → ok one recovery notice, an ongoing breach nothing. Each is an SNS message and a
      ``journey.kpi_alert`` event.
    * The goal is reported (never alerted) on matured cohorts: users who entered on the
      ``WINDOW_DAYS`` UTC days ending on the last day whose goal window has fully elapsed, and the
      conversions of exactly those users (counted by entry day), holdout apart.

The pure pieces (``plan_for``, ``compute_rates``, ``judge``, ``goal_report``, ``transitions``)
take plain values, so the simulator's report uses the same arithmetic.

Modules: ``values`` (the counters and the values passed between stages), ``parsing`` (input →
countable), ``counting`` (input → plan, counts → EMF), ``rates`` (rates, judgements, alert
transitions, goal), ``alerts`` (alert texts), ``rollup`` (the service). Its ports are in
``touchpoint/engine/ports.py``."""

from __future__ import annotations

from touchpoint.engine.kpi.parsing import ACTION
from touchpoint.engine.kpi.rollup import KpiRollup

__all__ = ["ACTION", "KpiRollup"]
