"""Semantic checks on a parsed journey: a list of violations, never an exception.

Schema problems (wrong types, unknown keys) are caught by the model; these are the mistakes a
valid-looking journey can still make: a template that does not exist, a wait Step Functions
cannot hold, a goal that every entrant meets at once."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

import jinja2

from touchpoint import contract, durations, metrics, sandbox, templates
from touchpoint.attributes import ALWAYS_PRESENT, TEMPLATE_CONTEXT, ProfileSchema, is_reserved
from touchpoint.catalogue import Catalogue, unknown_event, unknown_properties
from touchpoint.channels import tags as message_tags
from touchpoint.conditions import attributes_in, required_consents
from touchpoint.journey.model import (
    RATE_KPIS,
    AttributeCondition,
    Condition,
    DateTrigger,
    EventTrigger,
    ExitStep,
    IfStep,
    Journey,
    ScheduleTrigger,
    SendStep,
    SetStep,
    WaitForStep,
    Where,
)
from touchpoint.journey.source import JsonPath, Source, format_path
from touchpoint.journey.steps import Node, resolve, walk
from touchpoint.journey.types import Scalar
from touchpoint.journey.violations import Severity, Violation, at
from touchpoint.suggest import did_you_mean


@dataclass
class Context:
    """What a journey is checked against: the profile schema and templates of its directory."""

    directory: Path
    profile: ProfileSchema
    catalog: templates.Catalog
    envs: templates.Environments
    display_dir: str
    events: Catalogue | None = None  # None: the directory has no events.yaml
    stages: frozenset[str] = frozenset()  # journey ids a campaign of the directory lists as stages


def check_journey(journey: Journey, source: Source, ctx: Context, file_stem: str) -> list[Violation]:
    nodes = resolve(journey.steps)
    checks = (
        _identity(journey, file_stem),
        _step_ids(nodes),
        _structure(nodes),
        _durations(journey, nodes),
        _events(journey, nodes),
        _catalogued(journey, nodes, ctx.events),
        _audience(journey, nodes, ctx),
        _windows(journey),
        kpi_findings(journey, list(journey.kpis), nodes),
        _campaign_written(journey, ctx),
        _steps_against_profile(nodes, ctx),
    )
    found = [at(source, path, message, severity) for check in checks for path, message, severity in check]
    found += _templates(journey, nodes, source, ctx)
    return sorted(set(found))


Findings = Iterator[tuple[JsonPath, str, Severity]]


def _identity(journey: Journey, file_stem: str) -> Findings:
    if journey.id != file_stem:
        yield (
            ("id",),
            f'"{journey.id}" must match the file name; rename the file to {journey.id}.yaml',
            "error",
        )


def _step_ids(nodes: tuple[Node, ...]) -> Findings:
    seen: dict[str, JsonPath] = {}
    for node in walk(nodes):
        if node.id in seen:
            first = format_path(seen[node.id])
            yield (
                (*node.path, "id"),
                f'duplicate step id "{node.id}" (also {first}); step ids must be unique',
                "error",
            )
        else:
            seen[node.id] = node.path
        if isinstance(node.step, SendStep) and not message_tags.fits(node.id):
            length = len(node.id)
            yield (
                (*node.path, "id"),
                f'step id "{node.id[:40]}…" ({length} characters) is too long to travel as an SES '
                f"message tag (at most {message_tags.MAX_VALUE} once encoded); give this send or the "
                "steps around it shorter ids",
                "error",
            )


def always_exits(node: Node) -> bool:
    """Every path through ``node`` ends the journey, so nothing after it can run."""
    return node.step.ends_every_path([any(always_exits(n) for n in branch.nodes) for branch in node.branches])


def structural(journey: Journey) -> list[tuple[JsonPath, str, Severity]]:
    """The checks that need no files: the compiler's preconditions on the step graph."""
    return list(_structure(resolve(journey.steps)))


