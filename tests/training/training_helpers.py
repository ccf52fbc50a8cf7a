"""Helpers shared by the training tests (imported by conftest and the tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "diffv2m", *args], capture_output=True, text=True, check=False)
    if check:
        assert result.returncode == 0, result.stderr[-3000:]
    return result


def write_config(folder: Path, prepared: Path, vae: Path, **train: object) -> Path:
    """A tiny run: small DiT and predictor, narrow conditioner projections, CPU, one thread."""
    settings = {
        "epochs": 1000,
        "max_steps": 24,
        "batch_size": 4,
        "grad_accum": 2,
        "lr": 1e-3,
        "warmup": 0.5,
        "p_real_start": 1,
        "p_real_end": 3,
        "checkpoint_every": 8,
        "keep_checkpoints": 5,
        "log_every": 4,
        "num_workers": 0,
        "threads": 1,
        "seed": 3,
        **train,
    }
    lines = [
        f'data = "{prepared}"',
        f'output = "{folder / "run"}"',
        "[model]",
        'init = "scratch"',
        'size = "tiny"',
        f'vae = "{vae}"',
        'emotion_source = "colour"',
        "[model.overrides.conditioner]",
        "colour_mid_dim = 32",
        "rhythm_mid_dim = 32",
        "[train]",
        *[f"{key} = {json.dumps(value)}" for key, value in settings.items()],
    ]
    path = folder / "run.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def read_log(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
