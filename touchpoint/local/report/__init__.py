"""The simulator's HTML report (docs/simulation.md): ``render(results, journeys)``."""

from touchpoint.local.report.fmt import MAX_FAILURE_ROWS
from touchpoint.local.report.page import render

__all__ = ["MAX_FAILURE_ROWS", "render"]
