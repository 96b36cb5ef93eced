"""What a provider call's failure means for the message: refused (it was not sent, say why),
refused for now (throttled: retry), or unknown (it may have gone out: never call again).

Provider calls are not idempotent: SES and End User Messaging take no client token, so a second
``SendEmail`` after a lost response is a second email. The provider clients therefore make one
attempt (``wiring.provider_config()``: no SDK retries) and every failure is classified here, once,
for all channels. Only an answer from the provider, or a failure to connect at all, proves that
nothing was sent."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError, ParamValidationError

from touchpoint.aws.dynamo import code
from touchpoint.errors import SendAmbiguous, SendFailed, TransientError
from touchpoint.logs import redact

#: Answers that refuse the request before it is processed: safe to try again later.
THROTTLED = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "LimitExceededException",  # SES v2: the account's sending rate
        "ServiceQuotaExceededException",  # End User Messaging: a spend or rate quota
        "ServiceUnavailable",  # 503: the request was shed, not processed
        "ServiceUnavailableException",
    }
)
#: Server errors after the request arrived: the provider may or may not have taken the message.
SERVER_ERRORS = frozenset(
    {"InternalFailure", "InternalServerException", "InternalError", "InternalServiceError"}
)


def classify(error: Exception) -> Exception:
    """The exception the send gate acts on: TransientError, SendFailed or SendAmbiguous."""
    if isinstance(error, ClientError):
        name = code(error)
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if name in THROTTLED or status == 429:
            return TransientError(name or "throttled")
        if name in SERVER_ERRORS or status >= 500:
            return SendAmbiguous(f"{name or status}: the provider failed after receiving the message")
        detail = redact(str(error.response.get("Error", {}).get("Message", "")))
        return SendFailed(f"{name}: {detail}" if detail else name)  # the provider text may echo the contact
    if isinstance(error, HTTPClientError):  # read timeout, connection closed: the request went out
        return SendAmbiguous(f"{type(error).__name__}: the provider's answer was lost")
    if isinstance(error, ParamValidationError):
        return SendFailed(f"the request is invalid: {redact(str(error))}")
    if isinstance(error, BotoCoreError):  # no connection, no credentials: nothing left this process
        return TransientError(f"{type(error).__name__}: the request never reached the provider")
    return error
