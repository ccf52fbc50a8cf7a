"""Short clips and a runner for the real ``diffv2m batch`` command (a subprocess, like a user's shell)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest

from diffv2m.benchmark.videos import ClipSpec, periodic_events

HEADER = "video,start,end,emotion,seed,takes\n"


@pytest.fixture(scope="session")
def batch_clip(clip_factory) -> Path:
    """3 s, 160x96, flashes at 100 BPM: a few seconds of work per row."""
    spec = ClipSpec(3.0, Fraction(25), 160, 96, periodic_events(100, 3.0, phase=0.2), [], "flash", seed=4)
    return clip_factory(spec, "batch-clip").path


def batch_command(manifest: Path, out: Path, cache: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "diffv2m",
        "batch",
        str(manifest),
        "--out",
        str(out),
        "--cache-dir",
        str(cache),
        *extra,
    ]


def run_batch(manifest: Path, out: Path, cache: Path, *extra: str, timeout: float = 240) -> subprocess.CompletedProcess:
    command = batch_command(manifest, out, cache, *extra)
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, env=dict(os.environ))


def write_manifest(path: Path, lines: list[str]) -> Path:
    path.write_text(HEADER + "".join(line + "\n" for line in lines))
    return path


def events(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines() if line.strip()]


def done_counts(out: Path) -> Counter:
    return Counter(e["row"] for e in events(out) if e["event"] == "done")
