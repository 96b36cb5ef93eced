"""Deterministic per-user buckets for canary, holdout and split steps.

The same user lands in the same bucket for the same journey and purpose every time, on every
machine; raising a canary from 5% to 20% keeps the first 5% in."""

from __future__ import annotations

import hashlib

from touchpoint.contract import BUCKETS


def bucket(user_id: str, journey_id: str, purpose: str) -> int:
    """A number in [0, BUCKETS) from a hash of user, journey and purpose."""
    digest = hashlib.sha256(f"{purpose}\x1f{journey_id}\x1f{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def within(value: int, percent: float) -> bool:
    """True for the first ``percent`` of buckets."""
    return value < round(percent * BUCKETS / 100)
