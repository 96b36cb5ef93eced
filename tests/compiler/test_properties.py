"""Property tests over generated journeys: compiling never crashes, is deterministic, and every
state of the output is reachable and every path through it ends."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from touchpoint.compiler.build import compile_journey
from touchpoint.journey.model import Journey
from touchpoint.journey.validate import structural

names = st.from_regex(r"[a-z][a-z0-9]{0,5}", fullmatch=True)
events = st.builds(lambda a, b: f"{a}.{b}", names, names)
durations = st.builds(lambda n, u: f"{n}{u}", st.integers(1, 9), st.sampled_from("mhd"))
times = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
scalars = st.one_of(st.integers(-5, 500), st.booleans(), names)

ops = st.dictionaries(
    st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte", "contains"]), scalars, min_size=1, max_size=2
)
attribute = st.builds(lambda a, o: {"attribute": a, **o}, names, ops)
timed = st.builds(
    lambda a, k, d: {"attribute": a, k: d}, names, st.sampled_from(["within", "older_than"]), durations
)
leaf_conditions = st.one_of(
    attribute,
    timed,
    st.builds(lambda t: {"tag": t}, names),
    st.builds(lambda c: {"consent": c}, st.sampled_from(["email", "sms"])),
)
conditions = st.recursive(
    leaf_conditions,
    lambda inner: st.one_of(
        st.builds(lambda cs: {"all": cs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda cs: {"any": cs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda c: {"not": c}, inner),
    ),
    max_leaves=3,
)
where = st.dictionaries(names, st.one_of(scalars, ops), max_size=2)

send = st.builds(
    lambda ch, t: {"send": {"channel": ch, "template": t}}, st.sampled_from(["email", "sms"]), names
)
wait = st.one_of(
    st.builds(lambda d: {"wait": d}, durations),
    st.builds(
        lambda t, w: {"wait": {"until": {"time": t, **({"weekday": w} if w else {})}}},
        times,
        st.sampled_from([None, "mon", "fri"]),
    ),
)
tag = st.builds(
    lambda a, r: {"tag": {"add": a, "remove": r}},
    st.lists(names, max_size=2, unique=True),
    st.lists(names, max_size=2, unique=True),
).filter(
    lambda s: (s["tag"]["add"] or s["tag"]["remove"]) and not set(s["tag"]["add"]) & set(s["tag"]["remove"])
)
set_step = st.builds(
    lambda d: {"set": d}, st.dictionaries(names, st.one_of(scalars, st.none()), min_size=1, max_size=3)
)
emit = st.builds(
    lambda e, p: {"emit": {"type": f"app.{e}", "properties": p}},
    names,
    st.dictionaries(names, scalars, max_size=2),
)
simple = st.one_of(send, wait, tag, set_step, emit)


def step_lists(inner: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Lists whose only exit (if any) is last: a step after an exit is a validation error."""
    return st.builds(
        lambda steps, end: steps + ([{"exit": end}] if end else []),
        st.lists(inner, max_size=3),
        st.one_of(st.none(), names),
    )


def _split(paths: list[list[dict[str, Any]]]) -> dict[str, Any]:
    share = 100 // len(paths)
    percents = [share] * (len(paths) - 1) + [100 - share * (len(paths) - 1)]
    return {
        "split": [
            {"name": f"p{i}", "percent": pct, "steps": s}
            for i, (pct, s) in enumerate(zip(percents, paths, strict=True))
        ]
    }


steps = st.recursive(
    simple,
    lambda inner: st.one_of(
        st.builds(
            lambda c, t, e: {"if": c, "then": t, "else": e}, conditions, step_lists(inner), step_lists(inner)
        ).filter(lambda s: s["then"] or s["else"]),
        st.builds(
            lambda ev, w, d, on, off: {
                "wait_for": {"event": ev, "where": w, "timeout": d},
                "on_event": on,
                "on_timeout": off,
            },
            events,
            where,
            durations,
            step_lists(inner),
            step_lists(inner),
        ),
        st.builds(_split, st.lists(step_lists(inner), min_size=2, max_size=3)),
        st.builds(lambda s, fb: {**s, "fallback": fb}, send, step_lists(inner)),
    ),
    max_leaves=6,
)
triggers = st.one_of(
    st.builds(lambda e, w: {"event": e, "where": w}, events, where),
    st.just({"schedule": "cron(0 10 ? * MON *)"}),
    st.builds(lambda a, t: {"date": {"attribute": a, "at": t}}, names, times),
    st.builds(lambda n, v: {"attribute": {"name": n, "to": v}}, names, scalars),
)
journeys = st.builds(
    lambda trig, aud, body: {
        "schema": "touchpoint/v1",
        "id": "generated",
        "name": "Generated",
        "owner": "qa@example.com",
        "timezone": "Asia/Shanghai",
        "trigger": trig,
        "audience": aud,
        "steps": body,
    },
    triggers,
    st.one_of(st.none(), conditions),
    step_lists(steps).filter(bool),
)


def _graph(definition: dict[str, Any]) -> dict[str, list[str]]:
    edges = {}
    for name, state in definition["States"].items():
        targets = [state["Next"]] if "Next" in state else []
        targets += [rule["Next"] for rule in state.get("Choices", [])]
        targets += [state["Default"]] if "Default" in state else []
        targets += [catch["Next"] for catch in state.get("Catch", [])]
        edges[name] = targets
    return edges


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(journeys)
def test_generated_journeys_compile_deterministically_into_sound_graphs(data: dict[str, Any]) -> None:
    journey = Journey.model_validate(data)
    assume(not structural(journey))  # the validator gates compile: unreachable steps never get here
    first = compile_journey(journey)
    again = compile_journey(Journey.model_validate(json.loads(json.dumps(data))))
    assert first.asl == again.asl
    assert first.manifest == again.manifest

    definition = json.loads(first.asl)
    states, edges = definition["States"], _graph(definition)
    # every target exists
    assert all(t in states for targets in edges.values() for t in targets)
    # every state is reachable from StartAt
    seen, todo = set(), [definition["StartAt"]]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += edges[name]
    assert seen == set(states)
    # every path ends: no cycles, and a state without successors is terminal
    order: dict[str, int] = {}

    def visit(name: str, stack: frozenset[str]) -> None:
        assert name not in stack, f"cycle through {name}"
        if name in order:
            return
        for target in edges[name]:
            visit(target, stack | {name})
        order[name] = len(order)

    visit(definition["StartAt"], frozenset())
    for name, state in states.items():
        if not edges[name] or (state["Type"] in ("Task", "Wait") and "Next" not in state):
            assert state["Type"] in ("Succeed", "Fail") or state.get("End") is True, name
        assert not ("End" in state and "Next" in state), name
        if state["Type"] == "Pass":
            assert state.get("End") is True, "a Pass state may only end the run (exit)"
