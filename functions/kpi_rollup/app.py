"""kpi_rollup: SQS batches of journey events and message feedback (partial batch failures) to
count, and the hourly ``{"action": "rollup"}`` from EventBridge Scheduler to judge the KPIs."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from touchpoint.aws import wiring
from touchpoint.clock import process_clock
from touchpoint.engine.kpi import ACTION, KpiRollup
from touchpoint.logs import logger as make_logger
from touchpoint.settings import Settings

logger = make_logger()
processor = BatchProcessor(event_type=EventType.SQS)


@cache
def service() -> KpiRollup:
    return wiring.kpi_rollup(Settings.from_env(), wiring.Clients(), process_clock())


def record_handler(record: SQSRecord) -> None:
    """Malformed input is logged with its reason and acknowledged (a retry cannot fix it); an
    error (throttling, contention) raises, so only this record is retried."""
    outcome = service().count_body(record.body)
    log = logger.warning if outcome.status == "rejected" else logger.info
    log(
        "record",
        extra={
            "status": outcome.status,
            "reason": outcome.reason,
            "journey": outcome.journey_id,
            "counters": list(outcome.counters),
        },
    )


@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "Records" in event:
        try:
            return dict(
                process_partial_response(
                    event=event, record_handler=record_handler, processor=processor, context=context
                )
            )
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
