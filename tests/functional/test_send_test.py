"""``touchpoint send-test`` on moto: proofs go through the real providers, built as the send
builds them with [TEST] in front, touch no cap, KPI or journey state, and each leaves one
append-only audit record naming the STS caller."""

from __future__ import annotations

import email
import email.policy
import json
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from tests.conftest import REPO
from tests.functional.conftest import World
from touchpoint.aws import wiring
from touchpoint.channels import tags
from touchpoint.cli.main import main
from touchpoint.local import strict
from touchpoint.local.meter import Meter
from touchpoint.local.sms_voice import LocalSmsVoice
from touchpoint.logs import redact
from touchpoint.profiles import contact_digest

JOURNEY = "new-user-7day"
#: What moto's GetCallerIdentity answers for its default credentials.
MOTO_CALLER = "arn:aws:sts::123456789012:user/moto"
TESTER = "tester@example.com"
TESTER_PHONE = "+8613800000002"


@pytest.fixture(autouse=True)
def _restore_clients() -> Iterator[None]:
    yield
    for service in ("sesv2", "sts", "pinpoint-sms-voice-v2"):
        wiring.override_client(service, None)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], list[str]]:
    """The command's exit code and its stdout and stderr lines."""
    code = main(["send-test", *argv])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def exported_profile(world: World, user_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """The user's stored profile as ``touchpoint privacy export`` prints it, in a file."""
    assert main(["privacy", "export", user_id]) == 0
    profile = json.loads(capsys.readouterr().out)["profile"]
    path = tmp_path / f"{user_id}.json"
    path.write_text(json.dumps(profile))
    return path


def items(world: World, table: str) -> dict[tuple[str, str], dict[str, Any]]:
    found = world.client("dynamodb").scan(TableName=table)["Items"]
    key = ("user_id", "user_id") if table == "profiles" else ("pk", "sk")
    return {(i[key[0]]["S"], i[key[1]]["S"]): i for i in found}


def parse(sent: Any) -> email.message.EmailMessage:
    message = email.message_from_string(sent.raw_data, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


def bodies(message: email.message.EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    return text, html


def test_an_email_proof_is_the_real_message_with_test_in_front_and_touches_nothing_but_the_audit_log(
    env: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env.register("u1", attributes={"nickname": "Lin"})
    profile = exported_profile(env, "u1", tmp_path, capsys)
    ses_requests: list[Mapping[str, Any]] = []
    ses = strict.install(
        env.client("sesv2"), lambda operation, params, _: ses_requests.append({"op": operation, **params})
    )
    wiring.override_client("sesv2", ses)
    before = {table: items(env, table) for table in ("state", "kpis", "profiles")}
    events_before = len(env.journey_events())

    code, out, err = run(capsys, JOURNEY, "welcome", "--to", TESTER, "--profile", str(profile))

    assert (code, err) == (0, [])
    [shown] = [json.loads(line) for line in out]
    assert TESTER not in "\n".join(out)
    [proof] = env.emails()
    assert set(proof.destinations) == {TESTER}
    # outside caps, KPIs and the journey: one new item in the state table, the audit record
    after = {table: items(env, table) for table in ("state", "kpis", "profiles")}
    assert after["kpis"] == before["kpis"]
    assert after["profiles"] == before["profiles"]
    assert len(env.journey_events()) == events_before
    [new] = set(after["state"]) - set(before["state"])
    assert {k: v for k, v in after["state"].items() if k != new} == before["state"]
    assert new[0] == f"JOURNEY#{JOURNEY}"
    assert new[1].startswith("PROOF#")
    assert "@" not in json.dumps(after["state"][new])
    [record] = env.state.proofs(JOURNEY)
    assert (record.by, record.journey_id, record.step_id, record.channel) == (
        MOTO_CALLER,
        JOURNEY,
        "welcome",
        "email",
    )
    assert record.destination == redact(TESTER) == shown["to"]
    assert record.message_id == shown["message_id"]
    assert record.at == env.clock.now()
    # its provider events cannot be attributed to the journey: a proof tag, no journey tags
    [request] = ses_requests
    assert request["EmailTags"] == [{"Name": tags.PROOF, "Value": tags.encode(JOURNEY)}]

    # the real send of the same step for the same profile builds the same message
    env.send(env.send_request(JOURNEY, "welcome", "u1", token="t1"))
    proof_message, real_message = (parse(m) for m in env.emails())
    assert str(proof_message["Subject"]) == "[TEST] " + str(real_message["Subject"])
    assert "Lin" in str(real_message["Subject"])
    assert bodies(proof_message) == bodies(real_message)
    assert proof_message["List-Unsubscribe"] == real_message["List-Unsubscribe"]


def test_an_sms_proof_has_the_test_marker_after_the_signature_and_the_opt_out_suffix(
    env: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env.register("u1", phone="+8613800000001", sms_consent=True, attributes={"nickname": "Lin"})
    profile = exported_profile(env, "u1", tmp_path, capsys)

    code, out, err = run(capsys, JOURNEY, "reminder-sms", "--to", TESTER_PHONE, "--profile", str(profile))

    assert (code, err) == (0, [])
    assert TESTER_PHONE not in "\n".join(out)
    env.send(env.send_request(JOURNEY, "reminder-sms", "u1", token="t1"))
    (to, proof), (_, real) = env.sms_messages()
    assert to == TESTER_PHONE
    assert real.startswith("【Touchpoint】")
    assert real.endswith("回T退订")
    assert proof == real.replace("【Touchpoint】", "【Touchpoint】[TEST] ", 1)
    [record] = env.state.proofs(JOURNEY)
    assert (record.by, record.channel, record.destination) == (MOTO_CALLER, "sms", redact(TESTER_PHONE))


def test_an_sms_proof_through_end_user_messaging_names_no_journey_and_an_opted_out_number_is_refused(
    env: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default SMS adapter (End User Messaging SMS, local: moto has none)."""
    monkeypatch.setenv("TOUCHPOINT_SMS_ADAPTER", "end-user-messaging")
    sms = LocalSmsVoice(Meter(), env.clock)
    sms.opt_out("+14155550199")
    wiring.override_client("pinpoint-sms-voice-v2", sms)

    code, out, _ = run(capsys, JOURNEY, "reminder-sms", "--to", "+14155550100")

    assert code == 0
    [message] = sms.messages.values()
    assert message.message_id == json.loads(out[0])["message_id"]
    assert (message.destination, message.message_type) == ("+14155550100", "PROMOTIONAL")
    assert message.body.startswith("[TEST] Touchpoint Coffee: Hi, ")  # not +86: no signature or suffix
    assert message.context == {tags.PROOF: JOURNEY}  # its delivery events name no journey
    code, out, err = run(capsys, JOURNEY, "reminder-sms", "--to", "+14155550199")
    assert (code, out) == (2, [])
    assert err == [f"touchpoint: {redact('+14155550199')} opted out with the carrier"]
    assert len(sms.messages) == 1
    assert len(env.state.proofs(JOURNEY)) == 1


def test_every_proof_is_a_new_audit_record(env: World, capsys: pytest.CaptureFixture[str]) -> None:
    for _ in range(3):
        assert run(capsys, JOURNEY, "welcome", "--to", TESTER)[0] == 0
    records = env.state.proofs(JOURNEY)
    assert len(records) == 3 == len(env.emails())
    assert len({r.message_id for r in records}) == 3
    with pytest.raises(ValueError, match="already exists"):
        env.state.record_proof(records[0])
    assert env.state.proofs(JOURNEY) == records


@pytest.fixture
def qa_bundle(env: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The deployed bundle, with two QA accounts in the journey's rollout."""
    root = tmp_path / "bundle"
    shutil.copytree(REPO / "journeys", root / "journeys")
    (root / "statemachines").mkdir()
    shutil.copy(REPO / "statemachines" / "registry.json", root / "statemachines")
    source = root / "journeys" / f"{JOURNEY}.yaml"
    source.write_text(
        source.read_text().replace("holdout:", "rollout: {test_users: [qa-1, qa-2]}\nholdout:", 1)
    )
    monkeypatch.setenv("TOUCHPOINT_BUNDLE_ROOT", str(root))
    return root


def test_test_users_get_one_proof_of_every_send_step_in_step_order(
    env: World, qa_bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env.register("qa-1", phone="+8613800000001", sms_consent=True)
    env.register("qa-2")  # no phone: its SMS proof is refused, the rest still go
    before = items(env, "state")

    code, out, err = run(capsys, JOURNEY, "--test-users")

    steps = ["welcome", "tips-advanced", "tips-basic", "offer", "reminder-sms", "reminder-email"]
    assert code == 1
    assert err == [
        "touchpoint: qa-2 reminder-sms: not sent: the test user's profile has no phone",
        "11 proofs sent, 1 refused",
    ]
    shown = [json.loads(line) for line in out]
    assert [s["step_id"] for s in shown] == steps + [s for s in steps if s != "reminder-sms"]
    emails = env.emails()
    assert [sorted(m.destinations)[0] for m in emails] == ["qa-1@example.com"] * 5 + ["qa-2@example.com"] * 5
    assert all(str(parse(m)["Subject"]).startswith("[TEST] ") for m in emails)
    assert [to for to, _ in env.sms_messages()] == ["+8613800000001"]
    records = env.state.proofs(JOURNEY)
    assert len(records) == 11
    assert {r.by for r in records} == {MOTO_CALLER}
    assert len(set(items(env, "state")) - set(before)) == 11


def test_a_suppressed_destination_is_refused(
    env: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env.register("u2")
    env.client("dynamodb").update_item(
        TableName="profiles",
        Key={"user_id": {"S": "u2"}},
        UpdateExpression="SET suppressed_email = :s",
        ExpressionAttributeValues={
            ":s": {"M": {"reason": {"S": "bounce"}, "contact": {"S": contact_digest("u2@example.com")}}}
        },
    )
    exported = exported_profile(env, "u2", tmp_path, capsys)
    named = tmp_path / "named.yaml"  # a profile file that only names the user: the stored one counts
    named.write_text("user_id: u2\nnickname: Lin\n")
    for profile in (exported, named):
        code, out, err = run(capsys, JOURNEY, "welcome", "--to", "u2@example.com", "--profile", str(profile))
        assert (code, out) == (2, [])
        assert err == [f"touchpoint: {redact('u2@example.com')} is suppressed on email (bounce)"]
    # another address of the same user is not suppressed
    assert run(capsys, JOURNEY, "welcome", "--to", TESTER, "--profile", str(named))[0] == 0
    assert len(env.emails()) == 1
    assert len(env.state.proofs(JOURNEY)) == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["welcome", "--to", "not-an-address"], "the destination is not an email address"),
        (["welcome", "--to", "a@b"], "the destination is not an email address"),
        (["reminder-sms", "--to", "13800000002"], "the destination is not an E.164 phone number"),
        (["reminder-sms", "--to", TESTER], "the destination is not an E.164 phone number"),
        (["welcom", "--to", TESTER], f"no send step 'welcom' in {JOURNEY}; did you mean \"welcome\"?"),
        (["engaged", "--to", TESTER], f"step 'engaged' of {JOURNEY} is not a send (it is if)"),
    ],
)
def test_bad_destinations_and_step_ids_are_one_line_with_nothing_sent(
    env: World, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, JOURNEY, *argv)
    assert (code, out, err) == (2, [], [f"touchpoint: {message}"])
    assert env.emails() == []
    assert env.sms_messages() == []
    assert env.state.proofs(JOURNEY) == []


def test_a_wrong_journey_id_suggests_the_closest(env: World, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "new-user-7days", "welcome", "--to", TESTER)
    assert (code, err) == (2, [f"touchpoint: no journey 'new-user-7days'; did you mean \"{JOURNEY}\"?"])


def test_a_client_error_is_one_line_and_nothing_is_sent(
    env: World, capsys: pytest.CaptureFixture[str]
) -> None:
    sts = env.client("sts")
    with Stubber(sts) as stub:
        stub.add_client_error("get_caller_identity", "AccessDenied", "not allowed", http_status_code=403)
        wiring.override_client("sts", sts)
        code, out, err = run(capsys, JOURNEY, "welcome", "--to", TESTER)
    assert (code, out) == (2, [])
    assert err == ["touchpoint: AWS refused GetCallerIdentity: AccessDenied: not allowed"]
    assert env.emails() == []
    assert env.state.proofs(JOURNEY) == []


def test_no_region_is_one_line(
    env: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    code, out, err = run(capsys, JOURNEY, "welcome", "--to", TESTER)
    assert (code, out, err) == (2, [], ["touchpoint: no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION)"])


@pytest.mark.parametrize(("kind", "detail_type"), [("Open", "Email Opened"), ("Bounce", "Email Bounced")])
def test_the_provider_events_of_a_proof_count_nowhere(
    env: World, capsys: pytest.CaptureFixture[str], kind: str, detail_type: str
) -> None:
    env.register("u1")
    assert run(capsys, JOURNEY, "welcome", "--to", "u1@example.com")[0] == 0
    [record] = env.state.proofs(JOURNEY)
    when = "2026-12-01T02:05:00.000Z"
    section: dict[str, Any] = {"timestamp": when}
    if kind == "Bounce":
        section |= {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": "u1@example.com"}]}
    event = env.envelope("x", "u1") | {
        "source": "aws.ses",
        "detail-type": detail_type,
        "detail": {
            "eventType": kind,
            "mail": {
                "messageId": record.message_id,
                "timestamp": when,
                "tags": {tags.PROOF: [tags.encode(JOURNEY)], "ses:configuration-set": ["touchpoint"]},
            },
            kind.lower(): section,
        },
    }
    before = {table: items(env, table) for table in ("state", "kpis", "profiles")}
    body = json.dumps(event)
    assert env.trigger.handle_body(body).status == "ignored"
    rollup = wiring.kpi_rollup(env.settings, wiring.Clients(env.session), env.clock)
    assert rollup.count_body(body).status == "ignored"
    assert {table: items(env, table) for table in ("state", "kpis", "profiles")} == before
