"""send-test: proofs of a journey's messages through the deployed stack's providers
(touchpoint.engine.proof), each recorded in the audit log with the caller's identity."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from touchpoint.aws.wiring import proofs
from touchpoint.cli.operations import aws_errors, connect
from touchpoint.cli.output import UsageError, fail, read_profile
from touchpoint.clock import iso, process_clock
from touchpoint.engine.ports import ProofRecord
from touchpoint.engine.proof import ProofRefused, Refusal
from touchpoint.errors import SendAmbiguous, TransientError
from touchpoint.logs import redact
from touchpoint.settings import SettingsError
from touchpoint.words import plural

#: Exit code when some proofs of ``--test-users`` were refused (the others were sent).
SOME_REFUSED = 1


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "send-test",
        help="send a proof of a journey's message ([TEST] in front) through the real provider, "
        "outside caps and KPIs, recorded with your identity",
    )
    p.add_argument("journey", help="the journey id")
    p.add_argument("step", nargs="?", help="the send step id (not with --test-users)")
    p.add_argument(
        "--to",
        metavar="ADDRESS|PHONE",
        help="where the proof goes: an email address, or an E.164 number for an SMS step",
    )
    p.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="the profile (YAML or JSON, as stored: the 'profile' of `touchpoint privacy export`) "
        "the message is rendered for; without it, templates get profile.yaml's defaults",
    )
    p.add_argument(
        "--test-users",
        action="store_true",
        help="instead of STEP and --to: every send step, in step order, to each of the journey's "
        "rollout.test_users, rendered for their stored profiles",
    )
    p.set_defaults(run=_send_test)


def _send_test(args: argparse.Namespace) -> int:
    if args.test_users and (args.step or args.to or args.profile):
        raise UsageError("--test-users sends every step to the test users: give no STEP, --to or --profile")
    if not args.test_users and not (args.step and args.to):
        raise UsageError("give STEP and --to ADDRESS|PHONE, or --test-users")
    profile = {} if args.test_users or args.profile is None else read_profile(args.profile)
    try:
        with aws_errors():
            settings, clients = connect()
            service = proofs(settings, clients, process_clock())
            if args.test_users:
                results = service.send_test_users(args.journey)
            else:
                results = [service.send(args.journey, args.step, args.to, profile)]
    except (ProofRefused, SettingsError) as error:
        raise UsageError(str(error)) from None
    except TransientError as error:
        raise UsageError(f"throttled ({_one_line(error)}): nothing was sent, try again") from None
    except SendAmbiguous as error:
        raise UsageError(
            f"the provider may have sent the proof ({_one_line(error)}): look before sending again"
        ) from None
    refused = 0
    for result in results:
        if isinstance(result, Refusal):
            refused += 1
            fail(f"{result.user_id} {result.step_id}: not sent: {result.reason}")
        else:
            print(json.dumps(_shown(result), ensure_ascii=False))
    if args.test_users:
        print(f"{plural(len(results) - refused, 'proof')} sent, {refused} refused", file=sys.stderr)
    return SOME_REFUSED if refused else 0


def _shown(record: ProofRecord) -> dict[str, str]:
    """The audit record as printed: the destination is already masked."""
    return {
        "journey_id": record.journey_id,
        "step_id": record.step_id,
        "channel": record.channel,
        "to": record.destination,
        "message_id": record.message_id,
        "by": record.by,
        "at": iso(record.at),
    }


def _one_line(error: Exception) -> str:
    """The first line of the error, contact points masked (a provider's text may echo them)."""
    text = str(error).strip().splitlines()
    return redact(text[0] if text else type(error).__name__)
