"""SVG primitives the journey diagram and the report's charts share: escaping, coordinates and the
estimated width of text (the page measures nothing: it has no script), so both lay out alike."""

from __future__ import annotations

import html
import unicodedata


def escape(value: object) -> str:
    """Text content: ``<`` and ``&`` escaped."""
    return html.escape(str(value), quote=False)


def attr(value: object) -> str:
    """An attribute value: quotes escaped too."""
    return html.escape(str(value), quote=True)


def coord(value: float) -> str:
    """A coordinate, rounded to 0.1 and printed the same way every time."""
    text = f"{round(value, 1):.1f}"
    return text[:-2] if text.endswith(".0") else text


def _char_width(char: str) -> float:
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return 1.0
    if char in "il.,:;'|!()[] ":
        return 0.34
    if char.isupper() or char in "mwMW%@":
        return 0.78
    return 0.6


def text_width(text: str, size: float) -> float:
    """Estimated width in pixels of ``text`` at font ``size`` (CJK full width, narrow punctuation)."""
    return sum(_char_width(c) for c in text) * size


def wrap(text: str, width: float, size: float, max_lines: int) -> list[str]:
    """Greedy word wrap to ``width`` pixels (estimated), at most ``max_lines`` lines (… when cut)."""
    words: list[str] = []
    for token in text.split():
        rest = token
        while text_width(rest, size) > width:  # a word too long for a line is cut
            cut = len(rest)
            while cut > 1 and text_width(rest[:cut], size) > width:
                cut -= 1
            words.append(rest[:cut])
            rest = rest[cut:]
        words.append(rest)
    lines: list[str] = []
    for word in words:
        if lines and text_width(f"{lines[-1]} {word}", size) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and text_width(last + " …", size) > width:
            last = last[:-1]
        lines = [*lines[: max_lines - 1], last.rstrip() + " …"]
    return lines or [""]
