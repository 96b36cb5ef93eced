"""The event catalogue (``events.yaml`` beside the journeys): the app events a team sends.

A journey triggered by ``form.submited`` validates and never fires; checked against the catalogue
(and the engine's own feedback events) the typo is an error with a did-you-mean."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from touchpoint.contract import RESERVED_EVENT_PREFIXES
from touchpoint.events import FEEDBACK_PROPERTIES, FEEDBACK_TYPES
from touchpoint.journey.types import AttributeName, EventType
from touchpoint.suggest import did_you_mean

CATALOGUE_FILE = "events.yaml"
CATALOGUE_SCHEMA_ID = "touchpoint/events-v1"

PropertyType = Literal["string", "number", "boolean", "timestamp", "date", "list", "object"]

#: How many known names a message lists before "… and N more".
LISTED = 12


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class EventSpec(_Strict):
    description: str | None = Field(
        None, description="What the event means, for the people who read journeys."
    )
    properties: dict[AttributeName, PropertyType] = Field(
        default_factory=dict, description="Properties the event carries and their types."
    )


class CatalogueFile(_Strict):
    schema_: Literal["touchpoint/events-v1"] = Field(
        alias="schema", description="Always touchpoint/events-v1."
    )
    events: dict[EventType, EventSpec] = Field(description="The app's event types.")


@dataclass(frozen=True)
class Catalogue:
    """Known app event types and the properties each carries."""

    events: dict[str, frozenset[str]]

    @classmethod
    def from_data(cls, data: Any) -> Catalogue:
        """Raises pydantic.ValidationError for a malformed file."""
        parsed = CatalogueFile.model_validate(data)
        return cls({name: frozenset(spec.properties) for name, spec in parsed.events.items()})


def unknown_event(catalogue: Catalogue | None, event: str) -> str | None:
    """Why ``event`` can never arrive, or None when it can (or cannot be known without a catalogue)."""
    reserved = event.startswith(RESERVED_EVENT_PREFIXES)
    if event in FEEDBACK_TYPES or (catalogue is not None and event in catalogue.events):
        return None
    if reserved:
        known = sorted(FEEDBACK_TYPES)
        return f'unknown event "{event}"{_hint(event, known)} feedback events: {_listed(known)}'
    if catalogue is None:
        return None
    known = sorted({*catalogue.events, *FEEDBACK_TYPES})
    return (
        f'unknown event "{event}"{_hint(event, known)} known events: {_listed(sorted(catalogue.events))}, '
        f"and the feedback events (email.clicked, …); declare it in {CATALOGUE_FILE}"
    )


def unknown_properties(
    catalogue: Catalogue | None, event: str, names: Iterable[str]
) -> list[tuple[str, str]]:
    """``(property, message)`` for each filtered property the event never carries."""
    if event in FEEDBACK_TYPES:
        properties: frozenset[str] = FEEDBACK_PROPERTIES
    elif catalogue is not None and event in catalogue.events:
        properties = catalogue.events[event]
    else:
        return []
    found = []
    for name in names:
        if name.split(".", 1)[0] in properties:
            continue
        known = sorted(properties)
        listed = f"its properties: {_listed(known)}" if known else "it declares no properties"
        found.append((name, f'{event} has no property "{name}"{_hint(name, known)} {listed}'))
    return found


def _hint(name: str, known: list[str]) -> str:
    return did_you_mean(name, known) or ";"


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:LISTED])
    return shown + (f" … and {len(names) - LISTED} more" if len(names) > LISTED else "")