def _structure(nodes: tuple[Node, ...]) -> Findings:
    for i, node in enumerate(nodes[:-1]):
        if always_exits(node):
            step = node.step
            what = (
                f'exit "{step.exit}"' if isinstance(step, ExitStep) else f"{node.id}, where every path exits"
            )
            yield nodes[i + 1].path, f"unreachable: it follows {what}; move or remove it", "error"
            break
    for node in nodes:
        for path, message, severity in node.step.problems():
            yield (*node.path, *path), message, severity
        for branch in node.branches:
            yield from _structure(branch.nodes)


# --------------------------------------------------------------------------- time


def longest(nodes: tuple[Node, ...]) -> int:
    """Worst-case seconds a user spends on ``nodes`` (send deferrals not counted)."""
    total = 0
    for node in nodes:
        hold = node.step.hold()
        total += (hold.seconds if hold else 0) + max((longest(b.nodes) for b in node.branches), default=0)
    return total


def _sends_on_longest(nodes: tuple[Node, ...]) -> int:
    count = 0
    for node in nodes:
        count += isinstance(node.step, SendStep)
        count += max((_sends_on_longest(b.nodes) for b in node.branches), default=0)
    return count


def _durations(journey: Journey, nodes: tuple[Node, ...]) -> Findings:
    limit = durations.ONE_YEAR
    for node in walk(nodes):
        hold = node.step.hold()
        if hold is not None and hold.seconds > limit:
            yield (*node.path, *hold.path), _too_long(hold.what, hold.seconds), "error"
    total = longest(nodes)
    if total > limit:
        yield ("steps",), _too_long("the longest path through the steps", total), "error"
    else:
        worst = total + _sends_on_longest(nodes) * contract.MAX_DEFER_SECONDS
        if worst > limit:
            yield (
                ("steps",),
                (
                    "with every send deferred the maximum "
                    f"{durations.format_duration(contract.MAX_DEFER_SECONDS)}, "
                    f"the longest path takes {durations.format_duration(worst)}, over the 1-year limit; "
                    "such users would be cut off — shorten waits"
                ),
                "warning",
            )


def _too_long(what: str, seconds: int) -> str:
    return (
        f"{what} takes {durations.format_duration(seconds)}; a Step Functions execution lasts at most 1 year "
        "(365d); shorten it"
    )


# --------------------------------------------------------------------------- events


def _events(journey: Journey, nodes: tuple[Node, ...]) -> Findings:
    trigger = journey.trigger
    if isinstance(trigger, EventTrigger):
        if journey.goal and _same_event(journey.goal.event, journey.goal.where, trigger):
            yield (
                ("goal", "event"),
                (
                    f"the goal event is the trigger ({trigger.event}): every entrant would convert at once; "
                    "use the behaviour you want to cause, e.g. order.placed"
                ),
                "error",
            )
        for i, rule in enumerate(journey.exit):
            if _same_event(rule.event, rule.where, trigger):
                yield (
                    ("exit", i, "event"),
                    (
                        f"the exit event is the trigger ({trigger.event}): users would leave as they enter; "
                        "use another event or add a where filter"
                    ),
                    "error",
                )
    send_ids = {n.id for n in walk(nodes) if isinstance(n.step, SendStep)}
    for node in walk(nodes):
        step = node.step
        if not isinstance(step, WaitForStep):
            continue
        spec = step.wait_for
        if not spec.event.startswith(("email.", "sms.")):
            continue
        referenced = spec.where.get("step_id")
        if referenced is None:
            yield (
                (*node.path, "wait_for", "event"),
                (
                    f"any {spec.event} from any message resumes this wait; "
                    "add where: {step_id: <id of the send step>}"
                ),
                "warning",
            )
        elif isinstance(referenced, str) and referenced not in send_ids and "journey_id" not in spec.where:
            hint = did_you_mean(referenced, send_ids)
            yield (
                (*node.path, "wait_for", "where", "step_id"),
                (f'no send step has id "{referenced}" in this journey{hint}'),
                "error",
            )


