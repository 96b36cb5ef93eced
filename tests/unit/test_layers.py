"""The layers of docs/architecture.md hold: the domain (journey, compiler, engine, channels, state and
the shared modules) loads neither the AWS SDK nor the adapters nor the simulator, each layer imports
only those below it, and the import contracts that `make lint` runs (import-linter, pyproject.toml)
really fail when an import crosses the line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
FORBIDDEN = ("boto3", "botocore", "touchpoint.aws", "touchpoint.local")


@pytest.mark.parametrize(
    "module", ["touchpoint.engine.send", "touchpoint.engine.trigger", "touchpoint.compiler.build"]
)
def test_domain_modules_load_no_sdk_and_no_adapter(module: str) -> None:
    """Imported alone in a fresh interpreter: what it pulls in, transitively, at run time."""
    script = f"import sys, {module}; print(__import__('json').dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    )
    loaded = json.loads(done.stdout)
    assert module in loaded
    assert [m for m in loaded if m.split(".")[0] in FORBIDDEN[:2] or m.startswith(FORBIDDEN[2:])] == []


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")],
        check=False,
        capture_output=True,
        text=True,
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )


def test_the_import_contract_is_kept() -> None:
    done = _lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 kept, 0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "line", "reported", "summary"),
    [
        # directly: a channel module that imports the SDK
        (
            "channels/tags.py",
            "import botocore.exceptions",
            "touchpoint.channels.tags -> botocore",
            "1 kept, 1 broken",
        ),
        # indirectly: the engine imports a shared module that reaches the simulator
        (
            "durations.py",
            "import touchpoint.local.copies",
            "touchpoint.durations -> touchpoint.local.copies",
            "0 kept, 2 broken",
        ),  # and so the compiler, which imports durations, sits above the simulator
        # upwards: the journey language reaching into the compiler (the layers contract)
        (
            "journey/steps.py",
            "import touchpoint.compiler.ir",
            "touchpoint.journey.steps -> touchpoint.compiler.ir",
            "1 kept, 1 broken",
        ),
    ],
)
def test_the_import_contract_fails_on_a_violation(
    tmp_path: Path, module: str, line: str, reported: str, summary: str
) -> None:
    """On a copy of the package with one violating import added, import-linter reports it."""
    package = tmp_path / "touchpoint"
    shutil.copytree(ROOT / "touchpoint", package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = package / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}  # noqa\n", encoding="utf-8")
    done = _lint(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert summary in done.stdout
    assert reported in done.stdout
