"""unsubscribe: the Lambda Function URL behind every email's unsubscribe link and List-Unsubscribe
header. GET → confirmation page; POST (the page's button or RFC 8058 one-click) → consent revoked."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from touchpoint.aws import wiring
from touchpoint.clock import process_clock
from touchpoint.logs import logger as make_logger
from touchpoint.settings import Settings

if TYPE_CHECKING:
    from touchpoint.engine.optout import OptOut  # built on first use, with its engine

logger = make_logger()


class _Http(BaseModel):
    method: str


class _RequestContext(BaseModel):
    http: _Http


class FunctionUrlRequest(BaseModel):
    """The two fields of a Function URL event this function reads; Powertools' full event model
    (its parser and every model it ships) would add ~150 ms to each cold start."""

    query: dict[str, str] | None = Field(default=None, alias="queryStringParameters")
    context: _RequestContext = Field(alias="requestContext")


@cache
def service() -> OptOut:
    return wiring.opt_out(Settings.from_env(), wiring.Clients(), process_clock())


@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = FunctionUrlRequest.model_validate(event)
    token = (request.query or {}).get("t", "")
    method = request.context.http.method.upper()
    page = service().unsubscribe(token) if method == "POST" else service().confirm(token)
    logger.info("unsubscribe", extra={"method": method, "status": page.status})
    return {
        "statusCode": page.status,
        "headers": {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"},
        "body": page.body,
    }
