"""The executor's errors: the API's (botocore ClientErrors with the AWS error code, so code written
against boto3, ``except ClientError`` + ``response["Error"]["Code"]``, handles them unchanged) and the
States.* errors that fail an execution."""

from __future__ import annotations

from typing import Any, Final

from botocore.exceptions import ClientError

RUNTIME: Final = "States.Runtime"
TIMEOUT: Final = "States.Timeout"
INTRINSIC_FAILURE: Final = "States.IntrinsicFailure"
DATA_LIMIT_EXCEEDED: Final = "States.DataLimitExceeded"


class StatesApiError(ClientError):
    code: str = "StatesApiError"

    def __init__(self, message: str, operation: str = "StepFunctions") -> None:
        response: Any = {
            "Error": {"Code": self.code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }
        super().__init__(response, operation)
        self.message = message


def _api_error(code: str) -> type[StatesApiError]:
    """The exception class of one AWS error code (its name is the code)."""
    return type(code, (StatesApiError,), {"code": code, "__module__": __name__})


# fmt: off
(InvalidDefinition, InvalidName, InvalidExecutionInput, InvalidOutput, StateMachineAlreadyExists,
 StateMachineDoesNotExist, ExecutionAlreadyExists, ExecutionDoesNotExist, InvalidToken, TaskTimedOut) = (
    _api_error(code) for code in (
        "InvalidDefinition", "InvalidName", "InvalidExecutionInput", "InvalidOutput",
        "StateMachineAlreadyExists", "StateMachineDoesNotExist", "ExecutionAlreadyExists",
        "ExecutionDoesNotExist", "InvalidToken", "TaskTimedOut",
    )
)
# fmt: on


class StatesRuntimeError(Exception):
    """An error that fails the execution outright (``States.Runtime`` and the other terminal errors:
    no Retry, no Catch)."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(cause)
        self.error = error
        self.cause = cause
