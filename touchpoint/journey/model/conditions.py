"""Conditions on a profile (audience, ``if``, canary segments) and ``where`` filters on events."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import Discriminator, Field, Tag, model_validator
from pydantic_core import PydanticCustomError

from touchpoint.journey.model.base import Strict, by_key, tags
from touchpoint.journey.types import AttributeName, Channel, Duration, Scalar, TagName

OPERATORS: tuple[str, ...] = (
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "contains",
    "exists",
    "within",
    "older_than",
)


class Ops(Strict):
    """Comparison operators; several in one mapping must all hold (``{gte: 18, lt: 30}``)."""

    eq: Scalar | None = Field(None, description="Equal to this value.")
    ne: Scalar | None = Field(None, description="Not equal to this value (true when the value is missing).")
    gt: Scalar | None = Field(None, description="Greater than (numbers, or ISO 8601 timestamps).")
    gte: Scalar | None = Field(None, description="Greater than or equal.")
    lt: Scalar | None = Field(None, description="Less than.")
    lte: Scalar | None = Field(None, description="Less than or equal.")
    in_: list[Scalar] | None = Field(None, alias="in", description="Equal to one of these values.")
    contains: Scalar | None = Field(None, description="A list or text value that contains this element.")
    exists: bool | None = Field(None, description="true: the value is present; false: it is missing.")
    within: Duration | None = Field(
        None, description="A timestamp no older than this duration (e.g. 7d). False when missing."
    )
    older_than: Duration | None = Field(
        None, description="A timestamp older than this duration (e.g. 30d). False when missing."
    )

    @model_validator(mode="after")
    def _needs_operator(self) -> Ops:
        if not self.operators():
            raise PydanticCustomError("no_operator", "needs an operator: one of " + ", ".join(OPERATORS))
        return self

    def operators(self) -> list[tuple[str, Any]]:
        """The operators written, in canonical order, with their operands."""
        fields = type(self).model_fields
        set_names = {fields[name].alias or name for name in self.model_fields_set}
        return [(op, getattr(self, "in_" if op == "in" else op)) for op in OPERATORS if op in set_names]


class AttributeCondition(Ops):
    kind: ClassVar[str] = "attribute"
    attribute: AttributeName = Field(
        description="Profile attribute name, e.g. orders_count or last_order_at."
    )


class TagCondition(Strict):
    kind: ClassVar[str] = "tag"
    tag: TagName = Field(description="True when the profile carries this tag.")


class ConsentCondition(Strict):
    kind: ClassVar[str] = "consent"
    consent: Channel = Field(
        description="True when the profile has granted marketing consent for this channel."
    )


class AllCondition(Strict):
    kind: ClassVar[str] = "all"
    all_: list[Condition] = Field(alias="all", min_length=1, description="True when every condition holds.")


class AnyCondition(Strict):
    kind: ClassVar[str] = "any"
    any_: list[Condition] = Field(
        alias="any", min_length=1, description="True when at least one condition holds."
    )


class NotCondition(Strict):
    kind: ClassVar[str] = "not"
    not_: Condition = Field(alias="not", description="True when the condition does not hold.")


_Conditions = (
    Annotated[AttributeCondition, Tag("attribute")]
    | Annotated[TagCondition, Tag("tag")]
    | Annotated[ConsentCondition, Tag("consent")]
    | Annotated[AllCondition, Tag("all")]
    | Annotated[AnyCondition, Tag("any")]
    | Annotated[NotCondition, Tag("not")]
)
CONDITION_KINDS: tuple[str, ...] = tags(_Conditions)
Condition = Annotated[_Conditions, by_key("condition", CONDITION_KINDS)]

WhereValue = Annotated[
    (Annotated[Scalar, Tag("value")] | Annotated[Ops, Tag("ops")]),
    Discriminator(lambda v: "ops" if isinstance(v, dict | Ops) else "value"),
]
Where = dict[AttributeName, WhereValue]
"""Event property filters: ``{step_id: coupon}`` (equality) or ``{items: {gt: 0}}`` (operators)."""

WHERE_DESCRIPTION = "Event property filters: a value means equal, an operator map such as {gt: 0} compares."

for _model in (AllCondition, AnyCondition, NotCondition):
    _model.model_rebuild()