def _catalogued(journey: Journey, nodes: tuple[Node, ...], events: Catalogue | None) -> Findings:
    """Every event a journey waits for must be one that can arrive: in the catalogue, or feedback."""
    uses: list[tuple[JsonPath, str, Where]] = []
    if isinstance(journey.trigger, EventTrigger):
        uses.append((("trigger",), journey.trigger.event, journey.trigger.where))
    uses += [(("exit", i), rule.event, rule.where) for i, rule in enumerate(journey.exit)]
    if journey.goal is not None:
        uses.append((("goal",), journey.goal.event, journey.goal.where))
    for node in walk(nodes):
        if isinstance(node.step, WaitForStep):
            spec = node.step.wait_for
            uses.append(((*node.path, "wait_for"), spec.event, spec.where))
    for path, event, where in uses:
        problem = unknown_event(events, event)
        if problem is not None:
            yield (*path, "event"), problem, "error"
            continue
        for name, message in unknown_properties(events, event, where):
            yield (*path, "where", name), message, "error"


def _same_event(event: str, where: Where, trigger: EventTrigger) -> bool:
    return event == trigger.event and (not where or where == trigger.where)


# --------------------------------------------------------------------------- audience, consent, profile


def _audience(journey: Journey, nodes: tuple[Node, ...], ctx: Context) -> Findings:
    yield from _consent(journey, nodes, required_consents(journey.audience))
    conditions: list[tuple[JsonPath, Condition]] = []
    if journey.audience is not None:
        conditions.append((("audience",), journey.audience))
    if journey.rollout and journey.rollout.segment is not None:
        conditions.append((("rollout", "segment"), journey.rollout.segment))
    conditions += [((*n.path, "if"), n.step.if_) for n in walk(nodes) if isinstance(n.step, IfStep)]
    for path, condition in conditions:
        for inner, cond in attributes_in(condition, path):
            yield from _attribute_use(ctx.profile, (*inner, "attribute"), cond)
    if isinstance(journey.trigger, DateTrigger):
        name = journey.trigger.date.attribute
        spec = ctx.profile.get(name)
        where: JsonPath = ("trigger", "date", "attribute")
        if spec is None:
            yield (
                where,
                f'"{name}" is not a known profile attribute; declare it in profile.yaml as a date',
                "warning",
            )
        elif spec.type not in ("date", "timestamp"):
            yield (
                where,
                f'"{name}" is a {spec.type}; a date trigger needs a date or timestamp attribute',
                "error",
            )


def _consent(journey: Journey, nodes: tuple[Node, ...], guaranteed: frozenset[str]) -> Findings:
    """Marketing sends on a channel whose consent no enclosing condition requires."""
    for node in nodes:
        step = node.step
        if isinstance(step, SendStep):
            channel = step.send.channel
            if (step.send.category or journey.category) == "marketing" and channel not in guaranteed:
                yield (
                    (*node.path, "send", "channel"),
                    (
                        f"the audience does not require {channel} consent, so users without it enter "
                        f"and this marketing {channel} is skipped for them; add {{consent: {channel}}} "
                        f"to the audience or send inside if: {{consent: {channel}}}"
                    ),
                    "warning",
                )
        for branch in node.branches:
            inner = guaranteed
            if isinstance(step, IfStep) and branch.label == "then":
                inner = guaranteed | required_consents(step.if_)
            yield from _consent(journey, branch.nodes, inner)


def _attribute_use(profile: ProfileSchema, path: JsonPath, cond: AttributeCondition) -> Findings:
    name = cond.attribute
    spec = profile.get(name)
    if spec is None:
        hint = did_you_mean(name, profile.names) or "; declare it in profile.yaml"
        yield path, f'"{name}" is not a known profile attribute{hint}', "warning"
        return
    uses_time = cond.within is not None or cond.older_than is not None
    if uses_time and spec.type not in ("timestamp", "date"):
        yield path, f'within/older_than need a timestamp, but "{name}" is a {spec.type}', "error"


