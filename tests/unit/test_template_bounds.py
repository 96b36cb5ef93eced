"""Template bombs: every way a template can spend unbounded time or memory is refused with a
TemplateError that names the limit, at the first step past it, while the real templates render
byte for byte as they did before the limits existed."""

from __future__ import annotations

import gc
import itertools
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jinja2.sandbox import ImmutableSandboxedEnvironment

from tests.conftest import JOURNEYS, REPO
from touchpoint import sandbox, templates
from touchpoint.attributes import EMPTY, ProfileSchema, profile_from_data
from touchpoint.errors import TemplateError
from touchpoint.journey.loader import load_project
from touchpoint.journey.source import read_source
from touchpoint.profiles import Profile
from touchpoint.render import Renderer
from touchpoint.sandbox import limits
from touchpoint.sandbox.budget import render_seconds, running

OUTPUT = "render output limit of 1,000,000 characters"
VALUE = "value size limit of 200,000 characters or items"
ALLOCATION = "allocation limit of 10,000,000 characters or items per render"
ITERATIONS = "loop iteration limit of 100,000 iterations"
CALLS = "call limit of 100,000 calls"
DEPTH = "call depth limit of 50 nested calls"
TIME = "render time limit of 1 second"
INTEGER = "integer size limit of 10**100"
WIDTH = "width and precision limit of 1,000"
RANGE = "range limit of 100,000 items"
NOT_ALLOWED = "is not allowed in message templates; use"


@pytest.fixture(autouse=True)
def no_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """The counters, not the clock, must stop each bomb: on a slow machine the deadline could
    otherwise be hit first and name another limit. The deadline has its own test."""
    monkeypatch.setattr(limits, "MAX_SECONDS", 3600.0)


_names = itertools.count()


def render(
    directory: Path, source: str, channel: templates.Channel = "sms", files: dict[str, str] | None = None
) -> str:
    """Render ``source`` as template ``t`` (beside ``files``) through Renderer.render, as a send does."""
    tdir = directory / templates.TEMPLATE_DIR
    tdir.mkdir(exist_ok=True)
    (tdir / f"t.{channel}.j2").write_text(source, encoding="utf-8")
    for name, text in (files or {}).items():
        (tdir / name).write_text(text, encoding="utf-8")
    rendered = Renderer(directory, EMPTY).render(channel, "t", Profile({"user_id": "u1"}), {})
    return "\n".join(p for p in (rendered.subject, rendered.text, rendered.html) if p is not None)


def refusal(
    directory: Path, source: str, channel: templates.Channel = "sms", files: dict[str, str] | None = None
) -> str:
    with pytest.raises(TemplateError) as caught:
        render(directory, source, channel, files)
    return str(caught.value)


def email(html: str, subject: str = "Hi", text: str = "Hi") -> str:
    return (
        f"{{% block subject %}}{subject}{{% endblock %}}{{% block html %}}{html}{{% endblock %}}"
        f"{{% block text %}}{text}{{% endblock %}}"
    )


