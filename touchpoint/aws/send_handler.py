"""The send functions' handler, shared by send_email and send_sms (they differ only in channel)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from touchpoint.aws import wiring
from touchpoint.clock import process_clock
from touchpoint.engine.payload import SendRequest
from touchpoint.logs import logger as make_logger
from touchpoint.settings import Settings

if TYPE_CHECKING:
    from touchpoint.engine.send import Sender

logger = make_logger()


@cache
def service(channel: str) -> tuple[Sender, wiring.LambdaOnce]:
    return wiring.sender(Settings.from_env(), wiring.Clients(), process_clock(), channel)


def send_handler(channel: str) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    @logger.inject_lambda_context(log_event=False)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        # what Powertools' parse() does, without its ~150 ms of cold start
        request = SendRequest.model_validate(event)
        sender, once = service(channel)
        once.register_lambda_context(context)
        handled = sender.handle(request, context.invoked_function_arn)
        logger.info(
            "send",
            extra={
                "journey": request.journey_id,
                "step": request.step_id,
                "status": handled.status,
                "reason": handled.reason,
            },
        )
        # the Lambda response, seen by the invoker only (the state machine waits for the task token)
        return {"status": handled.status, "reason": handled.reason, "until": handled.result.get("until")}

    return handler
