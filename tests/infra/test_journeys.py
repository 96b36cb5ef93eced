"""Reading statemachines/ for the stack: what it derives per journey, and the clear refusal when
the compiled output cannot be deployed as it is. No synthesis here."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from infra.journeys import ProjectError, load
from tests.conftest import STATEMACHINES
from touchpoint import contract


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    out = tmp_path / "statemachines"
    shutil.copytree(STATEMACHINES, out)
    return out


def _edit(path: Path, **changes: object) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(json.dumps(data), encoding="utf-8")


def test_every_committed_journey_loads_with_its_registry_entry() -> None:
    journeys = {j.id: j for j in load(STATEMACHINES)}
    registry = json.loads((STATEMACHINES / "registry.json").read_text(encoding="utf-8"))
    assert set(journeys) == set(registry["journeys"])
    cart = journeys["cart-abandonment"]
    assert cart.state_machine_name == "touchpoint-cart-abandonment"
    assert cart.schedule is None
    assert cart.settings.kpis["open_rate"].floor == 0.1
    assert cart.settings.kpis["open_rate"].min_sample == 100  # the journey language's default
    # tag/set/emit run in trigger_eval (decision D15): a journey never writes a profile itself
    assert cart.targets("arn:aws:states:::lambda:invoke.waitForTaskToken") == [
        contract.SEND_EMAIL_FUNCTION,
        contract.TRIGGER_EVAL_FUNCTION,
    ]
    launch = journeys["d12-launch"]
    assert launch.schedule is not None
    assert (launch.schedule.expression, launch.schedule.timezone) == (
        "cron(0 10 9 12 ? 2026)",
        "Asia/Shanghai",
    )


def test_missing_registry(copy: Path) -> None:
    (copy / "registry.json").unlink()
    with pytest.raises(ProjectError, match=r"registry\.json is missing; run `touchpoint compile` first"):
        load(copy)


def test_placeholders_must_match_the_definition(copy: Path) -> None:
    _edit(copy / "birthday.manifest.json", placeholders=["EventBusName"])
    with pytest.raises(ProjectError, match=r"birthday.manifest.json: placeholders \['EventBusName'\] differ"):
        load(copy)


def test_an_integration_the_stack_cannot_grant_is_refused(copy: Path) -> None:
    manifest = copy / "birthday.manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["integrations"].append({"resource": "arn:aws:states:::sqs:sendMessage", "target": "EventBusName"})
    manifest.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ProjectError, match="cannot grant arn:aws:states:::sqs:sendMessage"):
        load(copy)


@pytest.mark.parametrize(
    ("resource", "target"),
    [
        ("arn:aws:states:::lambda:invoke", contract.EVENT_BUS),  # a bus is not a function
        ("arn:aws:states:::events:putEvents", contract.SEND_EMAIL_FUNCTION),  # nor a function a bus
    ],
)
def test_an_integration_on_a_target_of_the_wrong_kind_is_refused(
    copy: Path, resource: str, target: str
) -> None:
    manifest = copy / "birthday.manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["integrations"].append({"resource": resource, "target": target})
    manifest.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ProjectError, match=f"cannot grant {resource} on {target}"):
        load(copy)


def test_a_renamed_state_machine_is_refused(copy: Path) -> None:
    _edit(copy / "birthday.manifest.json", state_machine="birthday")
    with pytest.raises(ProjectError, match="must be named touchpoint-birthday"):
        load(copy)


def test_registry_and_manifests_must_agree(copy: Path) -> None:
    (copy / "birthday.manifest.json").unlink()
    with pytest.raises(ProjectError, match=r"registry.json lists \['birthday'\] without a manifest"):
        load(copy)
