"""Packaging without Docker: the pip command the layer is built with, and CDK really calling our
local bundler through jsii (pip swapped for a stub, so the test stays offline)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from aws_cdk import App, Stack

from infra import packaging
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
