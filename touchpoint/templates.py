"""Message templates: where they live, how they are parsed, which variables they use.

Files sit in ``templates/`` beside the journeys: ``<name>.email.j2`` (blocks ``subject``,
``html``, ``text``) and ``<name>.sms.j2`` (the body), with optional language variants
``<name>.<locale>.<channel>.j2`` (``cart-coupon.zh.email.j2``). The validator and the send
functions use this one module, so what validates is what renders.

Rendering is always sandboxed. HTML is autoescaped; subject and text are not (an ``&`` in a
subject must stay an ``&``), so each file is compiled in two environments that share the loader.

Both environments are a bounded sandbox (``touchpoint/sandbox/``): a template that would
build a gigabyte, loop a billion times or recurse without end is refused with the limit it hit."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import jinja2
from jinja2 import meta, nodes

from touchpoint.sandbox import BoundedSandbox, Budget, collect, render_budget

Channel = Literal["email", "sms"]
EMAIL_BLOCKS = ("subject", "html", "text")
TEMPLATE_DIR = "templates"
_FILE = re.compile(
    r"^(?P<name>[a-z0-9][a-z0-9_-]*)(?:\.(?P<locale>[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})?))?"
    r"\.(?P<channel>email|sms)\.j2$"
)

# --------------------------------------------------------------------------- catalog


@dataclass(frozen=True)
class TemplateKey:
    name: str
    channel: Channel


@dataclass
class Catalog:
    """Template files of one directory: ``variants[key][locale or ""]`` → file name."""

    directory: Path
    variants: dict[TemplateKey, dict[str, str]] = field(default_factory=dict)

    def locales(self, name: str, channel: Channel) -> dict[str, str]:
        return self.variants.get(TemplateKey(name, channel), {})

    def pick(self, name: str, channel: Channel, locale: str | None) -> str | None:
        """File for the profile's locale: ``zh-CN`` tries ``zh-CN``, then ``zh``, then the default."""
        files = self.locales(name, channel)
        for candidate in _locale_chain(locale):
            if candidate in files:
                return files[candidate]
        return None


def _locale_chain(locale: str | None) -> list[str]:
    chain: list[str] = []
    if locale:
        chain.append(locale)
        if "-" in locale:
            chain.append(locale.split("-", 1)[0])
    chain.append("")
    return chain


def scan(directory: Path) -> Catalog:
    catalog = Catalog(directory)
    if directory.is_dir():
        for path in sorted(directory.iterdir()):
            match = _FILE.fullmatch(path.name)
            if match:
                key = TemplateKey(match["name"], match["channel"])  # type: ignore[arg-type]
                catalog.variants.setdefault(key, {})[match["locale"] or ""] = path.name
    return catalog


class Environments:
    """The two sandboxed environments over one template directory."""

    def __init__(self, directory: Path) -> None:
        loader = jinja2.FileSystemLoader(str(directory))
        common: dict[str, Any] = {
            "loader": loader,
            "undefined": jinja2.StrictUndefined,
            "keep_trailing_newline": False,
            "auto_reload": False,
        }
        self.html = BoundedSandbox(autoescape=True, **common)
        self.plain = BoundedSandbox(autoescape=False, **common)
        self.inspected: dict[str, Inspection] = {}

    def source(self, file_name: str) -> str:
        loader = self.plain.loader
        assert loader is not None
        return loader.get_source(self.plain, file_name)[0]


@dataclass(frozen=True)
class Inspection:
    """What the validator needs to know about one template file."""

    blocks: frozenset[str]
    variables: frozenset[str]
    unguarded: tuple[tuple[str, int, str], ...] = ()  # see unguarded_reads


def inspect(envs: Environments, file_name: str) -> Inspection:
    """Parse without rendering, following ``{% include "partial" %}``; raises
    jinja2.TemplateSyntaxError (with the line) or jinja2.TemplateNotFound for a missing partial.
    Cached per environment: many journeys send the same template."""
    if file_name not in envs.inspected:
        try:
            envs.inspected[file_name] = _inspect(envs, file_name)
        except RecursionError:
            raise jinja2.TemplateSyntaxError("template is nested too deeply", 1, file_name) from None
    return envs.inspected[file_name]


def _inspect(envs: Environments, file_name: str) -> Inspection:
    tree = envs.plain.parse(envs.source(file_name), file_name)
    blocks = {block.name for block in tree.find_all(nodes.Block)}
    variables = set(meta.find_undeclared_variables(tree))
    unguarded = [(file_name, line, name) for name, line in _reads(tree, frozenset())]
    for include in meta.find_referenced_templates(tree):
        if include is not None and include != file_name:
            included = inspect(envs, include)
            variables |= included.variables
            unguarded += included.unguarded
    return Inspection(frozenset(blocks), frozenset(variables), tuple(unguarded))


