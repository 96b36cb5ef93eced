"""Lambda packaging without Docker: one code asset for all functions, one pip-built layer.

The code asset is staged from an allow-list (functions/, touchpoint/, and journeys/ plus
statemachines/registry.json from the project directory the stack deploys), so a synth pointed at
another project ships that project's registry and templates. The layer is built by CDK *local*
bundling with pip's cross-platform download; Docker is never started.

Both ship compiled bytecode: /var/task and /opt are read-only on Lambda, so source without its
``.pyc`` is recompiled on every cold start. The bytecode is written by a CPython of the runtime's
version (bytecode is per minor version) in unchecked-hash mode with the deployed paths as file
names, so the same sources give the same bytes and the code asset's hash stays stable."""

from __future__ import annotations

import atexit
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import REPO_ROOT

LAYER_DIR = Path(__file__).resolve().parent / "layer"
CONSTRAINTS = REPO_ROOT / "constraints.txt"
PYTHON_VERSION = "3.13"
PIP_PLATFORM = "manylinux2014_aarch64"
#: A CPython 3.13 to compile the bytecode with, when it is neither this interpreter nor on PATH.
LAMBDA_PYTHON_ENV = "TOUCHPOINT_LAMBDA_PYTHON"
#: Where the runtime finds each asset: the file names the bytecode records (tracebacks, linecache).
CODE_ROOT = "/var/task"
LAYER_ROOT = "/opt/python"
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".*", "tests")


def pip_command(target: str) -> list[str]:
    """The layer build: wheels for the Lambda platform only, never an sdist built for this host."""
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--platform",
        PIP_PLATFORM,
        "--implementation",
        "cp",
        "--python-version",
        PYTHON_VERSION,
        "--only-binary=:all:",
        "--target",
        target,
        "--requirement",
        str(LAYER_DIR / "requirements.txt"),
        "--constraint",
        str(CONSTRAINTS),
    ]


def _is_lambda_python(candidate: str) -> bool:
    probe = [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]
    try:
        result = subprocess.run(probe, capture_output=True, text=True, check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0 and result.stdout.strip() == PYTHON_VERSION


@cache
def lambda_python() -> str | None:
    """A CPython of the runtime's minor version, or None: the environment's choice, this
    interpreter, ``python3.13`` on PATH, then pyenv's (a pyenv shim on PATH may not run)."""
    pyenv = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates = [
        os.environ.get(LAMBDA_PYTHON_ENV, ""),
        sys.executable if sys.version_info[:2] == (3, 13) else "",
        shutil.which(f"python{PYTHON_VERSION}") or "",
        *sorted(glob.glob(f"{pyenv}/versions/{PYTHON_VERSION}*/bin/python{PYTHON_VERSION}"), reverse=True),
    ]
    return next((c for c in candidates if c and _is_lambda_python(c)), None)


def compile_command(python: str, directory: Path, deployed_as: str) -> list[str]:
    """compileall in unchecked-hash mode (no timestamps in the .pyc, never re-checked against the
    read-only source) with ``deployed_as`` as the recorded path, so the bytes do not depend on the
    build directory."""
    return [
        python,
        "-m",
        "compileall",
        "-q",
        "--invalidation-mode",
        "unchecked-hash",
        "-d",
        deployed_as,
        str(directory),
    ]


def compile_bytecode(directory: Path, deployed_as: str) -> bool:
    """Compile every module under ``directory``; False (with a warning) when no CPython 3.13 is
    found: the asset then ships source only and Lambda recompiles it on each cold start."""
    python = lambda_python()
    if python is None:
        print(
            f"warning: no Python {PYTHON_VERSION} found (set {LAMBDA_PYTHON_ENV}); the Lambda assets "
            "ship without bytecode, so every cold start recompiles them",
            file=sys.stderr,
        )
        return False
    # A fixed hash seed: frozenset constants are marshalled in iteration order.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    env.pop("PYTHONPYCACHEPREFIX", None)
    result = subprocess.run(
        compile_command(python, directory, deployed_as), capture_output=True, text=True, env=env, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"compiling the Lambda bytecode failed:\n{result.stdout}{result.stderr}")
    return True


@jsii.implements(ILocalBundling)
class PipLocalBundling:
    """CDK local bundling: pip installs the layer into ``<output>/python`` on this machine."""

    def try_bundle(self, output_dir: str, *_options: Any, **_keywords: Any) -> bool:
        """jsii passes the BundlingOptions struct positionally while its typings declare keywords;
        the options are not needed (the command is fixed), so accept either form."""
        target = Path(output_dir) / "python"
        result = subprocess.run(pip_command(str(target)), capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(
                "building the Lambda layer failed (pip needs PyPI access; for an offline synth pass "
                f"-c touchpoint:bundle_layer=false):\n{result.stdout}{result.stderr}"
            )
        compile_bytecode(target, LAYER_ROOT)
        return True


def layer_hash() -> str:
    """Rebuild the layer when what pip installs could change, not when unrelated files do."""
    digest = hashlib.sha256()
    for part in (LAYER_DIR / "requirements.txt", CONSTRAINTS):
        digest.update(part.read_bytes())
    digest.update(f"{PIP_PLATFORM} {PYTHON_VERSION} bytecode={lambda_python() is not None}".encode())
    return digest.hexdigest()


def dependencies_layer(scope: Construct, construct_id: str, *, bundle: bool) -> lambda_.LayerVersion:
    """The third-party layer; ``bundle=False`` ships requirements.txt alone (tests, offline synth)."""
    if bundle:
        code = lambda_.Code.from_asset(
            str(LAYER_DIR),
            asset_hash_type=AssetHashType.CUSTOM,
            asset_hash=layer_hash(),
            bundling=BundlingOptions(
                # Required by the API, never pulled: local bundling always succeeds or raises.
                image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.13"),
                local=PipLocalBundling(),
            ),
        )
    else:
        code = lambda_.Code.from_asset(str(LAYER_DIR))
    return lambda_.LayerVersion(
        scope,
        construct_id,
        code=code,
        compatible_runtimes=[lambda_.Runtime.PYTHON_3_13],
        compatible_architectures=[lambda_.Architecture.ARM_64],
        description="Touchpoint third-party packages (Powertools, pydantic, Jinja2, PyYAML, tzdata).",
    )


def stage_code(project_dir: Path, *, bytecode: bool = True) -> Path:
    """A temporary directory holding exactly what the functions need at /var/task, compiled
    (``bytecode=False``: source only, as a host without Python 3.13 ships it)."""
    out = Path(tempfile.mkdtemp(prefix="touchpoint-code-"))
    atexit.register(shutil.rmtree, out, True)
    for package in ("functions", "touchpoint"):
        shutil.copytree(REPO_ROOT / package, out / package, ignore=_IGNORE)
    shutil.copytree(project_dir / "journeys", out / "journeys", ignore=_IGNORE)
    (out / "statemachines").mkdir()
    shutil.copy2(project_dir / "statemachines" / "registry.json", out / "statemachines" / "registry.json")
    if bytecode:
        compile_bytecode(out, CODE_ROOT)
    return out


def function_code(project_dir: Path) -> lambda_.Code:
    return lambda_.Code.from_asset(str(stage_code(project_dir)))
