"""Logging that never shows an email address or phone number in clear text.

Every handler's Powertools Logger uses ``RedactingFormatter``: whatever reaches a log line — a
message, an extra key, an exception from a provider that echoes the recipient — is masked after
serialisation, so no code path can forget it."""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

#: By structure, not by a narrow alphabet: a local part is anything up to the @ that cannot end
#: a token in a log line (so o'brien@, josé@, 用户@ and \uXXXX-escaped JSON all match), a domain
#: is labels with at least one dot. Over-matching redacts a little too much, never too little.
_STOP = r"\s@<>()\[\],;:\"`|{}"
# A match starts only where a token starts (the lookbehind), and the local part cannot give
# characters back (possessive): linear in the text, even for 100 KB without an @.
_EMAIL = re.compile(rf"(?<![^{_STOP}])[^{_STOP}]++@[^{_STOP}'.]+(?:\.[^{_STOP}'.]+)+")
#: Phone numbers: international (+ and 7-15 digits, with spaces, dots, dashes or brackets
#: between them), bare runs of 8-15 digits, and grouped national numbers (138-0000-0000).
_PHONE = re.compile(
    r"\+\d(?:[\s().-]{0,2}\d){6,14}"
    r"|(?<![\w:.\-])[1-9]\d{7,14}(?![\w.\-])"
    r"|(?<![\w:.\-])\(?\d{2,4}\)?[\s.-]\d{3,4}[\s.-]\d{3,4}(?![\w:.\-])"
)


def _mask(match: re.Match[str]) -> str:
    digest = hashlib.sha256(match.group(0).encode()).hexdigest()[:8]
    return f"<redacted:{digest}>"


def redact(text: str) -> str:
    """Replace addresses and phone numbers by a short hash (the same value gives the same hash,
    so a support engineer can still correlate lines without seeing the contact point)."""
    return _PHONE.sub(_mask, _EMAIL.sub(_mask, text))


class RedactingFormatter(LambdaPowertoolsFormatter):
    def serialize(self, log: Any) -> str:
        return redact(super().serialize(log))


#: SDK loggers that at DEBUG print whole request bodies (profiles, recipients). Lambda's log-level
#: controls can switch every logger to DEBUG; these are held at INFO regardless.
QUIET = ("botocore", "boto3", "urllib3", "s3transfer")


def logger(service: str | None = None) -> Logger:
    for name in QUIET:
        sdk = logging.getLogger(name)
        sdk.setLevel(max(sdk.level, logging.INFO))
    return Logger(service=service, logger_formatter=RedactingFormatter())
