"""pause, resume, stop, status and privacy: the commands that act on a deployed stack."""

from __future__ import annotations

import argparse
import getpass
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from touchpoint.aws.wiring import Clients, operations, privacy
from touchpoint.cli.journeys import DEFAULT_JOURNEYS
from touchpoint.cli.output import UsageError, journey_file
from touchpoint.clock import SystemClock
from touchpoint.settings import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for name, text in (
        ("pause", "hold a journey's sends at once (users stay inside); answers when it takes no entry (5 s)"),
        ("resume", "release a paused journey's held sends"),
        ("stop", "stop a journey: skip its sends, take no entry (5 s), stop every running execution"),
        ("status", "show whether a journey is active, paused or stopped"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("journey", help="the journey's id")
        p.add_argument("--journeys", type=Path, default=DEFAULT_JOURNEYS, help="where the id is checked")
        if name != "status":
            p.add_argument("--reason", default="", help="recorded with the change")
        p.set_defaults(run=_operation)

    p = sub.add_parser("privacy", help="export or erase one user's data (R17)")
    p.add_argument("operation", choices=["export", "erase"], help="export: print it; erase: delete it")
    p.add_argument("user_id", help="the app's user id")
    p.set_defaults(run=_privacy)


@contextmanager
def aws_errors() -> Iterator[None]:
    """What AWS answers as one line that says what to set or fix, never a botocore traceback."""
    try:
        yield
    except NoRegionError:
        raise UsageError("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION)") from None
    except NoCredentialsError:
        raise UsageError("no AWS credentials: set AWS_PROFILE, or run `aws configure`") from None
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "error")
        text = error.response.get("Error", {}).get("Message", "")
        raise UsageError(f"AWS refused {error.operation_name}: {code}: {text}") from None
    except BotoCoreError as error:
        raise UsageError(f"AWS call failed: {error}") from None


def connect() -> tuple[Settings, Clients]:
    """Settings from TOUCHPOINT_* variables and boto3's default credentials (AWS_ENDPOINT_URL for
    LocalStack or moto server)."""
    return Settings.from_env(), Clients()


def _operator() -> str:
    return os.environ.get("TOUCHPOINT_OPERATOR") or getpass.getuser()


def _operation(args: argparse.Namespace) -> int:
    journey_file(args.journey, args.journeys)  # a typo must not write a flag for no journey
    with aws_errors():
        settings, clients = connect()
        ops = operations(settings, clients, SystemClock())
        if args.command == "status":
            print(f"{args.journey}: {ops.status(args.journey)}")
            return 0
        action = {"pause": ops.pause, "resume": ops.resume, "stop": ops.stop}[args.command]
        print(json.dumps(action(args.journey, _operator(), args.reason), ensure_ascii=False))
    return 0


def _privacy(args: argparse.Namespace) -> int:
    with aws_errors():
        settings, clients = connect()
        service = privacy(settings, clients, SystemClock())
        result = service.export(args.user_id) if args.operation == "export" else service.erase(args.user_id)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0