def _steps_against_profile(nodes: tuple[Node, ...], ctx: Context) -> Findings:
    for node in walk(nodes):
        step = node.step
        if not isinstance(step, SetStep):
            continue
        for name, value in step.set.items():
            where = (*node.path, "set", name)
            if is_reserved(name):
                yield where, f'"{name}" cannot be set by a journey; it changes only through events', "error"
                continue
            spec = ctx.profile.get(name)
            if spec is None:
                yield (
                    where,
                    f'"{name}" is not a known profile attribute; declare it in profile.yaml',
                    "warning",
                )
            elif value is not None and not _fits(spec.type, value):
                yield (
                    where,
                    f"{json.dumps(value, ensure_ascii=False)} is not a {spec.type}, "
                    f'the declared type of "{name}"',
                    "error",
                )


def _fits(kind: str, value: Scalar) -> bool:
    match kind:
        case "number":
            return isinstance(value, int | float) and not isinstance(value, bool)
        case "boolean":
            return isinstance(value, bool)
        case "string" | "timestamp" | "date":
            return isinstance(value, str)
    return False


def _windows(journey: Journey) -> Findings:
    window = journey.send_window
    if window is not None:
        if window.from_ == window.to:
            yield (
                ("send_window",),
                (
                    f'from and to are both "{window.to}", so no time is allowed; '
                    'e.g. from: "08:00", to: "21:00"'
                ),
                "error",
            )
        if window.days is not None and not window.days:
            yield ("send_window", "days"), "no day is allowed; list days (mon … sun) or remove days", "error"
    effective = journey.effective
    if effective and effective.from_ and effective.until and effective.until <= effective.from_:
        yield (
            ("effective", "until"),
            "until is not after from; the journey would never accept entries",
            "error",
        )


def kpi_findings(journey: Journey, names: Collection[str], nodes: tuple[Node, ...] | None = None) -> Findings:
    """What is wrong with the named KPIs of ``journey`` (the journey's own, or a campaign stage's
    added to them), at ("kpis", name, …)."""
    nodes = resolve(journey.steps) if nodes is None else nodes
    yield from _kpi_bounds(journey, names)
    yield from _kpis_with_data(journey, nodes, names)


def _kpi_bounds(journey: Journey, names: Collection[str]) -> Findings:
    for name, kpi in journey.kpis.items():
        if name not in names:
            continue
        path: JsonPath = ("kpis", name)
        values = {k: getattr(kpi, k) for k in ("floor", "target", "ceiling") if getattr(kpi, k) is not None}
        if name in RATE_KPIS:
            for key, value in values.items():
                if value > 1:
                    yield (
                        (*path, key),
                        f"{value:g} is not a rate; write rates as 0..1 (e.g. 0.25 for 25%)",
                        "error",
                    )
        if "floor" in values and "ceiling" in values and values["floor"] >= values["ceiling"]:
            yield path, "floor must be below ceiling", "error"
        if "floor" in values and "target" in values and values["floor"] > values["target"]:
            yield (
                (*path, "floor"),
                "floor is above target; an alarm would fire while the target is met",
                "error",
            )
        if "ceiling" in values and "target" in values and values["ceiling"] < values["target"]:
            yield (*path, "ceiling"), "ceiling is below target", "error"