DOUBLING = "|replace('a', 'aa')" * 30
BOMBS: dict[str, tuple[str, str]] = {
    # operators: intercepted, so never folded at compile time, and bounded before they allocate
    "repeat-string": ("{{ 'a' * 10**9 }}", VALUE),
    "repeat-constant": ("{{ 'a' * 1000000000 }}", VALUE),
    "repeat-list": ("{{ [1] * 10**9 }}", VALUE),
    "repeat-tuple": ("{{ (1,) * 10**9 }}", VALUE),
    "repeat-markup": ("{{ ('a'|safe) * 10**9 }}", VALUE),
    "repeat-concat-constant": ("{{ ('a' ~ 'b') * 10**9 }}", VALUE),
    "add-strings": ("{% set a = 'x' * 150000 %}{{ a + a }}", VALUE),
    "power-tower": ("{{ 9 ** (9 ** 9) }}", INTEGER),
    "power-constant": ("{{ 2 ** 100000 }}", INTEGER),
    "repeated-squaring": ("{% set x = 10**60 %}{% set y = x * x %}{{ y }}", INTEGER),
    "percent-width": ("{{ '%999999999s' % 'x' }}", WIDTH),
    "percent-star-width": ("{{ '%*s' % (10**9, 'x') }}", WIDTH),
    "percent-precision": ("{{ '%.*f' % (10**9, 1.5) }}", WIDTH),
    "percent-mapping": ("{{ '%(a)999999s' % {'a': 1} }}", WIDTH),
    "percent-of-nested-lists": ("{% set a = [[1] * 1000] * 1000 %}{{ '%s' % (a,) }}", VALUE),
    # concatenation and printing
    "tilde": ("{% set a = 'x' * 150000 %}{{ a ~ a }}", VALUE),
    "print-nested-lists": ("{% set a = [[1] * 1000] * 1000 %}{{ [a] * 100 }}", VALUE),
    "print-shared-values": ("{{ {}.fromkeys(range(100000), 'x' * 100000) }}", VALUE),
    "output": ("{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}", OUTPUT),
    # filters
    "center": ("{{ 'a'|center(10**9) }}", WIDTH),
    "center-constant": ("{{ 'a'|center(1000000000) }}", WIDTH),
    "center-filter-block": ("{% filter center(10**9) %}x{% endfilter %}", WIDTH),
    "format-filter": ("{{ '%999999s'|format('x') }}", WIDTH),
    "format-filter-precision": ("{{ '%.999999f'|format(1.0) }}", WIDTH),
    "replace-chain": ("{{ 'aa'" + DOUBLING + " }}", VALUE),
    "indent": ("{{ ('\\n' * 100000)|indent(1000, blank=true) }}", VALUE),
    "indent-width": ("{{ 'a\\nb'|indent(10**9) }}", WIDTH),
    "wordwrap": ("{{ ('a ' * 50000)|wordwrap(1, wrapstring='x' * 10000) }}", VALUE),
    "replace-with-long": ("{{ ('a' * 100000)|replace('a', 'x' * 100000) }}", VALUE),
    "urlize-target": ("{{ ('a.com ' * 30000)|urlize(target='x' * 100000) }}", VALUE),
    "join": ("{{ range(100000)|join('x' * 1000) }}", VALUE),
    "join-shared-values": ("{{ {}.fromkeys(range(100000), 'x' * 100000).values()|join }}", VALUE),
    "batch": ("{{ [1]|batch(10**9, 0)|list|length }}", VALUE),
    "slice": ("{{ [1]|slice(10**9)|list|length }}", VALUE),
    "tojson-indent": ("{{ [1, 2]|tojson(indent=10**9) }}", WIDTH),
    "round-precision": ("{{ 5|round(-10**9) }}", WIDTH),
    "forceescape-chain": ("{{ ('&' * 100000)|forceescape|forceescape|length }}", VALUE),
    "urlencode-chain": ("{{ ('%' * 100000)|urlencode|urlencode|length }}", VALUE),
    "map-center": ("{{ range(20000)|map('center', 1000)|list|length }}", ALLOCATION),
    "sum-strings": ("{{ ['x' * 150000, 'y' * 150000]|sum(start='') }}", VALUE),
    # loops, ranges, calls
    "range-list": ("{{ range(10**9)|list }}", RANGE),
    "nested-loops": (
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        ITERATIONS,
    ),
    "loop-over-string": ("{% for c in 'a' * 200000 %}{% endfor %}", ITERATIONS),
    "recursive-loop": ("{% for x in [1] recursive %}{{ loop([1, 1]) }}{% endfor %}", DEPTH),
    "recursive-macro": ("{% macro f(n) %}{{ f(n - 1) }}{{ f(n - 1) }}{% endmacro %}{{ f(40) }}", DEPTH),
    "forking-macro": (
        "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}",
        CALLS,
    ),
    "doubling-macro": (
        "{% macro f(n) %}{% if n %}{% set s = f(n - 1) %}{{ s }}{{ s }}{% else %}ab{% endif %}{% endmacro %}"
        "{{ f(40) }}",
        VALUE,
    ),
    "macro-buffer": (
        "{% macro f() %}{% for i in range(1000) %}{{ 'x' * 1000 }}{% endfor %}{% endmacro %}{{ f()|length }}",
        VALUE,
    ),
    "set-block": (
        "{% set x %}{% for i in range(10000) %}{{ 'y' * 100 }}{% endfor %}{% endset %}{{ x|length }}",
        VALUE,
    ),
    "caller-twice": (
        "{% macro m() %}{{ caller() }}{{ caller() }}{% endmacro %}"
        "{% call m() %}{{ 'z' * 150000 }}{% endcall %}",
        VALUE,
    ),
    "self-block": ("{% block a %}{{ self.a() }}{% endblock %}", DEPTH),
    "forking-blocks": (
        "{% block b0 %}x{% endblock %}"
        + "".join(
            f"{{% block b{i} %}}{{{{ self.b{i - 1}() }}}}{{{{ self.b{i - 1}() }}}}{{% endblock %}}"
            for i in range(1, 30)
        ),
        CALLS,
    ),
    "str-method-result": ("{{ ('ß' * 150000).upper()|length }}", VALUE),
    "str-method-results": (
        "{% set big = 'x' * 150000 %}{% macro f() %}{% for i in range(100) %}{% set y = big.upper() %}"
        "{% endfor %}{% endmacro %}{{ f() }}",
        ALLOCATION,
    ),
    "macro-buffer-of-method-results": (
        "{% set big = 'x' * 150000 %}{% macro f() %}{% for i in range(100000) %}{{ big.upper() }}"
        "{% endfor %}{% endmacro %}{{ f()|length }}",
        VALUE,
    ),
    "block-replayed-by-self": (
        "{% if false %}{% block a %}{% set big = 'x' * 150000 %}{% for i in range(100000) %}{{ big }}"
        "{% endfor %}{% endblock %}{% endif %}{{ self.a()|length }}",
        VALUE,
    ),
    "recursive-loop-iterations": (
        "{% for x in [0] recursive %}{% if not x %}{{ loop(range(1, 100001)) }}{% endif %}{% endfor %}",
        ITERATIONS,
    ),
    "stringify-nested-lists": ("{% set a = [[1] * 1000] * 1000 %}{{ ([a] * 100)|string|length }}", VALUE),
    "method-calls": ("{% for i in range(100000) %}{{ 'a'.upper() }}{{ 'b'.upper() }}{% endfor %}", CALLS),
}
"""name → (template, the limit its refusal names)."""

