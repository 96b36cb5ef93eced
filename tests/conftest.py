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


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> str:
    """moto's fake credentials and the region every tier uses; returns the region."""
    for key, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }.items():
        monkeypatch.setenv(key, value)
    return "us-east-1"
