"""Shared paths for the test tiers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
JOURNEYS = REPO / "journeys"
STATEMACHINES = REPO / "statemachines"
GOLDEN = REPO / "tests" / "golden"
NODE_BIN = REPO / "node_modules" / ".bin"
UPDATE_GOLDENS = os.environ.get("TOUCHPOINT_UPDATE_GOLDENS") == "1"


@pytest.fixture
def repo() -> Path:
    return REPO
