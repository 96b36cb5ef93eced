"""The step tree with every step's id and YAML path resolved once.

The validator, the compiler, the graph and the simulator all need the same ids; deriving them in
one place keeps ``if-3.then.send-1`` meaning the same step everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from touchpoint.journey.model import Step
from touchpoint.journey.source import JsonPath


@dataclass(frozen=True)
class Branch:
    label: str  # "then", "on_timeout", "A" (split path name), "fallback"
    path: JsonPath  # YAML path of the list
    nodes: tuple[Node, ...]


@dataclass(frozen=True)
class Node:
    id: str
    path: JsonPath
    step: Step
    branches: tuple[Branch, ...]

    @property
    def kind(self) -> str:
        return self.step.kind


def resolve(steps: list[Step], path: JsonPath = ("steps",), parent: str | None = None) -> tuple[Node, ...]:
    """Nodes for ``steps``; a step without ``id`` gets ``<kind>-<n>`` (1-based), prefixed by its
    parent's id and branch inside a branch, e.g. ``if-2.then.send-1``."""
    nodes = []
    for index, step in enumerate(steps):
        step_path = (*path, index)
        derived = f"{step.kind}-{index + 1}"
        step_id = step.id or (f"{parent}.{derived}" if parent else derived)
        nodes.append(Node(step_id, step_path, step, _branches(step, step_path, step_id)))
    return tuple(nodes)


def _branches(step: Step, path: JsonPath, step_id: str) -> tuple[Branch, ...]:
    return tuple(
        Branch(
            inner.label,
            (*path, *inner.path),
            resolve(inner.steps, (*path, *inner.path), f"{step_id}.{inner.label}"),
        )
        for inner in step.branch_lists()
    )


def walk(nodes: tuple[Node, ...]) -> Iterator[Node]:
    """Every node, depth first, in file order."""
    for node in nodes:
        yield node
        for branch in node.branches:
            yield from walk(branch.nodes)
