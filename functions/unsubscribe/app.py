"""unsubscribe: the Lambda Function URL behind every email's unsubscribe link and List-Unsubscribe
header. GET → confirmation page; POST (the page's button or RFC 8058 one-click) → consent revoked."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import LambdaFunctionUrlModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from touchpoint.aws import wiring
from touchpoint.clock import process_clock
from touchpoint.engine.optout import OptOut
from touchpoint.logs import logger as make_logger
from touchpoint.settings import Settings

logger = make_logger()


@cache
def service() -> OptOut:
    return wiring.opt_out(Settings.from_env(), wiring.Clients(), process_clock())


@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse(event=event, model=LambdaFunctionUrlModel)
    token = (request.queryStringParameters or {}).get("t", "")
    method = request.requestContext.http.method.upper()
    page = service().unsubscribe(token) if method == "POST" else service().confirm(token)
    logger.info("unsubscribe", extra={"method": method, "status": page.status})
    return {
        "statusCode": page.status,
        "headers": {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"},
        "body": page.body,
    }
