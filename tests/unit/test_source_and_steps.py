from __future__ import annotations

import pytest

from touchpoint.journey.model import Journey
from touchpoint.journey.source import SourceError, format_path, parse_source
from touchpoint.journey.steps import resolve, walk


def test_yaml_is_read_the_way_marketers_mean_it() -> None:
    source = parse_source(
        "country: no\nat: 10:00\nok: true\nn: 3\nx: 1.5\nwhen: 2026-12-01\nnothing: null\n", "f"
    )
    assert source.data == {
        "country": "no",
        "at": "10:00",
        "ok": True,
        "n": 3,
        "x": 1.5,
        "when": "2026-12-01",
        "nothing": None,
    }


def test_lines_point_at_keys_and_items() -> None:
    source = parse_source("a:\n  b:\n    - x: 1\n    - y: 2\n", "f")
    assert source.line_of(("a", "b", 1, "y")) == 4
    assert source.line_of(("a", "b", 1, "missing")) == 4
    assert source.line_of(("nope",)) == 1


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a: 1\na: 2\n", 2, 'duplicate key "a"'),
        ("a: [1\n", 2, "not valid YAML"),
        ("", 1, "the file is empty"),
        ("? [a, b]\n: 1\n", 1, "mapping keys must be plain names"),
    ],
)
def test_unreadable_yaml_names_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(SourceError) as error:
        parse_source(text, "f")
    assert error.value.line == line
    assert message in error.value.message


def test_format_path() -> None:
    assert format_path(("steps", 2, "then", 0, "send")) == "steps[2].then[0].send"
    assert format_path(()) == ""


def test_step_ids_are_derived_stably_from_position() -> None:
    journey = Journey.model_validate(
        {
            "schema": "touchpoint/v1",
            "id": "t",
            "name": "t",
            "owner": "o",
            "timezone": "UTC",
            "trigger": {"event": "a.b"},
            "steps": [
                {"wait": "1d"},
                {"if": {"tag": "x"}, "then": [{"tag": {"add": ["y"]}}], "else": [{"exit": "no"}]},
                {
                    "split": [
                        {"name": "A", "percent": 50, "steps": [{"emit": {"type": "a.b"}}]},
                        {"name": "B", "percent": 50},
                    ],
                    "id": "ab",
                },
                {"send": {"channel": "sms", "template": "t"}, "fallback": [{"set": {"a": 1}}]},
            ],
        }
    )
    ids = [n.id for n in walk(resolve(journey.steps))]
    assert ids == [
        "wait-1",
        "if-2",
        "if-2.then.tag-1",
        "if-2.else.exit-1",
        "ab",
        "ab.A.emit-1",
        "send-4",
        "send-4.fallback.set-1",
    ]
