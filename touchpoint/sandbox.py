"""The bounded Jinja2 sandbox every message template renders in.

A template is code, and one that builds a gigabyte string, loops a billion times or recurses
without end, by mistake or on purpose, would otherwise hang or kill the send function for every
profile it is sent to. Every operator, call, loop, filter and output chunk is checked against the
limits below, per render (:class:`Budget`), and the first one exceeded raises
:class:`LimitExceeded`. Nothing is evaluated while compiling: the operators that can grow a value
are intercepted, so Jinja's optimizer cannot fold ``'a' * 10**9`` at ``get_template`` time, and
the size-producing filters take the render context, so they are never folded either.

It relies on Jinja 3.1's code generator, ``optimizeconst`` and ``TemplateModule``; the byte-identity
tests in tests/unit/test_template_bounds.py catch a Jinja upgrade that changes them."""

from __future__ import annotations

import functools
import gc
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from contextlib import contextmanager
from contextvars import ContextVar
from itertools import chain
from types import BuiltinMethodType, CodeType
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.bccache import Bucket
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.environment import TemplateModule
from jinja2.exceptions import SecurityError
from jinja2.filters import make_attrgetter
from jinja2.runtime import Context, LoopContext, Undefined, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment

# --------------------------------------------------------------------------- limits

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


_OUTPUT = f"render output limit of {MAX_OUTPUT:,} characters"
_VALUE = f"value size limit of {MAX_VALUE:,} characters or items"
_ALLOCATION = f"allocation limit of {MAX_ALLOCATION:,} characters or items per render"
_ITERATIONS = f"loop iteration limit of {MAX_ITERATIONS:,} iterations"
_CALLS = f"call limit of {MAX_CALLS:,} calls"
_DEPTH = f"call depth limit of {MAX_DEPTH} nested calls"
_TIME = f"render time limit of {MAX_SECONDS:g} second{'' if MAX_SECONDS == 1 else 's'}"
_INTEGER = "integer size limit of 10**100"
_WIDTH = f"width and precision limit of {MAX_WIDTH:,}"
_RANGE = f"range limit of {MAX_RANGE:,} items"


class _Collections(threading.local):
    """CPU seconds this thread has spent in garbage collection. A collection walks the whole heap,
    not the template's objects, so a render is not charged for it; the allocation limits already
    bound what a template itself can make the collector do."""

    spent = 0.0
    started: float | None = None


_COLLECTIONS = _Collections()


