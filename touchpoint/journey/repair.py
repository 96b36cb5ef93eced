"""A stand-in journey for one that fails the model, so semantic checks still run in the same pass.

A wrong duration in step 2 must not hide a missing template in step 5: the docs promise every
problem at once. Each part the model refuses is replaced by a neutral stand-in (an unknown key is
dropped, a broken step becomes a placeholder of the same kind, a broken optional setting is
dropped, a broken required one gets a placeholder value) until the model accepts the data. The
semantic checks then run on that stand-in, and whatever they find inside a replaced part is
discarded: it would be about the placeholder, not about what the author wrote."""

from __future__ import annotations

import copy
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from touchpoint.journey.model import Journey, SplitPath
from touchpoint.journey.model.steps import STEP_MODELS, Step
from touchpoint.journey.source import JsonPath, format_path
from touchpoint.journey.violations import Violation, data_path

#: Rounds of repair before giving up (each round repairs every error the model reported).
ROUNDS = 8

_PLACEHOLDER = "touchpoint-placeholder"


def _step_lists() -> frozenset[str]:
    """Keys whose value is a list of steps, read off the models (``steps``, ``then``, ``else`` …)."""
    keys: set[str] = set()
    models: tuple[type[BaseModel], ...] = (Journey, SplitPath, *STEP_MODELS)
    for model in models:
        for name, info in model.model_fields.items():
            if typing.get_origin(info.annotation) is list and typing.get_args(info.annotation)[0] is Step:
                keys.add(info.alias or name)
    return frozenset(keys)


STEP_LISTS = _step_lists()


@dataclass(frozen=True)
class StandIn:
    journey: Journey
    replaced: tuple[str, ...]  # formatted paths of what was replaced or dropped

    def covers(self, violation: Violation) -> bool:
        """The violation is about a placeholder (inside a replaced part), not the author's text."""
        field = violation.field
        return any(field == p or field.startswith((f"{p}.", f"{p}[")) for p in self.replaced)


def stand_in(data: dict[str, Any], error: ValidationError, file_stem: str) -> StandIn | None:
    """The journey with every refused part replaced, or None when it cannot be repaired."""
    data = copy.deepcopy(data)
    replaced: list[JsonPath] = []
    for _ in range(ROUNDS):
        for detail in error.errors():
            path = data_path(detail["loc"], Journey)
            done = _repair(data, path, detail["type"], file_stem)
            if done is None:
                return None
            replaced.append(done)
        try:
            journey = Journey.model_validate(data)
        except ValidationError as again:
            error = again
            continue
        return StandIn(journey, tuple(sorted({format_path(p) for p in replaced})))
    return None


def _repair(data: dict[str, Any], path: JsonPath, kind: str, file_stem: str) -> JsonPath | None:
    if not path:
        return None
    if kind == "extra_forbidden":
        parent = _get(data, path[:-1])
        if isinstance(parent, dict) and path[-1] in parent:
            del parent[path[-1]]
            return path
    step = _enclosing_step(path)
    if step is not None:
        steps = _get(data, step[:-1])
        index = step[-1]
        if isinstance(steps, list) and isinstance(index, int) and index < len(steps):
            steps[index] = _placeholder_step(steps[index])
            return step
    key = str(path[0])
    info = next((i for n, i in Journey.model_fields.items() if key in (n, i.alias)), None)
    if info is None:
        data.pop(key, None)
        return (key,)
    if not info.is_required():
        data.pop(key, None)
    else:
        data[key] = _required_placeholder(key, file_stem)
    return (key,)


def _enclosing_step(path: JsonPath) -> JsonPath | None:
    """The deepest step the path lies in: a prefix ending ``<steps key>, <index>``."""
    for end in range(len(path), 1, -1):
        if isinstance(path[end - 1], int) and path[end - 2] in STEP_LISTS:
            return path[:end]
    return None


def _placeholder_step(original: Any) -> dict[str, Any]:
    """A step of the same kind where it matters (a send stays a send, so ``wait_for`` step ids
    referring to it still resolve), keeping the author's id."""
    step: dict[str, Any]
    if isinstance(original, dict) and "send" in original:
        given = original["send"] if isinstance(original["send"], dict) else {}
        channel = given.get("channel") if given.get("channel") in ("email", "sms") else "email"
        step = {"send": {"channel": channel, "template": _PLACEHOLDER}}
    else:
        step = {"tag": {"add": [_PLACEHOLDER]}}
    if isinstance(original, dict) and isinstance(original.get("id"), str):
        step["id"] = original["id"]
    return step


def _required_placeholder(key: str, file_stem: str) -> Any:
    match key:
        case "schema":
            return "touchpoint/v1"
        case "id":
            return file_stem
        case "timezone":
            return "UTC"
        case "trigger":
            return {"event": "touchpoint.placeholder"}
        case "steps":
            return [{"tag": {"add": [_PLACEHOLDER]}}]
    return _PLACEHOLDER


def _get(data: Any, path: JsonPath) -> Any:
    for part in path:
        in_dict = isinstance(data, dict) and part in data
        if in_dict or (isinstance(data, list) and isinstance(part, int) and part < len(data)):
            data = data[part]
        else:
            return None
    return data
