"""A journey file: its settings and its steps."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from touchpoint.journey.model.settings import JourneySettings
from touchpoint.journey.model.steps import Step

SCHEMA_ID = "touchpoint/v1"


class Journey(JourneySettings):
    """One journey file."""

    model_config = ConfigDict(title="Touchpoint journey")

    schema_: Literal["touchpoint/v1"] = Field(alias="schema", description="Always touchpoint/v1.")
    steps: list[Step] = Field(min_length=1, description="What happens, in order.")