SANDBOX: dict[str, tuple[str, str]] = {
    "str-format": ('{{ "{:999999999}".format(1) }}', "str.format() is not allowed"),
    "str-format-map": ('{{ "{a:999999999}".format_map({"a": 1}) }}', "str.format_map() is not allowed"),
    "ljust": ("{{ 'x'.ljust(10**9) }}", "str.ljust() is not allowed"),
    "rjust": ("{{ 'x'.rjust(10**9) }}", "str.rjust() is not allowed"),
    "str-center": ("{{ 'x'.center(10**9) }}", "str.center() is not allowed"),
    "zfill": ("{{ 'x'.zfill(10**9) }}", "str.zfill() is not allowed"),
    "expandtabs": ("{{ '\\t'.expandtabs(10**9) }}", "str.expandtabs() is not allowed"),
    "str-replace": ("{{ 'a'.replace('a', 'aa') }}", "str.replace() is not allowed"),
    "str-join": ("{{ ''.join(['a']) }}", "str.join() is not allowed"),
    "encode": ("{{ 'a'.encode() }}", "str.encode() is not allowed"),
    "to-bytes": ("{{ (1).to_bytes(10**9, 'big') }}", "'to_bytes' of 'int' object is unsafe"),
}


@pytest.mark.parametrize(("source", "limit"), BOMBS.values(), ids=BOMBS.keys())
def test_a_bomb_is_refused_with_the_limit_it_exceeds(tmp_path: Path, source: str, limit: str) -> None:
    assert refusal(tmp_path, source) == f"template t.sms.j2 exceeds the {limit}"


SLOW = {"forking-macro", "forking-blocks", "method-calls", "nested-loops"}
"""Bombs that take the full 100,000 calls or iterations to stop: rendered once, as an SMS, only."""
FAST = {k: v for k, v in BOMBS.items() if k not in SLOW}


@pytest.mark.parametrize(("source", "limit"), FAST.values(), ids=FAST.keys())
def test_a_bomb_in_an_email_is_refused_in_either_environment(tmp_path: Path, source: str, limit: str) -> None:
    assert refusal(tmp_path, email(source), "email") == f"template t.email.j2 exceeds the {limit}"
    assert refusal(tmp_path, email("x", text=source), "email") == f"template t.email.j2 exceeds the {limit}"


@pytest.mark.parametrize(("source", "limit"), FAST.values(), ids=FAST.keys())
def test_a_bomb_is_refused_before_it_allocates(tmp_path: Path, source: str, limit: str) -> None:
    """A limit checked only after building the value would still give the right message: the
    peak memory of the refused render shows it was checked before (a bomb needs gigabytes)."""
    tracemalloc.start()
    try:
        refusal(tmp_path, source)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20


@pytest.mark.parametrize(("source", "message"), SANDBOX.values(), ids=SANDBOX.keys())
def test_unbounded_str_methods_are_refused_with_what_to_use(
    tmp_path: Path, source: str, message: str
) -> None:
    refused = refusal(tmp_path, source)
    assert refused.startswith("t.sms.j2: blocked by the sandbox: ")
    assert message in refused


def test_the_refusal_names_the_alternative(tmp_path: Path) -> None:
    assert refusal(tmp_path, "{{ 'x'.ljust(5) }}").endswith(
        f"str.ljust() {NOT_ALLOWED} a %-format such as '%-20s'|format(value) (width up to 1,000)"
    )


