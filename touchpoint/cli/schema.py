"""schema: the JSON Schemas of journeys, campaigns, app events, the event catalogue and simulation
results, written or drift-checked."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pydantic import BaseModel

from touchpoint.catalogue import CatalogueFile
from touchpoint.events import app_event_schema
from touchpoint.journey.model import Journey
from touchpoint.journey.model.campaign import CampaignFile
from touchpoint.local.results import results_schema

DEFAULT_SCHEMA = Path("docs/journey.schema.json")
DEFAULT_EVENT_SCHEMA = Path("docs/events.schema.json")
DEFAULT_RESULTS_SCHEMA = Path("docs/results.schema.json")
DEFAULT_CATALOGUE_SCHEMA = Path("docs/events-catalogue.schema.json")
DEFAULT_CAMPAIGN_SCHEMA = Path("docs/campaign.schema.json")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "schema",
        help="write the JSON Schemas of journeys, campaigns, app events, the event catalogue and "
        "simulation results",
    )
    p.add_argument("--out", type=Path, default=DEFAULT_SCHEMA, help="the journey schema's file")
    p.add_argument(
        "--events-out", type=Path, default=DEFAULT_EVENT_SCHEMA, help="the app event schema's file"
    )
    p.add_argument(
        "--results-out",
        type=Path,
        default=DEFAULT_RESULTS_SCHEMA,
        help="the simulation results schema's file",
    )
    p.add_argument(
        "--catalogue-out",
        type=Path,
        default=DEFAULT_CATALOGUE_SCHEMA,
        help="the event catalogue (events.yaml) schema's file",
    )
    p.add_argument(
        "--campaign-out",
        type=Path,
        default=DEFAULT_CAMPAIGN_SCHEMA,
        help="the campaign file (campaigns/<id>.yaml) schema's file",
    )
    p.add_argument("--check", action="store_true", help="fail when the committed schemas are stale")
    p.set_defaults(run=_schema)


def journey_schema() -> str:
    return _published(Journey, "https://touchpoint.dev/schemas/journey-v1.json")


def catalogue_schema() -> str:
    return _published(CatalogueFile, "https://touchpoint.dev/schemas/events-catalogue-v1.json")


def campaign_schema() -> str:
    return _published(CampaignFile, "https://touchpoint.dev/schemas/campaign-v1.json")


def _published(model: type[BaseModel], schema_id: str) -> str:
    """A model's JSON Schema as the files in docs/ hold it: draft 2020-12, its id, sorted keys."""
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schema_id,
        **model.model_json_schema(by_alias=True),
    }
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def event_schema() -> str:
    return json.dumps(app_event_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _schema(args: argparse.Namespace) -> int:
    outputs = (
        (args.out, journey_schema()),
        (args.events_out, event_schema()),
        (args.results_out, results_schema()),
        (args.catalogue_out, catalogue_schema()),
        (args.campaign_out, campaign_schema()),
    )
    if args.check:
        stale = [
            path for path, text in outputs if not path.exists() or path.read_text(encoding="utf-8") != text
        ]
        for path in stale:
            print(f"{path} is stale: run `touchpoint schema` and commit the result", file=sys.stderr)
        if not stale:
            print(" and ".join(str(path) for path, _ in outputs) + " are up to date")
        return 1 if stale else 0
    for path, text in outputs:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 0
