"""Which attributes of a string or a number a template may use: only those that cannot make a value
bigger than the one they are called on (the rest are refused with what to use instead)."""

from __future__ import annotations

from typing import Any

_STR_METHODS = frozenset(
    {
        "capitalize",
        "casefold",
        "count",
        "endswith",
        "find",
        "index",
        "isalnum",
        "isalpha",
        "isascii",
        "isdecimal",
        "isdigit",
        "isidentifier",
        "islower",
        "isnumeric",
        "isprintable",
        "isspace",
        "istitle",
        "isupper",
        "lower",
        "lstrip",
        "partition",
        "removeprefix",
        "removesuffix",
        "rfind",
        "rindex",
        "rpartition",
        "rsplit",
        "rstrip",
        "split",
        "splitlines",
        "startswith",
        "strip",
        "swapcase",
        "title",
        "upper",
        "striptags",
        "unescape",
    }
)
"""str methods whose result is no bigger than the string (Markup's striptags/unescape included)."""

_NUMBER_ATTRIBUTES = frozenset(
    {
        "real",
        "imag",
        "numerator",
        "denominator",
        "conjugate",
        "bit_length",
        "bit_count",
        "is_integer",
        "as_integer_ratio",
    }
)
"""Numbers keep their arithmetic attributes, not ``to_bytes(10**9)``."""

_STR_HINTS = {
    "center": "the center filter (width up to 1,000)",
    "ljust": "a %-format such as '%-20s'|format(value) (width up to 1,000)",
    "rjust": "a %-format such as '%20s'|format(value) (width up to 1,000)",
    "zfill": "a %-format such as '%05d'|format(number)",
    "format": "the format filter with %-placeholders: '%s and %s'|format(a, b)",
    "format_map": "the format filter with %-placeholders: '%(name)s'|format(name=value)",
    "replace": "the replace filter: value|replace('old', 'new')",
    "join": "the join filter: items|join(', ')",
    "expandtabs": "the replace filter: value|replace('\\t', '    ')",
}


def allowed_attributes(obj: Any) -> frozenset[str] | None:
    """The attributes ``obj`` may use, or None where the sandbox's own rules are enough."""
    if isinstance(obj, str):
        return _STR_METHODS
    if isinstance(obj, int | float | complex):
        return _NUMBER_ATTRIBUTES
    if isinstance(obj, bytes | bytearray):
        return frozenset()
    return None


def refusal(obj: Any, attribute: str) -> str:
    """Why ``obj.attribute`` is refused: for a string method, what to use instead."""
    kind = type(obj).__name__
    if isinstance(obj, str) and not attribute.startswith("_"):
        hint = _STR_HINTS.get(attribute, "a filter (upper, replace, format, join, truncate …)")
        return f"{kind}.{attribute}() is not allowed in message templates; use {hint}"
    return f"access to attribute {attribute!r} of {kind!r} object is unsafe."
