"""JSON values as Step Functions sees them: their compact text, numbers, timestamps."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

Json = Any

# RFC 3339 as AWS profiles it: an uppercase T between date and time, Z or a numeric offset.
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def parse_timestamp(text: object) -> dt.datetime | None:
    """An RFC 3339 timestamp with an explicit offset (as Wait and the Timestamp* rules take it), else None."""
    if not isinstance(text, str) or not _TIMESTAMP.match(text):
        return None
    try:
        return dt.datetime.fromisoformat(text).astimezone(dt.UTC)
    except ValueError:
        return None


def epoch_ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def compact(value: Json) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def is_number(value: Json) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_int(value: Json) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
