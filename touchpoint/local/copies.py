"""One deep copy for the simulator's data. Stored items and Step Functions state data are JSON-like
(dicts and lists of scalars; stored items also hold sets), so a copy needs neither
``copy.deepcopy``'s memo nor its dispatch, which made it several times slower."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

_IMMUTABLE = frozenset({str, bool, int, float, Decimal, type(None), bytes})


def deep_copy(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {k: v if type(v) in _IMMUTABLE else deep_copy(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _IMMUTABLE else deep_copy(v) for v in value]
    if kind is set:
        return set(value)
    return value
