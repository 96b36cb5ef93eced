"""Build the parser from the command modules and run the chosen one.

Each module's ``register`` adds its subparsers and sets ``run`` on them, so a new command is one
new module and one line here."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from touchpoint.cli import cost, journeys, operations, plan, preview, proof, schema, simulation
from touchpoint.cli.output import UsageError, fail

DEBUG = "TOUCHPOINT_DEBUG"
INTERNAL_EXIT = 70  # EX_SOFTWARE: an internal error, not the user's input

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]

COMMANDS: tuple[Register, ...] = (
    journeys.register,
    schema.register,
    operations.register,
    simulation.register,
    proof.register,
    preview.register,
    plan.register,
    cost.register,
)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="touchpoint", description="Journeys as code on AWS Step Functions.")
    sub = root.add_subparsers(dest="command", required=True)
    for register in COMMANDS:
        register(sub)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except UsageError as error:
        return fail(str(error))
    except KeyboardInterrupt:
        return fail("interrupted")
    except Exception as error:  # a bug: one line and its own exit code, the traceback on request
        if os.environ.get(DEBUG):
            raise
        print(
            f"touchpoint: internal error: {type(error).__name__}: {error} "
            f"(set {DEBUG}=1 for the traceback, and please report it)",
            file=sys.stderr,
        )
        return INTERNAL_EXIT
