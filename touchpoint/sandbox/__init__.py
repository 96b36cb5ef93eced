"""The bounded Jinja2 sandbox every message template renders in.

A template is code, and one that builds a gigabyte string, loops a billion times or recurses
without end, by mistake or on purpose, would otherwise hang or kill the send function for every
profile it is sent to. Every operator, call, loop, filter and output chunk is checked against the
limits (``limits``), per render (``budget``), and the first one exceeded raises
:class:`LimitExceeded`. Nothing is evaluated while compiling: the operators that can grow a value
are intercepted (``environment``), so Jinja's optimizer cannot fold ``'a' * 10**9`` at
``get_template`` time, and the size-producing filters take the render context (``filters``), so
they are never folded either. Sizes are bounded before a value is made (``bounds``), attribute
access is narrowed (``access``), and compiled templates are shared (``cache``).

It relies on Jinja 3.1's code generator, ``optimizeconst`` and ``TemplateModule`` (``compiled``);
the byte-identity tests in tests/unit/test_template_bounds.py catch a Jinja upgrade that changes them.

The time limit is not handed on here: each render reads ``limits.MAX_SECONDS``, so a copy here
would be a knob that does nothing."""

from touchpoint.sandbox.budget import Budget, collect, render_budget
from touchpoint.sandbox.environment import BoundedSandbox
from touchpoint.sandbox.filters import REMOVED_FILTERS, REMOVED_GLOBALS
from touchpoint.sandbox.limits import (
    MAX_ALLOCATION,
    MAX_CALLS,
    MAX_DEPTH,
    MAX_INTEGER,
    MAX_ITERATIONS,
    MAX_OUTPUT,
    MAX_RANGE,
    MAX_VALUE,
    MAX_WIDTH,
    OVER_LIMIT,
    LimitExceeded,
    exceeded,
)

__all__ = [
    "MAX_ALLOCATION",
    "MAX_CALLS",
    "MAX_DEPTH",
    "MAX_INTEGER",
    "MAX_ITERATIONS",
    "MAX_OUTPUT",
    "MAX_RANGE",
    "MAX_VALUE",
    "MAX_WIDTH",
    "OVER_LIMIT",
    "REMOVED_FILTERS",
    "REMOVED_GLOBALS",
    "BoundedSandbox",
    "Budget",
    "LimitExceeded",
    "collect",
    "exceeded",
    "render_budget",
]