@pytest.mark.parametrize("name", ["namespace", "lipsum"])
def test_namespace_and_lipsum_are_gone(tmp_path: Path, name: str) -> None:
    refused = refusal(tmp_path, f"{{{{ {name}() }}}}")
    assert f"'{name}' is undefined" in refused


def test_pprint_is_gone(tmp_path: Path) -> None:
    assert "No filter named 'pprint'" in refusal(tmp_path, "{{ [1]|pprint }}")


def test_a_template_that_includes_itself_stops(tmp_path: Path) -> None:
    refused = refusal(tmp_path, '{% include "t.sms.j2" %}')
    assert refused in {
        f"template t.sms.j2 exceeds the {DEPTH}",
        "template t.sms.j2 nests too deeply (Python's recursion limit)",
    }


def test_forking_includes_are_counted(tmp_path: Path) -> None:
    """A chain of partials that each include the previous one twice: 2**30 includes."""
    files = {"p0.j2": "x"} | {f"p{i}.j2": f'{{% include "p{i - 1}.j2" %}}' * 2 for i in range(1, 31)}
    refused = refusal(tmp_path, '{% include "p30.j2" %}', files=files)
    assert refused == f"template t.sms.j2 exceeds the {CALLS}"


def test_forking_includes_without_context_are_bounded(tmp_path: Path) -> None:
    """Such includes render the partial once and replay its cached body: bounded as it is built."""
    files = {"p0.j2": "x" * 1000} | {
        f"p{i}.j2": f'{{% include "p{i - 1}.j2" without context %}}' * 2 for i in range(1, 31)
    }
    assert refusal(tmp_path, '{% include "p30.j2" without context %}', files=files) == (
        f"template t.sms.j2 exceeds the {VALUE}"
    )


def test_python_errors_of_the_template_become_template_errors(tmp_path: Path) -> None:
    assert (
        refusal(tmp_path, "{{ 1 // 0 }}") == "t.sms.j2: ZeroDivisionError: integer division or modulo by zero"
    )
    assert refusal(tmp_path, "{{ 10.0 ** 400 }}").startswith("t.sms.j2: OverflowError: ")
    assert refusal(tmp_path, "{{ 'a' - 1 }}").startswith("t.sms.j2: TypeError: ")


# --------------------------------------------------------------------------- the limits themselves


def test_each_limit_allows_exactly_its_value(tmp_path: Path) -> None:
    """One past each limit is refused and the limit itself is not: a changed limit fails here."""
    cases = [
        (
            f"{{{{ ('a' * {sandbox.MAX_VALUE})|length }}}}",
            f"{{{{ ('a' * {sandbox.MAX_VALUE + 1})|length }}}}",
            VALUE,
        ),
        (
            f"{{% for i in range(10) %}}{{{{ 'x' * {sandbox.MAX_OUTPUT // 10} }}}}{{% endfor %}}",
            f"{{% for i in range(10) %}}{{{{ 'x' * {sandbox.MAX_OUTPUT // 10} }}}}{{% endfor %}}!",
            OUTPUT,
        ),
        (
            f"{{% for i in range({sandbox.MAX_ITERATIONS}) %}}{{% endfor %}}",
            f"{{% for i in range({sandbox.MAX_ITERATIONS}) %}}{{% endfor %}}"
            "{% for i in [1] %}{% endfor %}",
            ITERATIONS,
        ),
        (
            f"{{{{ range({sandbox.MAX_RANGE})|length }}}}",
            f"{{{{ range({sandbox.MAX_RANGE + 1})|length }}}}",
            RANGE,
        ),
        ("{{ (10 ** 100)|string|length }}", "{{ 10 ** 100 + 1 }}", INTEGER),
        (
            f"{{{{ '%{sandbox.MAX_WIDTH}s' % 'x' }}}}",
            f"{{{{ '%{sandbox.MAX_WIDTH + 1}s' % 'x' }}}}",
            WIDTH,
        ),
        (
            "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(48) }}",
            "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(50) }}",
            DEPTH,
        ),
        (
            "{% macro f() %}{% endmacro %}{% for i in range(99000) %}{{ f() }}{% endfor %}",
            "{% macro f() %}{% endmacro %}{% for i in range(100000) %}{{ f() }}{% endfor %}",
            CALLS,
        ),
        (
            "{{ range(9900)|map('center', 1000)|list|length }}",
            "{{ range(10100)|map('center', 1000)|list|length }}",
            ALLOCATION,
        ),
    ]
    for allowed, refused, limit in cases:
        render(tmp_path, allowed)
        assert refusal(tmp_path, refused) == f"template t.sms.j2 exceeds the {limit}", refused


