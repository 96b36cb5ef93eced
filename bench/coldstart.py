"""Cold import of each Lambda function on a replica of its deployed assets (bench only, never a test).

The replica is what the stack ships, for this host's platform: the code asset from
``infra.packaging.stage_code``, the layer's requirements installed by a CPython 3.13 with pip and
compiled like the real layer, and boto3/botocore at the constrained versions with their bytecode
(the runtime provides them). Each run is a fresh ``python3.13 -X importtime`` with bytecode
writing off, as on Lambda's read-only /var/task and /opt: a module without its ``.pyc`` is
recompiled every time."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from infra import packaging

FUNCTIONS = ("trigger_eval", "send_email", "send_sms", "kpi_rollup", "unsubscribe")


@dataclass(frozen=True)
class Row:
    """One line of ``-X importtime``: microseconds spent in the module itself and with its imports."""

    module: str
    self_us: int
    cumulative_us: int
    depth: int


def parse_importtime(stderr: str) -> list[Row]:
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, cumulative, name = line.removeprefix("import time:").split("|", 2)
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        rows.append(Row(name.strip(), int(own), int(cumulative), depth))
    return rows


def handler_ms(rows: list[Row]) -> float:
    """The handler module's import with everything it pulled in (not the interpreter's start-up)."""
    return sum(r.cumulative_us for r in rows if r.depth == 0 and r.module.startswith("functions")) / 1000


def top(rows: list[Row], n: int = 10) -> list[Row]:
    """The n modules that cost most by themselves (cumulative time counts each import many times)."""
    return sorted(rows, key=lambda row: -row.self_us)[:n]


def _pip(python: str, target: Path, *requirements: str) -> None:
    command = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
    command += ["--only-binary=:all:", "--target", str(target), "--constraint", str(packaging.CONSTRAINTS)]
    subprocess.run([*command, *requirements], check=True, capture_output=True)


def replica(python: str) -> tuple[Path, Path, Path]:
    """(layer source only, layer with bytecode, runtime packages), built once per layer hash."""
    root = Path(tempfile.gettempdir()) / f"touchpoint-lambda-{packaging.layer_hash()[:16]}"
    source, compiled, runtime = root / "layer-source", root / "layer", root / "runtime"
    if not (root / "done").exists():
        shutil.rmtree(root, ignore_errors=True)
        _pip(python, source, "--requirement", str(packaging.LAYER_DIR / "requirements.txt"))
        _pip(python, runtime, "boto3", "botocore")
        shutil.copytree(source, compiled)
        for directory, deployed_as in ((compiled, packaging.LAYER_ROOT), (runtime, "/var/lang/lib")):
            packaging.compile_bytecode(directory, deployed_as)
        (root / "done").touch()
    return source, compiled, runtime


def import_once(python: str, code: Path, path: list[Path], function: str) -> list[Row]:
    module = f"functions.{function}.app"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join(str(p) for p in [code, *path]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "AWS_REGION": "eu-west-1",
        "LAMBDA_TASK_ROOT": str(code),
        "POWERTOOLS_SERVICE_NAME": f"touchpoint-{function.replace('_', '-')}",
    }
    result = subprocess.run(
        [python, "-X", "importtime", "-c", f"import {module}"],
        cwd=code,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return parse_importtime(result.stderr)


def bench_cold_start(runs: int = 5) -> None:
    python = packaging.lambda_python()
    if python is None:
        print(f"coldstart: skipped, no Python {packaging.PYTHON_VERSION} (set {packaging.LAMBDA_PYTHON_ENV})")
        return
    source, compiled, runtime = replica(python)
    for label, bytecode, layer in (("source only", False, source), ("bytecode", True, compiled)):
        code = packaging.stage_code(packaging.REPO_ROOT, bytecode=bytecode)
        for function in FUNCTIONS:
            samples = [import_once(python, code, [layer, runtime], function) for _ in range(runs)]
            totals = [handler_ms(rows) for rows in samples]
            median = statistics.median(totals)
            print(
                f"coldstart/{function} ({label}): median {median:.0f} ms over {runs} runs "
                f"(min {min(totals):.0f}, max {max(totals):.0f}), {len(samples[0])} modules"
            )
            if bytecode:
                middle = samples[totals.index(sorted(totals)[len(totals) // 2])]
                for row in top(middle):
                    own, cumulative = row.self_us / 1000, row.cumulative_us / 1000
                    print(f"    {own:7.1f} ms self {cumulative:7.1f} ms cum  {row.module}")
