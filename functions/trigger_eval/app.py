"""trigger_eval: SQS batches of events (partial batch failures) and direct invocations from the
journey state machines and EventBridge Scheduler."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from touchpoint.aws import wiring
from touchpoint.aws.failures import describe, retryable
from touchpoint.clock import process_clock
from touchpoint.engine.privacy import Privacy, PrivacyRequest
from touchpoint.engine.privacy import run as privacy_run
from touchpoint.engine.trigger import TriggerEval
from touchpoint.engine.trigger.actions import ACTION
from touchpoint.logs import logger as make_logger
from touchpoint.settings import Settings

logger = make_logger()
processor = BatchProcessor(event_type=EventType.SQS)


@cache
def service() -> TriggerEval:
    return wiring.trigger_eval(Settings.from_env(), wiring.Clients(), process_clock())


@cache
def privacy() -> Privacy:
    return wiring.privacy(Settings.from_env(), wiring.Clients(), process_clock())


def record_handler(record: SQSRecord) -> None:
    try:
        outcome = service().handle_body(record.body)
    except Exception as error:
        if retryable(error):
            raise  # the record fails alone; SQS redelivers it
        logger.exception("record could not be processed", extra={"error": type(error).__name__})
        outcome = service().reject_body(record.body, describe(error))
    logger.info(
        "record",
        extra={
            "status": outcome.status,
            "reason": outcome.reason,
            "entered": [d.journey_id for d in outcome.decisions if d.enter],
        },
    )


@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "Records" in event:
        return dict(
            process_partial_response(
                event=event, record_handler=record_handler, processor=processor, context=context
            )
        )
    if event.get("action") in ("export", "erase"):
        request = PrivacyRequest.model_validate(event)
        logger.info("privacy request", extra={"action": request.action})
        return privacy_run(privacy(), request)
    return service().run(ACTION.validate_python(event), context.invoked_function_arn)