def test_the_output_limit_counts_all_parts_of_an_email(tmp_path: Path) -> None:
    part = "{% for i in range(4000) %}{{ 'x' * 100 }}{% endfor %}"  # 400,000 characters
    render(tmp_path, email(part, subject="s", text=part), "email")
    assert (
        refusal(tmp_path, email(part, subject=part, text=part), "email")
        == f"template t.email.j2 exceeds the {OUTPUT}"
    )


def test_budgets_start_afresh_for_every_render(tmp_path: Path) -> None:
    source = "{% for i in range(60000) %}{% endfor %}{% for i in range(6000) %}{{ 'x' * 100 }}{% endfor %}"
    render(tmp_path, "{{ 1 }}")
    renderer = Renderer(tmp_path, EMPTY)
    (tmp_path / "templates" / "t.sms.j2").write_text(source, encoding="utf-8")
    profile = Profile({"user_id": "u1"})
    for _ in range(3):
        assert len(renderer.render("sms", "t", profile, {}).text) == 600_000
    assert running() is None


def test_the_deadline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_SECONDS", -1.0)  # every check is already too late
    assert (
        refusal(tmp_path, "{% for i in range(3) %}{{ i }}{% endfor %}")
        == f"template t.sms.j2 exceeds the {TIME}"
    )
    assert (
        refusal(tmp_path, "{% macro f() %}{% endmacro %}{{ f() }}") == f"template t.sms.j2 exceeds the {TIME}"
    )


def test_the_deadline_counts_cpu_time_not_the_wall_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """A render waiting on a busy machine is not a runaway template (50,000 users lost two welcome
    emails to a wall-clock limit); a render spinning the CPU is."""
    monkeypatch.setattr(limits, "MAX_SECONDS", 0.05)
    with sandbox.render_budget() as budget:
        time.sleep(0.1)
        budget.check_time()
    with sandbox.render_budget() as budget:
        start = time.thread_time()
        while time.thread_time() < start + 0.1:
            pass
        with pytest.raises(sandbox.LimitExceeded, match=TIME):
            budget.check_time()


def test_garbage_collection_is_not_charged_to_the_render() -> None:
    heap = [[i] for i in range(1_000_000)]  # a large heap, as in a long simulation
    cpu, charged = time.thread_time(), render_seconds()
    gc.collect()
    cpu, charged = time.thread_time() - cpu, render_seconds() - charged
    assert len(heap) == 1_000_000
    assert cpu > 0.0  # the collection took measurable CPU...
    assert charged < cpu / 10  # ...and almost none of it is the render's


COMPILE_BOMBS = [
    "{{ 'a' * 1000000 }}",
    "{{ 2 ** 100000 }}",
    "{{ 'a'|center(1000000) }}",
    "{{ '%1000000s' % 'x' }}",
    "{{ '%1000000s'|format('x') }}",
    "{{ 'ab' ~ ('a' * 1000000) }}",
    "{{ [1] * 1000000 }}",
    "{{ 'a' + 'a'|center(1000000) }}",
    "{{ 7 // 2 }}{{ 1000000 * 'x' }}",
]


@pytest.mark.parametrize("source", COMPILE_BOMBS)
def test_compiling_evaluates_nothing(source: str) -> None:
    """Jinja folds constant expressions while compiling; a folded bomb would be built here, outside
    any budget. It is not: the compiled code stays small and no render hook runs (outside a
    render budget a hook raises)."""
    for env in (sandbox.BoundedSandbox(autoescape=True), sandbox.BoundedSandbox()):
        code = env.compile(source, raw=True)
        assert len(code) < 5_000
        env.from_string(source)


def test_a_deeply_nested_template_is_a_template_error(tmp_path: Path) -> None:
    refused = refusal(tmp_path, "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}")
    assert refused == "template t.sms.j2 nests too deeply (Python's recursion limit)"


def test_hooks_refuse_to_run_outside_a_render_budget() -> None:
    template = sandbox.BoundedSandbox().from_string("{% for i in [1] %}{{ i }}{% endfor %}")
    assert template.render() == "1"  # Template.render starts its own budget
    with pytest.raises(RuntimeError, match="outside a render budget"):
        "".join(template.root_render_func(template.new_context({})))


# --------------------------------------------------------------------------- real templates


def _unbounded(directory: Path) -> tuple[jinja2.Environment, jinja2.Environment]:
    """The environments as they were before the limits: plain ImmutableSandboxedEnvironments."""
    common: dict[str, Any] = {
        "loader": jinja2.FileSystemLoader(str(directory)),
        "undefined": jinja2.StrictUndefined,
        "keep_trailing_newline": False,
        "auto_reload": False,
    }
    return ImmutableSandboxedEnvironment(autoescape=False, **common), ImmutableSandboxedEnvironment(
        autoescape=True, **common
    )


