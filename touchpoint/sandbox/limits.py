"""The limits of one render, the error that names the one exceeded, and how a failed render is told
apart from an error of the template's own code (the validator and the send function word it alike)."""

from __future__ import annotations

import jinja2

MAX_OUTPUT = 1_000_000
"""Characters one message may render to, all its parts together. Gmail clips HTML over 102 KB and a
large real email is 30-100 KB, so ten times that is never a message, only a runaway loop."""

MAX_VALUE = 200_000
"""Characters or items in any one string, list or macro/``{% set %}`` block a template builds: twice
the largest real HTML part. Checked before allocating where the size is known in advance."""

MAX_ALLOCATION = 10_000_000
"""Characters or items all of one render's operators, filters and joins may produce together. Each
value is bounded by MAX_VALUE, but a loop or ``map`` could keep 100,000 of them; this bounds the sum."""

MAX_ITERATIONS = 100_000
"""``{% for %}`` iterations per render, nested loops counted together. A product grid or a list of
events is tens of items; a hundred thousand is a loop that multiplies."""

MAX_CALLS = 100_000
"""Calls per render: macros, methods, filters, ``loop()``, ``self.block()``, includes and imports.
Bounds recursion that forks (``f(n-1)`` twice) long before it is exponential."""

MAX_DEPTH = 50
"""Nested calls: real templates nest macros two or three deep. Fifty stays far below Python's
recursion limit, so runaway recursion stops with this message rather than a RecursionError."""

MAX_SECONDS = 1.0
"""CPU time per render, of the rendering thread (time.thread_time). A real email renders in about a
millisecond; this is the backstop for work the counters do not see, and keeps a send function far
inside its timeout. CPU, not wall time, and without the garbage collections that ran meanwhile: a
throttled small Lambda, a busy machine or a full collection of a large heap stretched a trivial
render past a fixed wall-clock limit and failed real welcome emails in a 50,000-user run."""

MAX_INTEGER = 10**100
"""Largest integer an operator may produce. Money, counts and points are far smaller; without it
``9**(9**9)`` or repeated squaring computes numbers with millions of digits."""

MAX_WIDTH = 1_000
"""Largest field width or precision: ``%-20s``, ``center(40)``, ``indent``, ``tojson(indent)`` and
``round`` precision. A line of an email is under 100 characters."""

MAX_RANGE = MAX_ITERATIONS
"""Items in one ``range()``: a longer range could not be looped over within MAX_ITERATIONS anyway."""


class LimitExceeded(jinja2.TemplateRuntimeError):
    """A render went over one of the limits above. The message names the limit ("exceeds the loop
    iteration limit of 100,000 iterations"); callers prefix the template file."""

    def __init__(self, limit: str) -> None:
        super().__init__(f"exceeds the {limit}")
        self.limit = limit


OUTPUT_LIMIT = f"render output limit of {MAX_OUTPUT:,} characters"
VALUE_LIMIT = f"value size limit of {MAX_VALUE:,} characters or items"
ALLOCATION_LIMIT = f"allocation limit of {MAX_ALLOCATION:,} characters or items per render"
ITERATIONS_LIMIT = f"loop iteration limit of {MAX_ITERATIONS:,} iterations"
CALLS_LIMIT = f"call limit of {MAX_CALLS:,} calls"
DEPTH_LIMIT = f"call depth limit of {MAX_DEPTH} nested calls"
TIME_LIMIT = f"render time limit of {MAX_SECONDS:g} second{'' if MAX_SECONDS == 1 else 's'}"
INTEGER_LIMIT = "integer size limit of 10**100"
WIDTH_LIMIT = f"width and precision limit of {MAX_WIDTH:,}"
RANGE_LIMIT = f"range limit of {MAX_RANGE:,} items"


SIZED = (str, bytes, bytearray, list, tuple, dict, set, frozenset)
"""The values whose ``len`` is their size: what MAX_VALUE and MAX_ALLOCATION count."""


def check_size(size: int) -> None:
    if size > MAX_VALUE:
        raise LimitExceeded(VALUE_LIMIT)


# --------------------------------------------------------------------------- failed renders

OVER_LIMIT: tuple[type[BaseException], ...] = (LimitExceeded, RecursionError, MemoryError)
"""What a template raises when it cannot be rendered within the limits: the sandbox's own, and
Python's recursion and memory limits (reached before the sandbox's, e.g. by a deeply nested
expression). Anything else it raises (1/0, ``10.0 ** 400``, ``'a' - 1``) is an error of its code."""


def exceeded(error: BaseException) -> str:
    """Which limit an :data:`OVER_LIMIT` error reached, worded to follow "template <file>"."""
    if isinstance(error, RecursionError):
        return "nests too deeply (Python's recursion limit)"
    if isinstance(error, MemoryError):
        return "runs out of memory"
    return str(error)