def _kpis_with_data(journey: Journey, nodes: tuple[Node, ...], names: Collection[str]) -> Findings:
    """A KPI that can never have data reads 0% (or nothing) forever, and a floor on it alarms."""
    channels = {n.step.send.channel for n in walk(nodes) if isinstance(n.step, SendStep)}
    for name in (n for n in journey.kpis if n in names):
        path: JsonPath = ("kpis", name)
        definition = metrics.RATES.get(name)
        counters = metrics.counters_of(name)
        if "converted" in counters and journey.goal is None:
            yield (
                path,
                f"{name} can never have data: it counts goal conversions and this journey has no goal; "
                "add goal: {event: order.placed, within: 7d} (your conversion event)",
                "error",
            )
            continue
        message = any(c in metrics.MESSAGE_COUNTERS for c in counters)
        if message and not channels:
            yield path, f"{name} can never have data: this journey sends no message", "error"
            continue
        if definition is not None and definition.channel is not None and definition.channel not in channels:
            yield (
                path,
                f"{name} can never have data: this journey sends no {definition.channel}",
                "error",
            )
            continue
        for counter in counters:
            reporting = metrics.CHANNELS_REPORTING.get(counter)
            if message and reporting is not None and not reporting & channels:
                only = ", ".join(sorted(channels))
                yield (
                    path,
                    f"{name} can never have data: {counter} is reported for "
                    f"{', '.join(sorted(reporting))} only, and this journey sends only {only}; "
                    "remove it or use a KPI every channel reports (delivery_rate, conversion_rate)",
                    "error",
                )
                break


def _campaign_written(journey: Journey, ctx: Context) -> Findings:
    """A campaign stage is declared in the campaign file, and relative schedules need one."""
    if journey.campaign is not None:
        yield (
            ("campaign",),
            "a journey does not declare its campaign; list it as a stage in a campaign file "
            "(campaigns/<id>.yaml, docs/campaigns.md) and remove campaign here",
            "error",
        )
    trigger = journey.trigger
    relative = isinstance(trigger, ScheduleTrigger) and not isinstance(trigger.schedule, str)
    if relative and journey.id not in ctx.stages:
        yield (
            ("trigger", "schedule"),
            "a schedule relative to a campaign date needs a campaign that lists this journey as a stage "
            "(docs/campaigns.md); otherwise write a cron(...) or rate(...) expression",
            "error",
        )


# --------------------------------------------------------------------------- templates


def _templates(journey: Journey, nodes: tuple[Node, ...], source: Source, ctx: Context) -> list[Violation]:
    found: list[Violation] = []
    known = set(ctx.profile.names) | set(TEMPLATE_CONTEXT) | set(ctx.envs.plain.globals)
    tdir = f"{ctx.display_dir}/{templates.TEMPLATE_DIR}"
    present = set(ALWAYS_PRESENT)
    if isinstance(journey.trigger, DateTrigger):  # every entrant has the date it was triggered by
        present.add(journey.trigger.date.attribute)
    for node in walk(nodes):
        step = node.step
        if not isinstance(step, SendStep):
            continue
        name, channel = step.send.template, step.send.channel
        path = (*node.path, "send", "template")
        variants = ctx.catalog.locales(name, channel)
        if "" not in variants:
            others = sorted({k.channel for k in ctx.catalog.variants if k.name == name} - {channel})
            extra = f" (there is one for {', '.join(others)})" if others else ""
            found.append(
                at(source, path, f'no {channel} template "{name}"{extra}; create {tdir}/{name}.{channel}.j2')
            )
        for locale in sorted(variants):
            file_name = variants[locale]
            try:
                info = templates.inspect(ctx.envs, file_name)
            except jinja2.TemplateSyntaxError as error:
                found.append(
                    Violation(
                        f"{tdir}/{file_name}", error.lineno or 1, "", f"template error: {error.message}"
                    )
                )
                continue
            except jinja2.TemplateNotFound as error:
                found.append(
                    Violation(
                        f"{tdir}/{file_name}", 1, "", f'includes "{error.name}", which is not in {tdir}/'
                    )
                )
                continue
            if channel == "email":
                for block in templates.EMAIL_BLOCKS:
                    if block not in info.blocks:
                        found.append(
                            at(
                                source,
                                path,
                                f'{file_name} has no "{block}" block; add '
                                f"{{% block {block} %}}…{{% endblock %}}",
                            )
                        )
            for variable in sorted(info.variables - known):
                if variable in sandbox.REMOVED_GLOBALS:
                    found.append(
                        at(
                            source,
                            path,
                            f'{file_name} uses "{variable}", which message templates cannot use '
                            "(it can grow output without bound)",
                        )
                    )
                    continue
                hint = did_you_mean(variable, known) or f"; declare it in {ctx.display_dir}/profile.yaml"
                found.append(
                    at(source, path, f'{file_name} uses "{variable}", which is not a profile attribute{hint}')
                )
            found += _missing_values(ctx, tdir, info, present)
            if channel == "sms" or info.blocks >= set(templates.EMAIL_BLOCKS):
                sample = _sample_context(ctx.profile, journey.id, node.id)
                # unknown names (reported above) get a value too, so the render goes on past them
                unknown = info.variables - set(ctx.envs.plain.globals) - sandbox.REMOVED_GLOBALS
                sample |= {name: "sample" for name in unknown if name not in sample}
                found += _sample_render(ctx, tdir, channel, file_name, sample)
    return found


