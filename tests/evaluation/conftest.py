"""A small benchmark made once per session through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def run_cli(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "diffv2m", *args], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="session")
def cli():
    """Run ``python -m diffv2m ARGS...`` and insist on success."""
    return run_cli


@pytest.fixture(scope="session")
def small_benchmark(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every benchmark clip at 6 s and 160x120, with the reference tracks."""
    out = tmp_path_factory.mktemp("bench") / "bench"
    run_cli("make-benchmark", str(out), "--duration", "6", "--size", "160x120", "--reference-tracks", "--seed", "3")
    return out


@pytest.fixture(scope="session")
def manifest(small_benchmark: Path) -> dict:
    return json.loads((small_benchmark / "manifest.json").read_text())
