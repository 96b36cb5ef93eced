"""The simulator, along its seams: the world built (``world``), what will happen scheduled
(``schedule``), the clock loop (``loop``), what it saw (``observe``, ``record``), the behaviour
model's reactions (``reactions``) and the results (``results``)."""

from touchpoint.local.simulator.loop import Progress
from touchpoint.local.simulator.results import SNS_NOTE
from touchpoint.local.simulator.runner import Simulation

__all__ = ["SNS_NOTE", "Progress", "Simulation"]
