"""The published JSON Schema: complete, described, and in agreement with the models."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.conftest import GOLDEN, JOURNEYS, REPO
from touchpoint.cli.schema import catalogue_schema, journey_schema
from touchpoint.journey.source import read_source

SCHEMA = json.loads(journey_schema())


def properties(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for model, definition in [("Journey", schema), *schema.get("$defs", {}).items()]:
        for name, prop in definition.get("properties", {}).items():
            yield model, name, prop


def test_committed_schema_matches_the_models() -> None:
    assert (REPO / "docs" / "journey.schema.json").read_text() == journey_schema()


def test_every_field_has_a_description() -> None:
    missing = [f"{model}.{name}" for model, name, prop in properties(SCHEMA) if not prop.get("description")]
    assert missing == []
    assert len(list(properties(SCHEMA))) > 100


def test_key_names_are_the_ones_journeys_use() -> None:
    step_keys = {name for model, name, _ in properties(SCHEMA) if model.endswith("Step")}
    assert {
        "send",
        "wait",
        "if",
        "else",
        "then",
        "wait_for",
        "on_event",
        "on_timeout",
        "split",
        "tag",
        "set",
        "emit",
        "exit",
        "fallback",
    } <= step_keys
    assert "schema" in SCHEMA["properties"]
    assert set(SCHEMA["required"]) >= {"schema", "id", "name", "owner", "timezone", "trigger", "steps"}


VALID = [
    p
    for d in (JOURNEYS, GOLDEN / "valid")
    for p in sorted(d.glob("*.yaml"))
    if p.name not in ("profile.yaml", "events.yaml")
]


@pytest.mark.parametrize(
    "path", [d / "events.yaml" for d in (JOURNEYS, GOLDEN / "valid", GOLDEN / "invalid")]
)
def test_every_event_catalogue_validates_against_its_schema(path: Path) -> None:
    schema = json.loads(catalogue_schema())
    assert (REPO / "docs" / "events-catalogue.schema.json").read_text() == catalogue_schema()
    jsonschema.validate(read_source(path, path.name).data, schema)
    broken = {"schema": "touchpoint/events-v1", "events": {"order.placed": {"properties": {"x": "money"}}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_every_valid_journey_validates_against_the_schema(path: Any) -> None:
    jsonschema.Draft202012Validator(SCHEMA).validate(read_source(path).data)


def test_the_schema_rejects_what_the_model_rejects() -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for name in ("unknown-step-kind", "two-step-kinds", "unknown-field", "bad-duration", "bad-time"):
        data = read_source(GOLDEN / "invalid" / f"{name}.yaml").data
        assert list(validator.iter_errors(data)), name