def _reference(
    envs: tuple[jinja2.Environment, jinja2.Environment], channel: str, file: str, context: dict[str, Any]
) -> tuple[str | None, ...]:
    """Rendering as it was before the limits (Renderer.render's code of then)."""
    plain, html = envs
    if channel == "sms":
        return (None, plain.get_template(file).render(dict(context)).strip(), None)
    parts: dict[str, str] = {}
    for env, blocks in ((plain, ("subject", "text")), (html, ("html",))):
        template = env.get_template(file)
        ctx = template.new_context(dict(context))
        parts |= {name: "".join(template.blocks[name](ctx)).strip() for name in blocks}
    return (" ".join(parts["subject"].split()), parts["text"], parts["html"])


def _profiles(schema: ProfileSchema) -> Iterator[dict[str, Any]]:
    yield {"user_id": "u1"}
    values = {"string": 'Mei & <Co> "quoted"', "number": 3, "boolean": True, "date": "2026-12-10"}
    full = {"user_id": "u2", "cart_items": 2, "cart_value": 59.5, "orders_count": 4, "total_spent": 310.25}
    for name in schema.names:
        attribute = schema.get(name)
        if attribute is not None and name not in full:
            full[name] = (
                values.get(attribute.type, "2026-12-01T08:00:00Z")
                if attribute.type != "list"
                else ["beans", "<mugs>"]
            )
    yield full
    yield {**full, "nickname": "A much longer nickname", "cart_items": 1, "points": 0}


def test_the_example_templates_render_exactly_as_before() -> None:
    schema = profile_from_data(read_source(JOURNEYS / "profile.yaml").data)
    renderer = Renderer(JOURNEYS, schema)
    unbounded = _unbounded(JOURNEYS / templates.TEMPLATE_DIR)
    compared = 0
    for key, variants in renderer.catalog.variants.items():
        for locale, file in variants.items():
            for data, journey in itertools.product(
                _profiles(schema), ("b2b-whitepaper", "membership-expiry", "welcome")
            ):
                profile = Profile({**data, "locale": locale} if locale else data)
                extra = {
                    "unsubscribe_url": "https://u.example.com/?t=a&b",
                    "journey_id": journey,
                    "step_id": "s1",
                }
                context = {
                    **schema.defaults(),
                    **{k: v for k, v in profile.template_context().items() if v is not None and v != ""},
                    **extra,
                }
                try:
                    expected: tuple[str | None, ...] | str = _reference(unbounded, key.channel, file, context)
                except jinja2.UndefinedError as error:
                    expected = error.message or ""
                try:
                    rendered = renderer.render(key.channel, key.name, profile, extra)
                    actual: tuple[str | None, ...] | str = (rendered.subject, rendered.text, rendered.html)
                    assert rendered.file == file
                except TemplateError as error:
                    actual = str(error).removeprefix(f"{file}: ").split(";")[0]
                assert actual == expected, (file, data)
                compared += 1
    assert compared >= 48 * 3 * 3


SNIPPETS = [
    "{{ '<a>' ~ name ~ 1 }}",
    "{% autoescape false %}{{ '<b>' ~ name }}{% endautoescape %}{{ '<c>' ~ name }}",
    "{% macro m(x) %}<i>{{ x }}</i>{% endmacro %}{{ m(name) }}{{ m('<&>') ~ '!' }}",
    "{% set s %}<{{ name }}>{% endset %}{{ s }}|{{ s|length }}",
    "{% macro c() %}[{{ caller() }}]{% endmacro %}{% call c() %}{{ name }}{% endcall %}",
    "{% filter upper %}{{ name }} & co{% endfilter %}",
    "{% for x in items %}{{ loop.index }}/{{ loop.length }}:{{ x }}{{ ',' if not loop.last }}"
    "{% else %}-{% endfor %}",
    "{% for x in items if x != 'b' %}{{ loop.revindex }}{{ x }}{% endfor %}"
    "{% for x in [] %}{% else %}none{% endfor %}",
    "{% for x in [[1, [2, 3]], 4] recursive %}"
    "{% if x is iterable %}({{ loop(x) }}){% else %}{{ x }}{% endif %}{% endfor %}",
    "{{ '%s has %d items costing %.2f' % (name, 3, 9.5) }} {{ '%-6s|'|format(name) }}"
    "{{ '%(a)s'|format(a=1) }}",
    "{{ items|join(', ') }} {{ items|map('upper')|join }} {{ [[1], [2]]|sum(start=[]) }}"
    "{{ [(1,), (2,)]|sum(start=()) }} {{ [1, 2.5]|sum }}",
    "{{ name|center(20) }}|{{ 'a\\nb'|indent(2, first=true) }}|{{ 'x y z'|wordwrap(3, wrapstring='<br>') }}",
    "{{ name|replace('i', '<i>') }} {{ name|truncate(5) }} {{ 'see a.com & b'|urlize }}"
    "{{ {'a': '<'}|tojson }}",
    "{{ 2 ** 10 }} {{ 7 // 2 }} {{ 7 % 3 }} {{ 'ab' * 3 }} {{ [1] + [2] }} {{ 1.5 * 2 }}"
    "{{ -3 ** 2 }} {{ 2 * 'x' }}",
    "{{ items }} {{ {'k': items} }} {{ (1, 'a') }} {{ none }} {{ 10 ** 20 }} {{ items|batch(2)|list }}",
    "{{ self.subject() }} {{ range(3)|list }} {{ dict(a=1).a }} {{ items|slice(2)|list }}"
    "{{ (1.0).is_integer() }}",
    '{% include "part.j2" %}{% import "macros.j2" as m %}{{ m.hi(name) }}{% from "macros.j2" import hi %}'
    '{{ hi("x") }}{% include "part.j2" without context %}',
    "{{ name.upper() }} {{ name.split('i') }} {{ 'a,b'.split(',')|length }} {{ name|e }}"
    "{{ name|forceescape }}",
    "{{ items|first }}{{ items|last }}{{ items|reverse|list }}{{ items|sort|join }}"
    "{{ items|unique|list }}{{ 'ab'|list }}",
]
"""The constructs the bounded sandbox compiles or wraps differently, in both environments."""


