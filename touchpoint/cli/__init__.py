"""The ``touchpoint`` command: one module per family of subcommands, each registering its own parsers."""

from touchpoint.cli.main import main

__all__ = ["main"]
