"""Errors the state machines branch on: their class names are the ASL error names."""

from __future__ import annotations

from touchpoint import contract


class TransientError(Exception):
    """Throttling or a provider's 5xx: the state machine retries the Task with backoff."""


class SendFailed(Exception):  # noqa: N818 - the ASL error name users see
    """The provider refused the message for good: caught into the step's recorded failure path."""


class StartFailed(Exception):  # noqa: N818 - reads as the condition it is
    """StartExecution refused for good (no such state machine, invalid input): the entry fails."""


class TemplateError(Exception):
    """A template could not be rendered for this profile (a missing variable, an error in it)."""


assert TransientError.__name__ == contract.TRANSIENT_ERROR
