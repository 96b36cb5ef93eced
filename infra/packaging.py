"""Lambda packaging without Docker: one code asset for all functions, one pip-built layer.

The code asset is staged from an allow-list (functions/, touchpoint/, and journeys/ plus
statemachines/registry.json from the project directory the stack deploys), so a synth pointed at
another project ships that project's registry and templates. The layer is built by CDK *local*
bundling with pip's cross-platform download; Docker is never started."""

from __future__ import annotations

import atexit
import hashlib
import shutil
import subprocess
import sys
import tempfile
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


@jsii.implements(ILocalBundling)
class PipLocalBundling:
    """CDK local bundling: pip installs the layer into ``<output>/python`` on this machine."""

    def try_bundle(self, output_dir: str, *_options: Any, **_keywords: Any) -> bool:
        """jsii passes the BundlingOptions struct positionally while its typings declare keywords;
        the options are not needed (the command is fixed), so accept either form."""
        result = subprocess.run(
            pip_command(str(Path(output_dir) / "python")), capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(
                "building the Lambda layer failed (pip needs PyPI access; for an offline synth pass "
                f"-c touchpoint:bundle_layer=false):\n{result.stdout}{result.stderr}"
            )
        return True


def layer_hash() -> str:
    """Rebuild the layer when what pip installs could change, not when unrelated files do."""
    digest = hashlib.sha256()
    for part in (LAYER_DIR / "requirements.txt", CONSTRAINTS):
        digest.update(part.read_bytes())
    digest.update(f"{PIP_PLATFORM} {PYTHON_VERSION}".encode())
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


def stage_code(project_dir: Path) -> Path:
    """A temporary directory holding exactly what the functions need at /var/task."""
    out = Path(tempfile.mkdtemp(prefix="touchpoint-code-"))
    atexit.register(shutil.rmtree, out, True)
    for package in ("functions", "touchpoint"):
        shutil.copytree(REPO_ROOT / package, out / package, ignore=_IGNORE)
    shutil.copytree(project_dir / "journeys", out / "journeys", ignore=_IGNORE)
    (out / "statemachines").mkdir()
    shutil.copy2(project_dir / "statemachines" / "registry.json", out / "statemachines" / "registry.json")
    return out


def function_code(project_dir: Path) -> lambda_.Code:
    return lambda_.Code.from_asset(str(stage_code(project_dir)))
