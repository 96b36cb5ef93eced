"""Jinja's builtin filters, bounded: each call is counted, the arguments that decide how much a filter
allocates are checked before it runs, and what it returns is counted against the render's budget."""

from __future__ import annotations

import functools
from collections.abc import Callable
from itertools import chain
from typing import Any, NamedTuple

import jinja2
from jinja2.filters import make_attrgetter
from jinja2.runtime import Context

from touchpoint.sandbox import budget
from touchpoint.sandbox.bounds import check_percent, check_text, check_width, text, text_size
from touchpoint.sandbox.limits import MAX_RANGE, RANGE_LIMIT, SIZED, LimitExceeded, check_size

FilterCall = Callable[..., Any]


class _Use(NamedTuple):
    """One use of a builtin filter: the filter (bound to what it takes first), its value and arguments."""

    call: FilterCall
    context: Context
    value: Any
    args: tuple[Any, ...]
    kwargs: dict[str, Any]

    def arg(self, index: int, name: str, default: Any = None) -> Any:
        """The argument at ``index``, or given as ``name=``."""
        return self.args[index] if len(self.args) > index else self.kwargs.get(name, default)

    def run(self) -> Any:
        return self.call(self.value, *self.args, **self.kwargs)


Runner = Callable[[_Use], Any]


def _run_center(use: _Use) -> Any:
    check_width(use.arg(0, "width", 80))
    return use.run()


def _run_indent(use: _Use) -> Any:
    width = use.arg(0, "width", 4)
    check_width(width)
    value = text(use.value)
    pad = len(width) if isinstance(width, str) else max(width, 0) if isinstance(width, int) else 0
    check_size(len(value) + (value.count("\n") + 1) * pad)
    return use.run()


def _run_wordwrap(use: _Use) -> Any:
    wrapstring = use.arg(2, "wrapstring")
    if wrapstring is not None and len(wrap := text(wrapstring)) > 2:
        # Wrap with "\n" first (at most twice the input) and count the breaks it inserts.
        args, kwargs = use.args, use.kwargs
        probe_args = (*args[:2], "\n", *args[3:]) if len(args) > 2 else args
        probe_kwargs = {**kwargs, "wrapstring": "\n"} if len(args) <= 2 else kwargs
        probe = text(use.call(use.value, *probe_args, **probe_kwargs))
        check_size(len(probe) + probe.count("\n") * (len(wrap) - 1))
    return use.run()


def _run_format(use: _Use) -> Any:
    check_percent(text(use.value), use.kwargs or use.args)
    return use.run()


def _run_replace(use: _Use) -> Any:
    old, new = use.arg(0, "old"), use.arg(1, "new")
    if old is not None and new is not None:
        value, old_text, new_text = text(use.value), text(old), text(new)
        count = use.arg(2, "count")
        found = len(value) + 1 if not old_text else value.count(old_text)
        if isinstance(count, int) and count >= 0:
            found = min(found, count)
        check_size(len(value) + found * (len(new_text) - len(old_text)))
    return use.run()


def _items(use: _Use, attribute: Any) -> list[Any]:
    """The filter's value as a list, each item replaced by its ``attribute`` if one is given."""
    items = list(use.value)
    if attribute is not None:
        items = list(map(make_attrgetter(use.context.environment, attribute), items))
    return items


def _run_join(use: _Use) -> Any:
    separator = text(use.arg(0, "d", ""))
    items = _items(use, use.arg(1, "attribute"))
    size = len(separator) * max(len(items) - 1, 0)
    for item in items:
        size += text_size(item)
        check_size(size)
    return use.call(items, separator)


def _run_batch(use: _Use) -> Any:
    count = use.arg(0, "linecount")
    if isinstance(count, int):
        check_size(count)
        if use.arg(1, "fill_with") is not None:
            budget.current().allocate(count)
    return use.run()


def _run_slice(use: _Use) -> Any:
    count = use.arg(0, "slices")
    if isinstance(count, int):
        budget.current().allocate(max(count, 0))
    return use.run()


def _run_tojson(use: _Use) -> Any:
    indent = use.arg(0, "indent")
    check_width(indent)
    pad = len(indent) if isinstance(indent, str) else indent if isinstance(indent, int) else 0
    check_text(use.value, max(pad, 0))
    return use.run()


def _run_urlize(use: _Use) -> Any:
    value = text(use.value)
    extra = sum(len(text(use.arg(i, n) or "")) for i, n in ((2, "target"), (3, "rel")))
    check_size(len(value) + len(value.split()) * (64 + extra))
    return use.run()


def _run_round(use: _Use) -> Any:
    check_width(use.arg(0, "precision", 0))
    return use.run()


def _run_sum(use: _Use) -> Any:
    """Summing lists or tuples concatenates them: check the total first, and do it in one pass
    (``sum`` adds them one by one, quadratic in their number)."""
    start = use.arg(1, "start", 0)
    items = _items(use, use.arg(0, "attribute"))
    if isinstance(start, SIZED):
        check_size(len(start) + sum(len(item) for item in items if isinstance(item, SIZED)))
        kind = type(start)
        if kind in (list, tuple) and all(type(item) is kind for item in items):
            return kind(chain(start, *items))
    return use.call(items, start=start)


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
"""Filters whose arguments decide how much they allocate: checked before they run (the rest just run)."""

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


def bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a builtin filter: count the call, check its arguments, bound and count its result.

    The wrapper takes the render context, which also keeps Jinja's optimizer from running the filter
    at compile time (``'a'|center(1000000000)`` is a constant expression)."""
    pass_arg = getattr(getattr(func, "jinja_pass_arg", None), "name", None)
    runner = _RUNNERS.get(name, _Use.run)
    stringifies = name not in _STRUCTURAL

    def bounded(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        spent = budget.current()
        spent.call()
        if stringifies:
            check_text(value)
        if pass_arg == "context":
            call: FilterCall = functools.partial(func, context)
        elif pass_arg == "eval_context":
            call = functools.partial(func, context.eval_ctx)
        elif pass_arg == "environment":
            call = functools.partial(func, context.environment)
        else:
            call = func
        result = runner(_Use(call, context, value, args, kwargs))
        if result is not value:
            spent.produced(result)
        return result

    functools.update_wrapper(bounded, func, updated=())
    return jinja2.pass_context(bounded)


def bounded_range(*args: int) -> range:
    numbers = range(*args)
    try:
        too_long = len(numbers) > MAX_RANGE
    except OverflowError:  # longer than sys.maxsize
        too_long = True
    if too_long:
        raise LimitExceeded(RANGE_LIMIT)
    return numbers
