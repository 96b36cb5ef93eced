"""The pure parts of proof sends: which steps a journey's proofs cover, and where the marker goes."""

from __future__ import annotations

from tests.conftest import JOURNEYS
from touchpoint.engine.message import SendingStep, marked, send_steps
from touchpoint.engine.proof import TEST_MARKER
from touchpoint.journey.model import Journey
from touchpoint.journey.source import read_source


def _journey(journey_id: str) -> Journey:
    return Journey.model_validate(read_source(JOURNEYS / f"{journey_id}.yaml").data)


def test_send_steps_are_every_send_in_step_order_with_compiled_ids_and_categories() -> None:
    assert send_steps(_journey("new-user-7day")) == [
        SendingStep("welcome", "email", "welcome", "marketing"),
        SendingStep("tips-advanced", "email", "tips-advanced", "marketing"),
        SendingStep("tips-basic", "email", "tips-basic", "marketing"),
        SendingStep("offer", "email", "first-order-offer", "marketing"),
        SendingStep("reminder-sms", "sms", "offer-reminder", "marketing"),
        SendingStep("reminder-email", "email", "offer-reminder", "marketing"),
    ]
    # the journey's category, unless the step overrides it (as the compiled send does)
    assert send_steps(_journey("membership-expiry")) == [
        SendingStep("notice", "email", "membership-expiry", "transactional"),
        SendingStep("offer", "sms", "renewal-offer", "marketing"),
    ]


def test_the_sms_marker_leads_unless_a_signature_must() -> None:
    assert marked("Your code is ready", TEST_MARKER, "") == "[TEST] Your code is ready"
    assert marked("Your code is ready", TEST_MARKER, "【T】") == "[TEST] Your code is ready"  # not a +86 text
    assert marked("【T】双十二回T退订", TEST_MARKER, "【T】") == "【T】[TEST] 双十二回T退订"
    assert marked("【T】双十二回T退订", "", "【T】") == "【T】双十二回T退订"  # a real send is unmarked
