"""The journey language (``schema: touchpoint/v1``) as pydantic models, one module per concern.

Everything is ``extra="forbid"`` and frozen: a journey is reviewed data, not a mutable object.
This package hands on the public names of its modules, so ``touchpoint.journey.model.Journey``
stays the one way in."""

from touchpoint.journey.model.base import Strict
from touchpoint.journey.model.conditions import (
    CONDITION_KINDS,
    OPERATORS,
    AllCondition,
    AnyCondition,
    AttributeCondition,
    Condition,
    ConsentCondition,
    NotCondition,
    Ops,
    TagCondition,
    Where,
    WhereValue,
)
from touchpoint.journey.model.emit import EmitSpec, EmitStep
from touchpoint.journey.model.exit import ExitStep
from touchpoint.journey.model.if_ import IfStep
from touchpoint.journey.model.journey import SCHEMA_ID, Journey
from touchpoint.journey.model.send import SendSpec, SendStep
from touchpoint.journey.model.set import SetStep
from touchpoint.journey.model.settings import (
    COUNT_KPIS,
    RATE_KPIS,
    Campaign,
    Cap,
    CountKpi,
    Effective,
    Entry,
    ExitRule,
    Goal,
    Holdout,
    JourneySettings,
    KpiName,
    KpiTarget,
    Limits,
    RateKpi,
    Reentry,
    ReentryAfter,
    Rollout,
    SendWindow,
)
from touchpoint.journey.model.split import SplitPath, SplitStep
from touchpoint.journey.model.step import BranchList, Finding, Hold, StepBase, StepRules
from touchpoint.journey.model.steps import STEP_KINDS, Step
from touchpoint.journey.model.tag import TagSpec, TagStep
from touchpoint.journey.model.triggers import (
    TRIGGER_KINDS,
    AttributeChange,
    AttributeTrigger,
    DateSpec,
    DateTrigger,
    EventTrigger,
    ScheduleTrigger,
    Trigger,
)
from touchpoint.journey.model.wait import Until, WaitStep, WaitUntil, WaitValue
from touchpoint.journey.model.wait_for import WaitForSpec, WaitForStep

__all__ = [
    "CONDITION_KINDS",
    "COUNT_KPIS",
    "OPERATORS",
    "RATE_KPIS",
    "SCHEMA_ID",
    "STEP_KINDS",
    "TRIGGER_KINDS",
    "AllCondition",
    "AnyCondition",
    "AttributeChange",
    "AttributeCondition",
    "AttributeTrigger",
    "BranchList",
    "Campaign",
    "Cap",
    "Condition",
    "ConsentCondition",
    "CountKpi",
    "DateSpec",
    "DateTrigger",
    "Effective",
    "EmitSpec",
    "EmitStep",
    "Entry",
    "EventTrigger",
    "ExitRule",
    "ExitStep",
    "Finding",
    "Goal",
    "Hold",
    "Holdout",
    "IfStep",
    "Journey",
    "JourneySettings",
    "KpiName",
    "KpiTarget",
    "Limits",
    "NotCondition",
    "Ops",
    "RateKpi",
    "Reentry",
    "ReentryAfter",
    "Rollout",
    "ScheduleTrigger",
    "SendSpec",
    "SendStep",
    "SendWindow",
    "SetStep",
    "SplitPath",
    "SplitStep",
    "Step",
    "StepBase",
    "StepRules",
    "Strict",
    "TagCondition",
    "TagSpec",
    "TagStep",
    "Trigger",
    "Until",
    "WaitForSpec",
    "WaitForStep",
    "WaitStep",
    "WaitUntil",
    "WaitValue",
    "Where",
    "WhereValue",
]