def test_what_the_sandbox_wraps_renders_as_before(tmp_path: Path) -> None:
    tdir = tmp_path / templates.TEMPLATE_DIR
    tdir.mkdir()
    (tdir / "part.j2").write_text("<p>{{ name | default('nobody') }}</p>", encoding="utf-8")
    (tdir / "macros.j2").write_text("{% macro hi(n) %}hi <{{ n }}>{% endmacro %}", encoding="utf-8")
    for i, snippet in enumerate(SNIPPETS):
        (tdir / f"s{i}.email.j2").write_text(email(snippet, subject=f"S{i} & <{{{{ name }}}}>", text=snippet))
    renderer, unbounded = Renderer(tmp_path, EMPTY), _unbounded(tdir)
    values: dict[str, Any] = {"name": "Li<&>", "items": ["a", "b", "<c>"]}
    for i, snippet in enumerate(SNIPPETS):
        rendered = renderer.render("email", f"s{i}", Profile({"user_id": "u1", **values}), {})
        expected = _reference(unbounded, "email", f"s{i}.email.j2", {"user_id": "u1", **values})
        assert (rendered.subject, rendered.text, rendered.html) == expected, snippet


# --------------------------------------------------------------------------- any template at all

_atoms = st.one_of(
    st.integers(-3, 300_000).map(str),
    st.sampled_from(
        ["'a'", "'ab'", "''", "'%s'", "'%5d'", "'x%'", "name", "n", "x", "[1, 2]", "[]", "range(n)", "1.5"]
    ),
)


