"""kpi_rollup: SQS batches of journey events and message feedback (partial batch failures) to
count, and the hourly ``{"action": "rollup"}`` from EventBridge Scheduler to judge the KPIs."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSEvent  # not every event class
from aws_lambda_powertools.utilities.typing import LambdaContext

from touchpoint.aws import wiring
from touchpoint.clock import process_clock
from touchpoint.engine.kpi import ACTION, KpiRollup
from touchpoint.logs import logger as make_logger
from touchpoint.settings import Settings

logger = make_logger()


@cache
def service() -> KpiRollup:
    return wiring.kpi_rollup(Settings.from_env(), wiring.Clients(), process_clock())


def count_batch(event: dict[str, Any]) -> dict[str, Any]:
    """The whole batch in one go (see KpiRollup.count_bodies). A malformed record is logged with
    its reason and acknowledged (a retry cannot fix it); records the store could not count for
    now (throttling, contention) are reported as failures, and SQS redelivers only those; their
    markers make the retry exact."""
    records = list(SQSEvent(event).records)
    outcomes = service().count_bodies([record.body for record in records])
    failures = []
    for record, outcome in zip(records, outcomes, strict=True):
        if outcome.status == "retry":
            failures.append({"itemIdentifier": record.message_id})
        log = logger.warning if outcome.status in ("rejected", "retry") else logger.info
        log(
            "record",
            extra={
                "status": outcome.status,
                "reason": outcome.reason,
                "journey": outcome.journey_id,
                "counters": list(outcome.counters),
            },
        )
    return {"batchItemFailures": failures}


@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "Records" in event:
        try:
            return count_batch(event)
        finally:
            service().flush_metrics()  # the batch's counts, once, including when some records failed
    ACTION.validate_python(event)
    summary = service().rollup()
    logger.info(
        "rollup",
        extra={
            "alerts": summary["alerts"],
            "breaches": {j: r["breaches"] for j, r in summary["journeys"].items() if r["breaches"]},
        },
    )
    return summary
