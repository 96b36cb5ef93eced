"""Every step kind is registered in both homes, and its two halves agree.

mypy proves the registrations exhaustive over the ``Step`` union; these tests catch what mypy
cannot see: a kind module written but left out of the union, or a view whose edges do not match
the branches the model declares."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing
from typing import Any

import pytest
from pydantic import Tag, TypeAdapter

import touchpoint.compiler.kinds as compiler_kinds
from touchpoint.compiler.kinds import kind_of
from touchpoint.compiler.lower import lower
from touchpoint.journey import model
from touchpoint.journey.model import STEP_KINDS, Journey, Step, StepBase
from touchpoint.journey.steps import resolve

SAMPLES: dict[str, dict[str, Any]] = {
    "send": {"send": {"channel": "email", "template": "hello"}, "fallback": [{"wait": "1h"}]},
    "wait": {"wait": {"until": {"time": "10:00", "weekday": "mon"}}},
    "if": {"if": {"tag": "vip"}, "then": [{"exit": "vip"}]},
    "wait_for": {"wait_for": {"event": "order.placed", "timeout": "2d"}, "on_timeout": [{"wait": "1d"}]},
    "split": {
        "split": [{"name": "A", "percent": 50, "steps": [{"wait": "1d"}]}, {"name": "B", "percent": 50}]
    },
    "tag": {"tag": {"add": ["x"], "remove": ["y"]}},
    "set": {"set": {"stage": "active", "old": None}},
    "emit": {"emit": {"type": "lead.qualified", "properties": {"score": 3}}},
    "exit": {"exit": "done"},
}


def _members() -> list[tuple[str, type[StepBase]]]:
    union = typing.get_args(Step)[0]
    members = []
    for member in typing.get_args(union):
        cls, *meta = typing.get_args(member)
        members.append((next(m.tag for m in meta if isinstance(m, Tag)), cls))
    return members


def test_the_union_tags_each_model_with_its_own_kind() -> None:
    assert [(tag, cls.kind) for tag, cls in _members()] == [(cls.kind, cls.kind) for _, cls in _members()]
    assert tuple(tag for tag, _ in _members()) == STEP_KINDS
    assert set(SAMPLES) == set(STEP_KINDS)


def test_every_step_model_in_the_language_is_in_the_union() -> None:
    defined = {
        cls
        for info in pkgutil.iter_modules(model.__path__)
        for _, cls in inspect.getmembers(
            importlib.import_module(f"{model.__name__}.{info.name}"), inspect.isclass
        )
        if issubclass(cls, StepBase) and cls is not StepBase
    }
    assert defined == {cls for _, cls in _members()}


def test_every_compiler_kind_module_is_registered() -> None:
    registered = {type(kind_of(TypeAdapter(Step).validate_python(sample))) for sample in SAMPLES.values()}
    defined = {
        cls
        for info in pkgutil.iter_modules(compiler_kinds.__path__)
        if info.name != "base"
        for _, cls in inspect.getmembers(
            importlib.import_module(f"{compiler_kinds.__name__}.{info.name}"), inspect.isclass
        )
        if cls.__module__ == f"{compiler_kinds.__name__}.{info.name}" and hasattr(cls, "lower")
    }
    assert registered == defined
    assert len(registered) == len(STEP_KINDS)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_a_kind_draws_one_edge_per_branch_and_lowers(kind: str) -> None:
    step = TypeAdapter(Step).validate_python(SAMPLES[kind])
    assert step.kind == kind
    (node,) = resolve([step])
    view = kind_of(step).view()
    assert len(view.edges) == len(node.branches)
    assert view.ends == step.ends_every_path([False] * len(node.branches))
    journey = Journey.model_validate(
        {
            "schema": "touchpoint/v1",
            "id": "sample",
            "name": "Sample",
            "owner": "qa@example.com",
            "timezone": "UTC",
            "trigger": {"event": "user.registered"},
            "steps": [SAMPLES[kind]],
        }
    )
    machine = lower(journey, "v1")
    assert machine.start_at.split("#", 1)[0] == (kind + "-1")
