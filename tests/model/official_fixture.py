"""Paths and helpers of the official tiny fixture (shared by the model tests)."""

from __future__ import annotations

from pathlib import Path

import torch

OFFICIAL = Path(__file__).resolve().parents[1] / "fixtures" / "official_tiny"
CKPT, CONFIG, CASES = OFFICIAL / "model.ckpt", OFFICIAL / "model_config.json", OFFICIAL / "cases.safetensors"
TAGS = ("t0p7", "t0p15", "t0p1")


def max_abs(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return float((a.float() - b.float()).abs().max())