def _combine(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    operators = st.sampled_from(["+", "-", "*", "/", "//", "%", "**", "~"])
    filters = st.sampled_from(
        [
            "length",
            "string",
            "upper",
            "list",
            "center(50)",
            "replace('a', 'aa')",
            "join(',')",
            "sum",
            "first",
            "int",
        ]
    )
    return st.one_of(
        st.tuples(inner, operators, inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(inner, filters).map(lambda t: f"({t[0]}|{t[1]})"),
        inner.map(lambda e: f"range({e})"),
    )


_expressions = st.recursive(_atoms, _combine, max_leaves=6)


def _blocks(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.lists(inner, min_size=1, max_size=3).map("".join),
        st.tuples(_expressions, inner).map(lambda t: f"{{% for x in {t[0]} %}}{t[1]}{{% endfor %}}"),
        st.tuples(_expressions, inner).map(lambda t: f"{{% set y = {t[0]} %}}{t[1]}{{{{ y }}}}"),
    )


_templates = st.recursive(_expressions.map(lambda e: f"{{{{ {e} }}}}"), _blocks, max_leaves=5)


@pytest.fixture(scope="module")
def random_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("random")
    (directory / templates.TEMPLATE_DIR).mkdir()
    return directory


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=_templates)
def test_any_template_renders_or_fails_with_a_template_error(random_dir: Path, source: str) -> None:
    name = f"r{next(_names)}"
    (random_dir / templates.TEMPLATE_DIR / f"{name}.sms.j2").write_text(source, encoding="utf-8")
    renderer = Renderer(random_dir, EMPTY)
    try:
        rendered = renderer.render("sms", name, Profile({"user_id": "u1", "name": "Li"}), {"n": 5})
    except TemplateError:
        return
    assert len(rendered.text) <= sandbox.MAX_OUTPUT


# --------------------------------------------------------------------------- validate


JOURNEY = """schema: touchpoint/v1
id: j
name: J
owner: qa@example.com
timezone: Asia/Shanghai
trigger: {event: user.registered}
audience: {consent: email}
steps:
  - send: {channel: email, template: t}
"""


def _validate(directory: Path, files: dict[str, str]) -> list[str]:
    (directory / "j.yaml").write_text(JOURNEY, encoding="utf-8")
    catalogue = "schema: touchpoint/events-v1\nevents: {user.registered: {}}\n"
    (directory / "events.yaml").write_text(catalogue, encoding="utf-8")
    tdir = directory / templates.TEMPLATE_DIR
    tdir.mkdir(exist_ok=True)
    for name, text in files.items():
        (tdir / name).write_text(text, encoding="utf-8")
    return [str(v) for v in load_project([directory / "j.yaml"], cwd=directory).all_violations()]


def test_validate_refuses_a_bomb_at_its_line(tmp_path: Path) -> None:
    source = email(
        "\n<p>Hi</p>\n{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}\n"
    )
    assert _validate(tmp_path, {"t.email.j2": source}) == [
        f"./templates/t.email.j2:3: template cannot be rendered within the limits: exceeds the {ITERATIONS}"
    ]


def test_validate_points_at_the_partial_with_the_bomb(tmp_path: Path) -> None:
    source = email('{% include "_p.j2" %}')
    assert _validate(tmp_path, {"t.email.j2": source, "_p.j2": "ok\n{{ 'x' * 10**9 }}"}) == [
        f"./templates/_p.j2:2: template cannot be rendered within the limits: exceeds the {VALUE}"
    ]


def test_validate_refuses_what_the_sandbox_blocks(tmp_path: Path) -> None:
    assert _validate(tmp_path, {"t.email.j2": email("{{ 'x'.ljust(10) }}")}) == [
        "./templates/t.email.j2:1: template is refused by the sandbox: str.ljust() is not allowed in message "
        "templates; use a %-format such as '%-20s'|format(value) (width up to 1,000)"
    ]


def test_validate_reports_an_unknown_variable_once_and_still_finds_the_bomb(tmp_path: Path) -> None:
    source = email("{{ nick }}\n{{ 'x' * 10**9 }}")
    assert _validate(tmp_path, {"t.email.j2": source}) == [
        f"./templates/t.email.j2:2: template cannot be rendered within the limits: exceeds the {VALUE}",
        'j.yaml:9 steps[0].send.template: t.email.j2 uses "nick", which is not a profile attribute; '
        "declare it in ./profile.yaml",
    ]


def test_validate_explains_namespace(tmp_path: Path) -> None:
    source = email("{% set ns = namespace(a=1) %}{{ ns.a }}")
    assert _validate(tmp_path, {"t.email.j2": source}) == [
        'j.yaml:9 steps[0].send.template: t.email.j2 uses "namespace", which message templates cannot use '
        "(it can grow output without bound)"
    ]


def test_validate_accepts_the_example_journeys() -> None:
    assert load_project([JOURNEYS], cwd=REPO).all_violations() == []


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (RecursionError("maximum recursion depth exceeded"), "nests too deeply (Python's recursion limit)"),
        (MemoryError(), "runs out of memory"),
        (sandbox.LimitExceeded(ITERATIONS), f"exceeds the {ITERATIONS}"),
        (OverflowError("(34, 'Numerical result out of range')"), None),
    ],
    ids=["recursion", "memory", "limit", "overflow"],
)
def test_the_send_and_the_validator_classify_a_failed_render_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException, reason: str | None
) -> None:
    """Python's recursion and memory limits are limits of the render, in the same words at both; an
    OverflowError (10.0 ** 400) is the template's own arithmetic, like 1/0: the validator leaves it to
    the send, which names it."""
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "t.email.j2").write_text(email("x"), encoding="utf-8")
    renderer = Renderer(tmp_path, EMPTY)

    def fail(*args: object) -> templates.Message:
        raise error

    monkeypatch.setattr(templates, "render_message", fail)
    with pytest.raises(TemplateError) as caught:
        renderer.render("email", "t", Profile({"user_id": "u1"}), {})
    violations = _validate(tmp_path, {})
    if reason is None:
        assert str(caught.value) == f"t.email.j2: {type(error).__name__}: {error}"
        assert violations == []
    else:
        assert str(caught.value) == f"template t.email.j2 {reason}"
        assert violations == [
            f"./templates/t.email.j2:1: template cannot be rendered within the limits: {reason}"
        ]
