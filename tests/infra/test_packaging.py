"""Packaging without Docker: the pip command the layer is built with, and CDK really calling our
local bundler through jsii (pip swapped for a stub, so the test stays offline)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import App, Stack

from infra import packaging
from infra.config import REPO_ROOT
from tests.infra.conftest import CDK_CONTEXT


def test_layer_is_built_for_lambda_python313_arm64_from_wheels_only() -> None:
    command = packaging.pip_command("/out/python")
    joined = " ".join(command)
    assert "--platform manylinux2014_aarch64" in joined
    assert "--python-version 3.13" in joined
    assert "--only-binary=:all:" in command
    assert "--implementation cp" in joined
    assert "--target /out/python" in joined
    assert f"--constraint {packaging.CONSTRAINTS}" in joined  # the versions the tests ran


def test_layer_requirements_leave_boto3_to_the_runtime() -> None:
    lines = (packaging.LAYER_DIR / "requirements.txt").read_text(encoding="utf-8").splitlines()
    names = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    assert {
        "aws-lambda-powertools",
        "pydantic",
        "pydantic-core",
        "jinja2",
        "markupsafe",
        "pyyaml",
        "tzdata",
    } <= names
    assert not names & {"boto3", "botocore"}


def test_cdk_bundles_the_layer_locally_without_docker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub = (
        "import pathlib, sys; p = pathlib.Path(sys.argv[1]); "
        "p.mkdir(parents=True); (p / 'stub.py').write_text('')"
    )
    monkeypatch.setattr(packaging, "pip_command", lambda target: [sys.executable, "-c", stub, target])
    app = App(context=CDK_CONTEXT, outdir=str(tmp_path / "cdk.out"))
    stack = Stack(app, "Layer")
    packaging.dependencies_layer(stack, "Dependencies", bundle=True)
    app.synth()
    (bundled,) = (tmp_path / "cdk.out").glob("asset.*/python/stub.py")
    assert bundled.is_file()


def test_a_failed_pip_run_stops_the_synth_with_the_offline_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        packaging, "pip_command", lambda target: [sys.executable, "-c", "raise SystemExit(3)"]
    )
    app = App(context=CDK_CONTEXT, outdir=str(tmp_path / "cdk.out"))
    stack = Stack(app, "Layer")
    with pytest.raises(Exception, match="touchpoint:bundle_layer=false"):
        packaging.dependencies_layer(stack, "Dependencies", bundle=True)


def _digest(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(directory)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.mark.skipif(packaging.lambda_python() is None, reason="no Python 3.13 to compile with")
def test_code_asset_ships_deterministic_bytecode_named_for_var_task() -> None:
    first, second = packaging.stage_code(REPO_ROOT), packaging.stage_code(REPO_ROOT)
    assert _digest(first) == _digest(second)  # the same sources give the same asset hash
    sources = sorted(first.rglob("*.py"))
    compiled = sorted(first.rglob("*.cpython-313.pyc"))
    assert len(compiled) == len(sources)
    data = (first / "functions" / "send_email" / "__pycache__" / "app.cpython-313.pyc").read_bytes()
    assert int.from_bytes(data[4:8], "little") == 0b01  # hash-based, never checked against the source
    # the code object is read by the Python that wrote it (marshal's format is per version)
    python = packaging.lambda_python()
    assert python is not None
    read = "import marshal, sys; print(marshal.loads(open(sys.argv[1], 'rb').read()[16:]).co_filename)"
    pyc = first / "functions" / "send_email" / "__pycache__" / "app.cpython-313.pyc"
    result = subprocess.run([python, "-c", read, str(pyc)], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "/var/task/functions/send_email/app.py"


def test_without_python313_the_asset_ships_source_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(packaging, "lambda_python", lambda: None)
    staged = packaging.stage_code(REPO_ROOT)
    assert not list(staged.rglob("*.pyc"))
    assert (staged / "functions" / "send_email" / "app.py").is_file()
