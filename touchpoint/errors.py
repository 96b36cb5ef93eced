"""Errors the state machines branch on: their class names are the ASL error names."""

from __future__ import annotations

from touchpoint import contract


class TransientError(Exception):
    """Throttling or a provider's 5xx: the state machine retries the Task with backoff."""


class SendFailed(Exception):  # noqa: N818 - the ASL error name users see
    """The provider refused the message for good: caught into the step's recorded failure path."""


class ContactOptedOut(SendFailed):
    """The provider refused the message because the recipient opted out with the carrier
    (End User Messaging ``DESTINATION_PHONE_NUMBER_OPTED_OUT``): the number is suppressed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SendAmbiguous(Exception):  # noqa: N818 - reads as the condition it is
    """The provider may have accepted the message (a lost response, a timeout after the request
    went out, a 500): calling it again could send a second message, so the send is recorded as
    ``sent_unconfirmed`` and never retried (docs/reliability.md)."""


class Unstorable(Exception):  # noqa: N818 - reads as the condition it is
    """The store refuses this data for good (DynamoDB's ValidationException): retrying the same
    input cannot succeed, so the caller rejects it with the reason instead."""


class StartFailed(Exception):  # noqa: N818 - reads as the condition it is
    """StartExecution refused for good (no such state machine, invalid input): the entry fails."""


class TemplateError(Exception):
    """A template could not be rendered for this profile (a missing variable, an error in it)."""


assert TransientError.__name__ == contract.TRANSIENT_ERROR
