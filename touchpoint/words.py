"""Counts and cells in words: "1 warning", "2 warnings"; a cell cut at a word, never mid-word."""

from __future__ import annotations


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 warning``, ``2 warnings``, ``1,200 emails`` (``many`` for irregular plurals)."""
    return f"{count:,} {word if count == 1 else many or word + 's'}"


def clip(text: str, width: int) -> str:
    """At most ``width`` characters, cut at a word boundary with an ellipsis, never mid-word."""
    if len(text) <= width:
        return text
    head = text[: width - 1]
    cut = head.rsplit(" ", 1)[0] if " " in head else head
    return cut.rstrip(" ,;:·-") + "…"
