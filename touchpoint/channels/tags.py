"""Message tags: what a send writes into its provider request so the provider's events can be
attributed back to the journey step, and decoded again when they arrive.

SES v2 accepts only ``[A-Za-z0-9_-]`` in tag names and values (at most 256 characters), while
step ids hold dots (``if-1.then.send-1``) and templates underscores. Values are therefore encoded
reversibly: letters, digits and ``-`` stand for themselves, ``_`` is ``__``, ``.`` is ``_d``,
``@`` is ``_a`` and any other character ``_x`` and its code point in six hex digits. Decoding
refuses anything that encoding cannot produce, so a foreign or legacy tag reads as absent
rather than as a wrong step."""

from __future__ import annotations

import hashlib
import re

#: The tags of every message: journey, step, template, and the send's key digest (reconciles an
#: ambiguous send when the provider's events arrive: docs/reliability.md).
JOURNEY, STEP, TEMPLATE, SEND = "journey", "step", "template", "send"
NAMES = (JOURNEY, STEP, TEMPLATE, SEND)
#: The one tag of a proof send (``touchpoint send-test``; its value is the journey id) instead of
#: the four above: its provider events name no journey, step or send, and no message index entry
#: points at it, so they are attributed to no journey and counted in no KPI.
PROOF = "proof"
MAX_VALUE = 256  # SES v2 MessageTag.Value
_PLAIN = re.compile(r"[A-Za-z0-9-]")
#: SES v2 MessageTag names and values: "only ASCII letters (a-z, A-Z), numbers (0-9), underscores
#: (_), or dashes (-)", 256 characters or fewer (API_MessageTag). touchpoint.local.strict checks it too.
SAFE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_ESCAPES = {"_": "__", ".": "_d", "@": "_a"}
_UNESCAPE = {"_": "_", "d": ".", "a": "@"}


def encode(value: str) -> str:
    """The tag value SES accepts for ``value``; ValueError when it would exceed 256 characters
    (the journey validator refuses such ids before they reach a send)."""
    if not value:
        return "_e"
    encoded = "".join(ch if _PLAIN.fullmatch(ch) else _ESCAPES.get(ch) or f"_x{ord(ch):06x}" for ch in value)
    if len(encoded) > MAX_VALUE:
        raise ValueError(
            f"{value[:40]!r} is {len(encoded)} characters as a message tag (at most {MAX_VALUE})"
        )
    return encoded


def decode(value: str) -> str | None:
    """The original value, or None when ``value`` is not something ``encode`` writes."""
    if not SAFE.fullmatch(value):
        return None
    if value == "_e":
        return ""
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch != "_":
            out.append(ch)
            i += 1
            continue
        kind = value[i + 1 : i + 2]
        if kind in _UNESCAPE:
            out.append(_UNESCAPE[kind])
            i += 2
        elif kind == "x" and re.fullmatch(r"[0-9a-f]{6}", value[i + 2 : i + 8]):
            point = int(value[i + 2 : i + 8], 16)
            if point > 0x10FFFF or 0xD800 <= point <= 0xDFFF or _PLAIN.fullmatch(chr(point)):
                return None
            if chr(point) in _ESCAPES:
                return None
            out.append(chr(point))
            i += 8
        else:
            return None
    decoded = "".join(out)
    return decoded if decoded and encode(decoded) == value else None


def fits(value: str) -> bool:
    """Whether ``value`` can travel as a message tag."""
    try:
        encode(value)
    except ValueError:
        return False
    return True


def send_digest(key: str) -> str:
    """The ``send`` tag: a digest of the send's idempotency key (execution and step), 32 hex."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]