#: Filters that give a missing value a replacement, and tests that ask whether it is there.
_DEFAULTING = frozenset({"default", "d"})
_PRESENCE = frozenset({"defined", "undefined"})


def unguarded_reads(envs: Environments, file_name: str) -> list[tuple[str, int, str]]:
    """``(template file, line, name)`` of every variable read that fails when the value is missing:
    not under ``| default(…)`` and not inside ``{% if name is defined %}``. Templates render with
    StrictUndefined, so such a read fails the send for every user without the value. Found while
    :func:`inspect` parses (so once per template, partials included)."""
    return list(inspect(envs, file_name).unguarded)


def _reads(node: nodes.Node, guarded: frozenset[str]) -> Iterator[tuple[str, int]]:
    match node:
        case nodes.Filter(node=nodes.Name()) if node.name in _DEFAULTING:
            for child in node.iter_child_nodes(exclude=("node",)):
                yield from _reads(child, guarded)
        case nodes.Test(node=nodes.Name()) if node.name in _PRESENCE:
            return
        case nodes.If():
            present = guarded | _tested_present(node.test)
            yield from _reads(node.test, guarded)
            for child in node.body:
                yield from _reads(child, present)
            for child in (*node.elif_, *node.else_):  # these run when the test failed
                yield from _reads(child, guarded)
        case nodes.CondExpr():  # a if test else b: a runs only when the test held
            yield from _reads(node.test, guarded)
            yield from _reads(node.expr1, guarded | _tested_present(node.test))
            if node.expr2 is not None:
                yield from _reads(node.expr2, guarded)
        case nodes.And():  # short-circuit: the right side runs only when the left held
            yield from _reads(node.left, guarded)
            yield from _reads(node.right, guarded | _tested_present(node.left))
        case nodes.Name(ctx="load") if node.name not in guarded:
            yield node.name, node.lineno
        case _:
            for child in node.iter_child_nodes():
                yield from _reads(child, guarded)


def _tested_present(test: nodes.Node) -> frozenset[str]:
    """Names an ``if`` test proves present: ``x is defined`` (also inside ``and``)."""
    match test:
        case nodes.Test(node=nodes.Name(name=name)) if test.name == "defined":
            return frozenset({name})
        case nodes.And(left=left, right=right):
            return _tested_present(left) | _tested_present(right)
    return frozenset()


# --------------------------------------------------------------------------- rendering


@dataclass(frozen=True)
class Message:
    """The rendered parts of one message: an email's three blocks, or an SMS body as ``text``."""

    text: str
    subject: str | None = None
    html: str | None = None


def render_message(
    envs: Environments, channel: Channel, file_name: str, context: Mapping[str, Any]
) -> Message:
    """Render every part of one message within one :class:`Budget`; raises LimitExceeded at the
    first limit exceeded, or what the template raised. Compiling comes first, outside the deadline."""
    if channel == "email":
        plain, html = envs.plain.get_template(file_name), envs.html.get_template(file_name)
        with render_budget() as budget:
            parts = render_blocks(plain, ("subject", "text"), context, budget)
            parts |= render_blocks(html, ("html",), context, budget)
        return Message(parts["text"], parts["subject"], parts["html"])
    body = envs.plain.get_template(file_name)
    with render_budget() as budget:
        return Message(render_body(body, context, budget))


def render_blocks(
    template: jinja2.Template, blocks: tuple[str, ...], context: Mapping[str, Any], budget: Budget
) -> dict[str, str]:
    ctx = template.new_context(dict(context))
    return {name: collect(template.blocks[name](ctx), budget).strip() for name in blocks}


def render_body(template: jinja2.Template, context: Mapping[str, Any], budget: Budget) -> str:
    ctx = template.new_context(dict(context))
    return collect(template.root_render_func(ctx), budget).strip()


def location(error: BaseException) -> tuple[str, int] | None:
    """Template name and line where ``error`` was raised (the innermost template frame)."""
    found: tuple[str, int] | None = None
    tb: TracebackType | None = error.__traceback__
    while tb is not None:
        template = tb.tb_frame.f_globals.get("__jinja_template__")
        if isinstance(template, jinja2.Template) and template.name is not None:
            found = (template.name, template.get_corresponding_lineno(tb.tb_lineno))
        tb = tb.tb_next
    return found
