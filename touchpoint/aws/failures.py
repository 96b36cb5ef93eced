"""Which failures of an input's processing a retry can cure, for the SQS consumers.

An SQS record that raises is redelivered and, after the queue's receive limit, lands in the
dead-letter queue without a word about why. That is right for a throttled table, a missing
permission or a network fault (a retry or a fix of the deployment cures it) and wrong for an
input the store or the code cannot take, which fails the same way every time: those are recorded
once as rejected, with the reason, and acknowledged."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from touchpoint.aws.dynamo import code
from touchpoint.errors import TransientError
from touchpoint.logs import redact

#: DynamoDB's answers to data it cannot store: the same input is refused on every retry.
REFUSED_DATA = frozenset({"ValidationException", "SerializationException"})


def retryable(error: BaseException) -> bool:
    if isinstance(error, TransientError | BotoCoreError):
        return True
    if isinstance(error, ClientError):
        return code(error) not in REFUSED_DATA
    return not isinstance(error, Exception)  # KeyboardInterrupt, SystemExit: never swallowed


def describe(error: BaseException) -> str:
    """The reason stored with the rejected input: what failed, never a contact point."""
    if isinstance(error, ClientError):
        message = str(error.response.get("Error", {}).get("Message", ""))
        if "item size" in message.lower():
            return "the profile would exceed DynamoDB's 400 KB item limit"
        return f"DynamoDB refused the data ({code(error)}): {redact(message)[:300]}"
    return f"{type(error).__name__}: {redact(str(error))[:300]}"
