"""``emit``: put an event on the bus for other systems (CRM, push, WeChat)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, Field, JsonValue
from pydantic_core import PydanticCustomError

from touchpoint import contract
from touchpoint.journey.model.base import Strict
from touchpoint.journey.model.step import Finding, StepBase
from touchpoint.journey.types import AttributeName, EventType


def _plain_keys(properties: dict[str, Any]) -> dict[str, Any]:
    """Keys ending in ``.$`` would turn into JSONPath in the compiled ASL; none may contain ``$``."""

    def keys(value: Any) -> list[str]:
        if isinstance(value, dict):
            return [*value, *(k for v in value.values() for k in keys(v))]
        if isinstance(value, list):
            return [k for v in value for k in keys(v)]
        return []

    bad = sorted(k for k in keys(properties) if "$" in k)
    if bad:
        raise PydanticCustomError(
            "key", 'property names may not contain "$" ({keys})', {"keys": ", ".join(bad)}
        )
    return properties


class EmitSpec(Strict):
    type: EventType = Field(
        description="Event type put on the bus, e.g. lead.qualified (CRM / sales hand-off)."
    )
    properties: Annotated[dict[AttributeName, JsonValue], AfterValidator(_plain_keys)] = Field(
        default_factory=dict, description="Static event properties."
    )


class EmitStep(StepBase):
    kind: ClassVar[str] = "emit"
    emit: EmitSpec = Field(description="Put an event on the bus for other systems (CRM, push, WeChat).")

    def problems(self) -> Iterator[Finding]:
        if self.emit.type.startswith(contract.RESERVED_EVENT_PREFIXES):
            yield (
                ("emit", "type"),
                (
                    f'"{self.emit.type}" is reserved for Touchpoint\'s own events '
                    f"({', '.join(p + '*' for p in contract.RESERVED_EVENT_PREFIXES)}); choose another type"
                ),
                "error",
            )