def _missing_values(
    ctx: Context, tdir: str, info: templates.Inspection, present: set[str]
) -> list[Violation]:
    """A declared attribute read without a fallback fails the send for every user who lacks it."""
    found: list[Violation] = []
    for template, line, name in info.unguarded:
        attribute = ctx.profile.get(name)
        if attribute is None or attribute.default is not None or name in present:
            continue
        found.append(
            Violation(
                f"{tdir}/{template}",
                line,
                "",
                f'users without "{name}" will fail this send; write {{{{ {name} | default("…") }}}} '
                f"or declare a default for it in {ctx.display_dir}/profile.yaml",
                "warning",
            )
        )
    return found


_SAMPLE_BY_TYPE: dict[str, object] = {
    "string": "sample",
    "number": 1,
    "boolean": True,
    "timestamp": "2026-01-01T09:00:00Z",
    "date": "2026-01-01",
    "list": ["sample"],
}


def _sample_context(profile: ProfileSchema, journey_id: str, step_id: str) -> dict[str, object]:
    """A typical profile: declared defaults, else a plain value of the declared type."""
    context: dict[str, object] = {}
    for name in profile.names:
        attribute = profile.get(name)
        if attribute is not None:
            default = attribute.default
            context[name] = _SAMPLE_BY_TYPE[attribute.type] if default is None else default
    context |= {
        "unsubscribe_url": "https://example.com/unsubscribe?token=sample",
        "journey_id": journey_id,
        "step_id": step_id,
    }
    return context


def _sample_render(
    ctx: Context, tdir: str, channel: templates.Channel, file_name: str, sample: dict[str, object]
) -> list[Violation]:
    """Render once for a sample profile: a template that cannot stay within the render limits (or
    that the sandbox refuses) fails for every profile, so it is refused here rather than at send.
    Errors that depend on the data (an undefined variable, 1/0 on a sample value) are left alone:
    undefined variables are reported above, and sample values are not real ones."""
    try:
        templates.render_message(ctx.envs, channel, file_name, sample)
    except jinja2.TemplateSyntaxError as error:  # compiling: e.g. a filter that does not exist
        where = f"{tdir}/{error.name or file_name}"
        return [Violation(where, error.lineno or 1, "", f"template error: {error.message}")]
    except sandbox.OVER_LIMIT as error:
        reason = sandbox.exceeded(error)
        return [_at_template(error, tdir, file_name, f"cannot be rendered within the limits: {reason}")]
    except jinja2.exceptions.SecurityError as error:
        return [_at_template(error, tdir, file_name, f"is refused by the sandbox: {error}")]
    except Exception:  # data-dependent (1/0 on a sample value): the runtime reports it for real data
        return []
    return []


def _at_template(error: BaseException, tdir: str, file_name: str, what: str) -> Violation:
    name, line = templates.location(error) or (file_name, 1)
    return Violation(f"{tdir}/{name}", line, "", f"template {what}")
