"""Training checkpoints: everything a stopped run needs to continue as if it never stopped.

    OUTPUT/checkpoints/step-0000150/state.pt    trainable weights, optimiser, LR schedule, EMA,
                                                 position (epoch, batch, step) and the step generator
    OUTPUT/checkpoints/step-0000150/progress.json  the position, readable

A checkpoint is written to a temporary folder and renamed into place, so a
crash mid-write never leaves a half checkpoint that resume would pick.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from ..errors import InputError

STATE = "state.pt"
PROGRESS = "progress.json"


@dataclass
class Position:
    step: int = 0  # optimiser steps done
    epoch: int = 0  # current epoch (0-based)
    batch: int = 0  # micro-batches of the current epoch already consumed


def checkpoint_dir(output: Path, step: int) -> Path:
    return output / "checkpoints" / f"step-{step:07d}"


def save_checkpoint(output: Path, position: Position, state: dict[str, Any], keep: int) -> Path:
    final = checkpoint_dir(output, position.step)
    temporary = final.with_name(final.name + ".partial")
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    torch.save({**state, "position": asdict(position)}, temporary / STATE)
    (temporary / PROGRESS).write_text(json.dumps(asdict(position)) + "\n")
    shutil.rmtree(final, ignore_errors=True)
    os.replace(temporary, final)
    for old in all_checkpoints(output)[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return final


def all_checkpoints(output: Path) -> list[Path]:
    folder = output / "checkpoints"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.startswith("step-") and (p / STATE).is_file())


def latest_checkpoint(output: Path) -> Path | None:
    found = all_checkpoints(output)
    return found[-1] if found else None


def load_checkpoint(path: Path) -> tuple[Position, dict[str, Any]]:
    file = path / STATE if path.is_dir() else path
    if not file.is_file():
        raise InputError(f"{path} is not a training checkpoint (no {STATE}).")
    state = torch.load(file, map_location="cpu", weights_only=False)  # our own file: optimiser and RNG objects
    return Position(**state.pop("position")), state
