"""Multi-process training through torchrun + DDP (gloo on CPU): the path several GPUs take."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from training_helpers import read_log, write_config


def test_two_processes_train_one_model(prepared, tiny_models, tmp_path):
    config = write_config(tmp_path, prepared, tiny_models["vae"], max_steps=2, checkpoint_every=2)
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "diffv2m",
        "train",
        str(config),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "on 2 processes" in result.stdout
    run = tmp_path / "run"
    log = read_log(run)  # one writer: rank 0, with losses averaged over both processes
    assert [r["step"] for r in log] == [1, 2] and all(np.isfinite(r["loss"]) for r in log)
    assert (run / "checkpoints" / "step-0000002").is_dir() and (run / "weights" / "diffv2m.json").is_file()
