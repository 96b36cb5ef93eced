"""Which reads of a variable fail the send when the profile lacks it (templates render with
StrictUndefined), checked against what Jinja2 itself does when the value is missing."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from touchpoint import templates

CASES = [
    ("{{ city }}", [1]),
    ("{{ city | default('there') }}", []),
    ("{{ city | d('there') }}", []),
    ("{{ city | upper | default('x') }}", [1]),  # upper runs on the missing value first
    ("{% if city is defined %}{{ city }}{% endif %}", []),
    ("{% if city is defined %}ok{% else %}{{ city }}{% endif %}", [1]),
    ("{% if city is defined and city | length > 3 %}{{ city }}{% endif %}", []),
    ("{{ city if city is defined else 'somewhere' }}", []),
    ("{{ 'x' if city is defined else city }}", [1]),
    ("{% if other is defined %}{{ city }}{% endif %}", [1]),
    ("line one\n{{ nickname | default('hi') }}\n\n{{ city }}", [4]),
    ("{{ city is defined }}", []),
]


@pytest.mark.parametrize(("source", "lines"), CASES)
def test_unguarded_reads_are_those_that_fail_without_the_value(
    tmp_path: Path, source: str, lines: list[int]
) -> None:
    (tmp_path / "t.sms.j2").write_text(source, encoding="utf-8")
    envs = templates.Environments(tmp_path)
    found = [(f, line) for f, line, name in templates.unguarded_reads(envs, "t.sms.j2") if name == "city"]
    assert found == [("t.sms.j2", line) for line in lines]
    failed = False
    try:
        templates.render_message(envs, "sms", "t.sms.j2", {"nickname": "Ann", "other": 1})
    except jinja2.UndefinedError:
        failed = True
    assert failed == bool(lines), "the check and the renderer disagree"


def test_a_read_in_a_partial_names_the_partial(tmp_path: Path) -> None:
    (tmp_path / "greeting.j2").write_text("Hi\n{{ city }}", encoding="utf-8")
    (tmp_path / "t.sms.j2").write_text('{% include "greeting.j2" %}', encoding="utf-8")
    envs = templates.Environments(tmp_path)
    assert templates.unguarded_reads(envs, "t.sms.j2") == [("greeting.j2", 2, "city")]
