"""The reliability tier reuses the functional tier's moto deployment (fixtures ``world``, ``env``)
and records the figures it asserts: ``make reliability-report`` runs it larger and writes them to
docs/reliability.md (``bench/reliability_report.py``)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.functional.conftest import aws, env, settings, world

__all__ = ["aws", "env", "figures", "settings", "world"]


class Figures:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def record(self, figure: str, **values: Any) -> None:
        """One row of the table: what was injected and what the test asserted about it."""
        self.rows.setdefault(figure, {}).update(values)


@pytest.fixture(scope="session")
def figures() -> Iterator[Figures]:
    recorded = Figures()
    yield recorded
    target = os.environ.get("TOUCHPOINT_RELIABILITY_FIGURES")
    if target:
        path = Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(recorded.rows, indent=2, sort_keys=True) + "\n", encoding="utf-8")
