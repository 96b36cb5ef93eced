"""The compiled journeys the stack deploys, read from ``statemachines/`` (manifests + registry).

The stack derives everything per journey from here (state machine, IAM, schedule, dashboard, KPI
alarms), so ``touchpoint compile`` plus ``cdk deploy`` ships a new journey with no infra change. A
manifest that asks for something the stack cannot wire fails the synth with the reason."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from infra.wiring import INTEGRATIONS
from touchpoint import contract
from touchpoint import registry as registry_module
from touchpoint.registry import RegistryEntry

MANIFEST_SCHEMA = "touchpoint/manifest-v1"

#: Placeholders the stack knows how to fill (docs: touchpoint/contract.py).
PLACEHOLDERS = frozenset(
    {
        contract.SEND_EMAIL_FUNCTION,
        contract.SEND_SMS_FUNCTION,
        contract.TRIGGER_EVAL_FUNCTION,
        contract.EVENT_BUS,
    }
)


class ProjectError(ValueError):
    """statemachines/ cannot be deployed as it is; the message says what to run or change."""


class _Integration(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    resource: str
    target: str


class _Schedule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    expression: str
    timezone: str


class _Manifest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    schema_: str
    journey_id: str
    state_machine: str
    definition: str
    placeholders: list[str]
    integrations: list[_Integration]
    schedule: _Schedule | None = None
    trigger: str


@dataclass(frozen=True)
class Integration:
    resource: str
    target: str  # a placeholder: which function, table or bus


@dataclass(frozen=True)
class Schedule:
    expression: str  # EventBridge Scheduler cron(...) / rate(...)
    timezone: str


@dataclass(frozen=True)
class CompiledJourney:
    id: str
    state_machine_name: str
    definition: Path
    placeholders: tuple[str, ...]
    integrations: tuple[Integration, ...]
    schedule: Schedule | None
    trigger: str
    settings: RegistryEntry

    def targets(self, resource_prefix: str) -> list[str]:
        """Placeholders the journey reaches through integrations whose resource starts so."""
        return sorted({i.target for i in self.integrations if i.resource.startswith(resource_prefix)})


def _manifest(path: Path) -> _Manifest:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        data["schema_"] = data.pop("schema", None)
        return _Manifest.model_validate(data)
    except (ValueError, ValidationError) as error:
        raise ProjectError(
            f"{path}: not a Touchpoint manifest ({error}); run `touchpoint compile`"
        ) from error


def load(statemachines: Path) -> list[CompiledJourney]:
    """Every compiled journey in ``statemachines``, checked for what the stack needs."""
    registry_path = statemachines / registry_module.FILE_NAME
    if not registry_path.is_file():
        raise ProjectError(f"{registry_path} is missing; run `touchpoint compile` first")
    registry = registry_module.load(registry_path)
    journeys: list[CompiledJourney] = []
    for path in sorted(statemachines.glob("*.manifest.json")):
        manifest = _manifest(path)
        journey_id = manifest.journey_id
        where = f"{path.name}:"
        if manifest.schema_ != MANIFEST_SCHEMA:
            raise ProjectError(f"{where} schema {manifest.schema_!r}, expected {MANIFEST_SCHEMA!r}")
        if manifest.state_machine != contract.state_machine_name(journey_id):
            raise ProjectError(
                f"{where} state machine must be named {contract.state_machine_name(journey_id)}"
            )
        if journey_id not in registry.journeys:
            raise ProjectError(f"{where} {journey_id} is not in registry.json; run `touchpoint compile`")
        definition = statemachines / manifest.definition
        if not definition.is_file():
            raise ProjectError(f"{where} {manifest.definition} is missing; run `touchpoint compile`")
        used = set(contract.PLACEHOLDER.findall(definition.read_text(encoding="utf-8")))
        if used != set(manifest.placeholders):
            raise ProjectError(
                f"{where} placeholders {sorted(manifest.placeholders)} differ from those in "
                f"{manifest.definition} {sorted(used)}; run `touchpoint compile`"
            )
        unknown = used - PLACEHOLDERS
        if unknown:
            raise ProjectError(f"{where} the stack cannot fill placeholders {sorted(unknown)}")
        for integration in manifest.integrations:
            need = INTEGRATIONS.get(integration.resource)
            if need is None or integration.target not in need.targets:
                raise ProjectError(
                    f"{where} the stack cannot grant {integration.resource} on {integration.target}"
                )
        journeys.append(
            CompiledJourney(
                id=journey_id,
                state_machine_name=manifest.state_machine,
                definition=definition,
                placeholders=tuple(sorted(manifest.placeholders)),
                integrations=tuple(Integration(i.resource, i.target) for i in manifest.integrations),
                schedule=Schedule(manifest.schedule.expression, manifest.schedule.timezone)
                if manifest.schedule
                else None,
                trigger=manifest.trigger,
                settings=registry.journeys[journey_id],
            )
        )
    missing = set(registry.journeys) - {j.id for j in journeys}
    if missing:
        raise ProjectError(
            f"registry.json lists {sorted(missing)} without a manifest; run `touchpoint compile`"
        )
    if not journeys:
        raise ProjectError(f"{statemachines} has no compiled journeys; run `touchpoint compile`")
    return journeys