def _time_collections(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _COLLECTIONS.started = time.thread_time()
    elif _COLLECTIONS.started is not None:
        _COLLECTIONS.spent += time.thread_time() - _COLLECTIONS.started
        _COLLECTIONS.started = None


gc.callbacks.append(_time_collections)


def _render_seconds() -> float:
    return time.thread_time() - _COLLECTIONS.spent


class Budget:
    """What one render has used so far. A fresh one per message (:func:`render_message`), reached
    through a context variable, so nothing carries over between renders or threads."""

    __slots__ = ("allocated", "calls", "deadline", "depth", "iterations", "output")

    def __init__(self) -> None:
        self.deadline = _render_seconds() + MAX_SECONDS
        self.output = 0
        self.allocated = 0
        self.iterations = 0
        self.calls = 0
        self.depth = 0

    def check_time(self) -> None:
        if _render_seconds() > self.deadline:
            raise LimitExceeded(_TIME)

    def call(self) -> None:
        self.calls += 1
        if self.calls > MAX_CALLS:
            raise LimitExceeded(_CALLS)
        self.check_time()

    def iteration(self) -> None:
        self.iterations += 1
        if self.iterations > MAX_ITERATIONS:
            raise LimitExceeded(_ITERATIONS)
        self.check_time()

    def allocate(self, size: int) -> None:
        if size > MAX_VALUE:
            raise LimitExceeded(_VALUE)
        self.allocated += size
        if self.allocated > MAX_ALLOCATION:
            raise LimitExceeded(_ALLOCATION)

    def produced(self, value: object) -> None:
        """Account a value an operation made: refuse it if it is too big, else count it."""
        if isinstance(value, _SIZED):
            self.allocate(len(value))
        elif type(value) is int and not -MAX_INTEGER <= value <= MAX_INTEGER:
            raise LimitExceeded(_INTEGER)


_BUDGET: ContextVar[Budget | None] = ContextVar("touchpoint_template_budget", default=None)


def _budget() -> Budget:
    budget = _BUDGET.get()
    if budget is None:
        raise RuntimeError(
            "template code ran outside a render budget; render through templates.render_message"
        )
    return budget


@contextmanager
def render_budget(*, join: bool = False) -> Iterator[Budget]:
    """Start a fresh budget for one render, or with ``join`` go on with the one already running."""
    running = _BUDGET.get()
    if join and running is not None:
        yield running
        return
    budget = Budget()
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


# --------------------------------------------------------------------------- sizes of values

_SIZED = (str, bytes, bytearray, list, tuple, dict, set, frozenset)
_CONTAINERS = (list, tuple, dict, set, frozenset, KeysView, ValuesView, ItemsView)


def _check_size(size: int) -> None:
    if size > MAX_VALUE:
        raise LimitExceeded(_VALUE)


def _text_bound(value: Any, memo: dict[tuple[int, int], tuple[Any, int]], indent: int, depth: int) -> int:
    """An upper bound on the length of ``str(value)`` (or its JSON with ``indent``), stopping early.

    Containers are measured, not converted: a list holding another list a thousand times, itself
    held a thousand times, is tiny in memory but prints as a billion characters. Shared containers
    are measured once (memo) but counted at every reference, as printing does."""
    if isinstance(value, str):
        return 2 + len(value) * (2 if value.isprintable() else 10)
    if isinstance(value, bool) or value is None:
        return 5
    if isinstance(value, int):
        return value.bit_length() // 3 + 2
    if isinstance(value, float):
        return 24
    if not isinstance(value, _CONTAINERS):
        return 0
    key = (id(value), depth)
    if key in memo:  # the memo holds the value too, so its id cannot be reused meanwhile
        return memo[key][1]
    per_item = 2 + (indent * (depth + 1) + 1 if indent else 0)
    total = 2
    pairs = value.items() if isinstance(value, dict) else None
    items: Iterable[Any] = chain.from_iterable(pairs) if pairs is not None else value
    for item in items:
        total += per_item + _text_bound(item, memo, indent, depth + 1)
        if total > MAX_VALUE:
            break
    memo[key] = (value, total)
    return total


def _check_text(value: Any, indent: int = 0) -> None:
    """Refuse to turn a container into text that would exceed MAX_VALUE."""
    if isinstance(value, _CONTAINERS) and _text_bound(value, {}, indent, 0) > MAX_VALUE:
        raise LimitExceeded(_VALUE)


def _text(value: Any) -> str:
    """``str(value)`` after checking its size; strings (and Markup) are returned as they are."""
    if isinstance(value, str):
        return value
    _check_text(value)
    return str(value)


def _text_size(value: Any) -> int:
    return len(value) if isinstance(value, str) else _text_bound(value, {}, 0, 0)


def _finalize(value: Any) -> Any:
    """Every ``{{ expression }}`` passes here before it is printed (Environment.finalize)."""
    if isinstance(value, _CONTAINERS):
        _check_text(value)
    return value


# --------------------------------------------------------------------------- operators

_PERCENT = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?[-#0 +]*(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d*))?[hlL]?(?P<type>.)",
    re.DOTALL,
)


def _check_width(width: Any) -> None:
    size = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    if abs(size) > MAX_WIDTH:
        raise LimitExceeded(_WIDTH)


def _check_percent(template: str, values: Any) -> None:
    """``'%999999999s' % x`` allocates a gigabyte: check widths, precisions and the %s arguments
    before formatting. Mirrors how ``%`` consumes arguments (``*`` takes one, a conversion one)."""
    if "%" not in template:
        return
    args = values if isinstance(values, tuple) else (values,)
    position = 0

    def take() -> Any:
        nonlocal position
        position += 1
        return args[position - 1] if position <= len(args) else None

    for match in _PERCENT.finditer(template):
        if match["type"] == "%":
            continue
        for part in ("width", "precision"):
            spec = match[part]
            if spec == "*":
                _check_width(take())
            elif spec:
                _check_width(MAX_WIDTH + 1 if len(spec) > len(str(MAX_WIDTH)) else int(spec))
        if match["key"] is not None:
            value = values.get(match["key"]) if isinstance(values, Mapping) else None
        else:
            value = take()
        if match["type"] in "sra":
            _check_text(value)


def _check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse an operation whose result would be over a limit, before computing it."""
    if operator == "*":
        for seq, count in ((left, right), (right, left)):
            if isinstance(seq, _SIZED) and isinstance(count, int):
                _check_size(len(seq) * max(count, 0))
        if (
            type(left) is int
            and type(right) is int
            and left.bit_length() + right.bit_length() > MAX_INTEGER.bit_length() + 2
        ):
            raise LimitExceeded(_INTEGER)
    elif operator == "**":
        if (
            isinstance(left, int)
            and isinstance(right, int)
            and abs(left) > 1
            and right * (abs(left).bit_length() - 1) > MAX_INTEGER.bit_length()
        ):
            raise LimitExceeded(_INTEGER)
    elif operator == "%":
        if isinstance(left, str):
            _check_percent(left, right)
    elif operator == "+" and isinstance(left, _SIZED) and isinstance(right, _SIZED):
        _check_size(len(left) + len(right))


# --------------------------------------------------------------------------- filters

FilterCall = Callable[..., Any]
Runner = Callable[[FilterCall, Context, Any, tuple[Any, ...], dict[str, Any]], Any]


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str, default: Any) -> Any:
    return args[index] if len(args) > index else kwargs.get(name, default)


def _run_center(
    call: FilterCall, context: Context, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    _check_width(_arg(args, kwargs, 0, "width", 80))
    return call(value, *args, **kwargs)


def _run_indent(
    call: FilterCall, context: Context, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    width = _arg(args, kwargs, 0, "width", 4)
    _check_width(width)
    text = _text(value)
    pad = len(width) if isinstance(width, str) else max(width, 0) if isinstance(width, int) else 0
    _check_size(len(text) + (text.count("\n") + 1) * pad)
    return call(value, *args, **kwargs)


def _run_wordwrap(
    call: FilterCall, context: Context, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    wrapstring = _arg(args, kwargs, 2, "wrapstring", None)
    if wrapstring is not None and len(wrap := _text(wrapstring)) > 2:
        # Wrap with "\n" first (at most twice the input) and count the breaks it inserts.
        probe_args = (*args[:2], "\n", *args[3:]) if len(args) > 2 else args
        probe_kwargs = {**kwargs, "wrapstring": "\n"} if len(args) <= 2 else kwargs
        probe = _text(call(value, *probe_args, **probe_kwargs))
        _check_size(len(probe) + probe.count("\n") * (len(wrap) - 1))
    return call(value, *args, **kwargs)


def _run_format(
    call: FilterCall, context: Context, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    _check_percent(_text(value), kwargs or args)
    return call(value, *args, **kwargs)


def _run_replace(
    call: FilterCall, context: Context, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    old, new = _arg(args, kwargs, 0, "old", None), _arg(args, kwargs, 1, "new", None)
    if old is not None and new is not None:
        text, old_text, new_text = _text(value), _text(old), _text(new)
        count = _arg(args, kwargs, 2, "count", None)
        found = len(text) + 1 if not old_text else text.count(old_text)
        if isinstance(count, int) and count >= 0:
            found = min(found, count)
        _check_size(len(text) + found * (len(new_text) - len(old_text)))
    return call(value, *args, **kwargs)


def _run_join(
    call: FilterCall, context: Context, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    separator = _text(_arg(args, kwargs, 0, "d", ""))
    attribute = _arg(args, kwargs, 1, "attribute", None)
    items = list(value)
    if attribute is not None:
        items = list(map(make_attrgetter(context.environment, attribute), items))
    size = len(separator) * max(len(items) - 1, 0)
    for item in items:
        size += _text_size(item)
        _check_size(size)
    return call(items, separator)


def _run_batch(
    call: FilterCall, context: Context, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    count = _arg(args, kwargs, 0, "linecount", None)
    if isinstance(count, int):
        _check_size(count)
        if _arg(args, kwargs, 1, "fill_with", None) is not None:
            _budget().allocate(count)
    return call(value, *args, **kwargs)


def _run_slice(
    call: FilterCall, context: Context, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    count = _arg(args, kwargs, 0, "slices", None)
    if isinstance(count, int):
        _budget().allocate(max(count, 0))
    return call(value, *args, **kwargs)


def _run_tojson(
    call: FilterCall, context: Context, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    indent = _arg(args, kwargs, 0, "indent", None)
    _check_width(indent)
    pad = len(indent) if isinstance(indent, str) else indent if isinstance(indent, int) else 0
    _check_text(value, max(pad, 0))
    return call(value, *args, **kwargs)


def _run_urlize(
    call: FilterCall, context: Context, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    text = _text(value)
    extra = sum(len(_text(_arg(args, kwargs, i, n, None) or "")) for i, n in ((2, "target"), (3, "rel")))
    _check_size(len(text) + len(text.split()) * (64 + extra))
    return call(value, *args, **kwargs)


def _run_round(
    call: FilterCall, context: Context, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    _check_width(_arg(args, kwargs, 0, "precision", 0))
    return call(value, *args, **kwargs)


def _run_sum(
    call: FilterCall, context: Context, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Summing lists or tuples concatenates them: check the total first, and do it in one pass
    (``sum`` adds them one by one, quadratic in their number)."""
    attribute = _arg(args, kwargs, 0, "attribute", None)
    start = _arg(args, kwargs, 1, "start", 0)
    items = list(value)
    if attribute is not None:
        items = list(map(make_attrgetter(context.environment, attribute), items))
    if isinstance(start, _SIZED):
        _check_size(len(start) + sum(len(item) for item in items if isinstance(item, _SIZED)))
        kind = type(start)
        if kind in (list, tuple) and all(type(item) is kind for item in items):
            return kind(chain(start, *items))
    return call(items, start=start)


_RUNNERS: dict[str, Runner] = {
    "batch": _run_batch,
    "center": _run_center,
    "format": _run_format,
    "indent": _run_indent,
    "join": _run_join,
    "replace": _run_replace,
    "round": _run_round,
    "slice": _run_slice,
    "sum": _run_sum,
    "tojson": _run_tojson,
    "urlize": _run_urlize,
    "wordwrap": _run_wordwrap,
}
"""Filters whose arguments decide how much they allocate: checked before they run."""

_STRUCTURAL = frozenset(
    {
        "abs",
        "attr",
        "batch",
        "count",
        "d",
        "default",
        "dictsort",
        "first",
        "float",
        "groupby",
        "int",
        "items",
        "join",
        "last",
        "length",
        "list",
        "map",
        "max",
        "min",
        "random",
        "reject",
        "rejectattr",
        "reverse",
        "round",
        "select",
        "selectattr",
        "slice",
        "sort",
        "sum",
        "tojson",
        "unique",
    }
)
"""Filters that do not turn their value into text (the rest get the container-size check)."""

REMOVED_FILTERS = frozenset({"pprint"})
"""pprint indents nested values by their keys' length: no cheap bound, and no use in a message."""

REMOVED_GLOBALS = frozenset({"namespace", "lipsum"})
"""``namespace`` lets a loop carry a value from one iteration to the next (a string that doubles
forty times); ``lipsum(10**6)`` writes a million paragraphs. Neither belongs in a message."""


def _plain_runner(
    call: FilterCall, context: Context, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    return call(value, *args, **kwargs)


def _bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a builtin filter: count the call, check its arguments, bound and count its result.

    The wrapper takes the render context, which also keeps Jinja's optimizer from running the filter
    at compile time (``'a'|center(1000000000)`` is a constant expression)."""
    pass_arg = getattr(getattr(func, "jinja_pass_arg", None), "name", None)
    runner = _RUNNERS.get(name, _plain_runner)
    stringifies = name not in _STRUCTURAL

    def bounded(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.call()
        if stringifies:
            _check_text(value)
        if pass_arg == "context":
            call: FilterCall = functools.partial(func, context)
        elif pass_arg == "eval_context":
            call = functools.partial(func, context.eval_ctx)
        elif pass_arg == "environment":
            call = functools.partial(func, context.environment)
        else:
            call = func
        result = runner(call, context, value, args, kwargs)
        if result is not value:
            budget.produced(result)
        return result

    functools.update_wrapper(bounded, func, updated=())
    return jinja2.pass_context(bounded)


def _bounded_range(*args: int) -> range:
    numbers = range(*args)
    try:
        too_long = len(numbers) > MAX_RANGE
    except OverflowError:  # longer than sys.maxsize
        too_long = True
    if too_long:
        raise LimitExceeded(_RANGE)
    return numbers


# --------------------------------------------------------------------------- attributes

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


def _allowed_attributes(obj: Any) -> frozenset[str] | None:
    if isinstance(obj, str):
        return _STR_METHODS
    if isinstance(obj, int | float | complex):
        return _NUMBER_ATTRIBUTES
    if isinstance(obj, bytes | bytearray):
        return frozenset()
    return None


# --------------------------------------------------------------------------- compiled code


class _Buffer(list[str]):
    """The output buffer of a macro, ``{% set %}``/``{% filter %}``/``{% call %}`` block or recursive
    loop: refuses to grow past MAX_VALUE while it is being filled, not only when it is joined."""

    __slots__ = ("size",)

    def __init__(self) -> None:
        super().__init__()
        self.size = 0

    def _grow(self, size: int) -> None:
        self.size += size
        _check_size(self.size)

    def append(self, piece: str, /) -> None:
        self._grow(len(piece))
        super().append(piece)

    def extend(self, pieces: Iterable[str], /) -> None:
        pieces = tuple(pieces)
        self._grow(sum(map(len, pieces)))
        super().extend(pieces)


class _Counted:
    """The iterable of a ``{% for %}``: each item drawn costs one iteration of the budget."""

    __slots__ = ("_budget", "_items", "_source")

    def __init__(self, source: Iterable[Any], budget: Budget) -> None:
        self._source = source
        self._items = iter(source)
        self._budget = budget

    def __iter__(self) -> _Counted:
        return self

    def __next__(self) -> Any:
        item = next(self._items)
        self._budget.iteration()
        return item

    def __len__(self) -> int:  # loop.length without drawing the items when the source knows it
        return len(self._source)  # type: ignore[arg-type]  # TypeError tells LoopContext to count


class _BoundedCodeGenerator(CodeGenerator):
    """Routes ``~``, for loops and block buffers through the environment's bounded versions."""

    def buffer(self, frame: Frame) -> None:
        frame.buffer = self.temporary_identifier()
        self.writeline(f"{frame.buffer} = environment.new_buffer()")

    @optimizeconst
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:  # noqa: N802 - Jinja's visitor naming
        if frame.eval_ctx.volatile:
            markup = "context.eval_ctx.autoescape"
        else:
            markup = repr(bool(frame.eval_ctx.autoescape))
        self.write(f"environment.join(context, {markup}, (")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")

    def visit_For(self, node: nodes.For, frame: Frame) -> None:  # noqa: N802 - Jinja's visitor naming
        # Jinja forbids new node types, so the iterable is wrapped in a call of environment.iterate.
        original = node.iter
        node.iter = nodes.Call(
            nodes.EnvironmentAttribute("iterate"), [original], [], None, None, lineno=original.lineno
        )
        node.iter.set_environment(self.environment)
        try:
            super().visit_For(node, frame)
        finally:
            node.iter = original


class _BoundedTemplate(jinja2.Template):
    """Counts includes and imports as calls, and bounds an imported module's rendered body."""

    def new_context(
        self,
        vars: dict[str, Any] | None = None,
        shared: bool = False,
        locals: Mapping[str, Any] | None = None,
    ) -> Context:
        budget = _BUDGET.get()
        if budget is not None:
            budget.call()
        return super().new_context(vars, shared, locals)

    def make_module(
        self,
        vars: dict[str, Any] | None = None,
        shared: bool = False,
        locals: Mapping[str, Any] | None = None,
    ) -> TemplateModule:
        context = self.new_context(vars, shared, locals)
        body = _Buffer()
        for piece in self.root_render_func(context):
            body.append(piece)
        return TemplateModule(self, context, body)

    def render(self, *args: Any, **kwargs: Any) -> str:
        with render_budget(join=True) as budget:
            return collect(self.root_render_func(self.new_context(dict(*args, **kwargs))), budget)


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The sandbox every message template runs in (see the module docstring and the limits)."""

    intercepted_binops = frozenset({"+", "*", "**", "%", "//"})
    code_generator_class = _BoundedCodeGenerator
    template_class = _BoundedTemplate

    def __init__(self, **options: Any) -> None:
        super().__init__(finalize=_finalize, **options)
        for name in REMOVED_GLOBALS:
            self.globals.pop(name, None)
        self.globals["range"] = _bounded_range
        self.filters = {
            name: _bounded_filter(name, func)
            for name, func in self.filters.items()
            if name not in REMOVED_FILTERS
        }
        self.bytecode_cache = _code_cache(self)

    # ---- hooks the compiled code calls

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget = _budget()
        budget.check_time()
        _check_binop(operator, left, right)
        result = self.binop_table[operator](left, right)
        budget.produced(result)
        return result

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.call()
        if isinstance(obj, LoopContext) and args:  # loop(children) in a recursive loop
            args = (self.iterate(args[0]), *args[1:])
        if budget.depth >= MAX_DEPTH:
            raise LimitExceeded(_DEPTH)
        budget.depth += 1
        try:
            result = super().call(context, obj, *args, **kwargs)
        finally:
            budget.depth -= 1
        if isinstance(result, _SIZED):
            if isinstance(obj, BuiltinMethodType) and isinstance(obj.__self__, str):
                budget.produced(result)  # 'x'.upper(): a new string, like an operator's
            else:
                _check_size(len(result))
        return result

    def iterate(self, iterable: Iterable[Any]) -> _Counted:
        return _Counted(iterable, _budget())

    def join(self, context: Context, markup: bool, pieces: tuple[Any, ...]) -> str:
        """``a ~ b``: sizes are checked before joining, the result (escaped, if HTML) after."""
        budget = _budget()
        budget.check_time()
        texts = [_text(piece) for piece in pieces]
        _check_size(sum(map(len, texts)))
        joined = markup_join(texts) if markup else str_join(texts)
        budget.produced(joined)
        return joined

    def new_buffer(self) -> _Buffer:
        return _Buffer()

    def concat(self, pieces: Iterable[str]) -> str:
        """Joins block buffers (macro results, ``{% set %}`` blocks, ``self.block()``)."""
        if not isinstance(pieces, _Buffer):
            buffer = _Buffer()
            for piece in pieces:
                buffer.append(piece)
            pieces = buffer
        joined = "".join(pieces)
        _budget().allocate(len(joined))
        return joined

    # ---- attributes

    def wrap_str_format(self, value: Any) -> None:
        """str.format pads to any width (``{:999999999}``): rather than wrapping it as Jinja does,
        refuse it like every other unlisted str method (is_safe_attribute)."""

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        allowed = _allowed_attributes(obj)
        return allowed is None or attr in allowed

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        kind = type(obj).__name__
        if isinstance(obj, str) and not attribute.startswith("_"):
            hint = _STR_HINTS.get(attribute, "a filter (upper, replace, format, join, truncate …)")
            message = f"{kind}.{attribute}() is not allowed in message templates; use {hint}"
        else:
            message = f"access to attribute {attribute!r} of {kind!r} object is unsafe."
        return self.undefined(message, name=attribute, obj=obj, exc=SecurityError)


class _CodeCache(jinja2.BytecodeCache):
    """Compiled templates, shared by every environment with the same compile settings. The validator
    and each Renderer make their own Environments over the same files; without this each of them
    compiles every template again (about 3 ms a file), with it a repeat costs a dictionary lookup."""

    def __init__(self) -> None:
        self._code: OrderedDict[str, tuple[str, CodeType]] = OrderedDict()
        self._lock = threading.Lock()

    def load_bytecode(self, bucket: Bucket) -> None:
        with self._lock:
            entry = self._code.get(bucket.key)
            if entry is not None and entry[0] == bucket.checksum:  # checksum: of the source text
                self._code.move_to_end(bucket.key)
                bucket.code = entry[1]

    def dump_bytecode(self, bucket: Bucket) -> None:
        if bucket.code is not None:
            with self._lock:
                self._code[bucket.key] = (bucket.checksum, bucket.code)
                while len(self._code) > _CODE_CACHE_SIZE:
                    self._code.popitem(last=False)


_CODE_CACHE_SIZE = 2_000
_CODE_CACHES: dict[tuple[object, ...], _CodeCache] = {}


def _code_cache(env: jinja2.Environment) -> _CodeCache | None:
    """The cache for environments that compile exactly like ``env`` (same syntax and escaping)."""
    if callable(env.autoescape):
        return None
    key = (
        env.autoescape,
        env.block_start_string,
        env.block_end_string,
        env.variable_start_string,
        env.variable_end_string,
        env.comment_start_string,
        env.comment_end_string,
        env.line_statement_prefix,
        env.line_comment_prefix,
        env.trim_blocks,
        env.lstrip_blocks,
        env.newline_sequence,
        env.keep_trailing_newline,
        env.optimized,
        tuple(sorted(env.extensions)),
    )
    return _CODE_CACHES.setdefault(key, _CodeCache())


def collect(chunks: Iterable[str], budget: Budget) -> str:
    """Join rendered output, stopping at the first chunk past MAX_OUTPUT (not after joining it all).
    The clock is read every 64 chunks: producing a chunk goes through the hooks, which read it."""
    parts: list[str] = []
    for chunk in chunks:
        budget.output += len(chunk)
        if budget.output > MAX_OUTPUT:
            raise LimitExceeded(_OUTPUT)
        parts.append(chunk)
        if not len(parts) & 63:
            budget.check_time()
    return "".join(parts)
