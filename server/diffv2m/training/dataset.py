"""Reading a prepared set (``diffv2m prepare``) as batches, in an order a resumed run can repeat.

A prepared folder holds ``prepared.json`` and one ``.npz`` per window:

    clip (T, 512) float32        CLIP image embeddings, one per second
    colour (T, 3072) float16     colour histograms
    scene_cut (T,) uint8         1 where a scene starts
    visual_beat (T,) float32     visual-beat strength per second
    odf (T, 1) float32           ground-truth low-res ODF of the audio (research notes §2.4)
    mel (30, 16), tempo (30, 16) the ablation rhythms (when prepared)
    latent_mean, latent_std (C, L) float16   the VAE posterior of the audio (when a VAE was given)
    audio (2, N) int16           the window's audio (only without a VAE, or with --keep-audio)
    seconds ()                   valid seconds in the window (T = ceil(seconds))

Batches are padded to the model's ``max_length`` seconds (30 as released). The order of an epoch is a
permutation drawn from (seed, epoch) alone, split across ranks, so resuming at
batch k of epoch e replays exactly the batches a run without the stop would see.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import InputError

MANIFEST = "prepared.json"
FORMAT = "diffv2m-prepared"
VERSION = 1


@dataclass
class PreparedSet:
    folder: Path
    settings: dict[str, Any]
    windows: list[dict[str, Any]]

    @property
    def max_length(self) -> int:
        return int(self.settings["max_length"])

    @property
    def has_latents(self) -> bool:
        return bool(self.settings.get("vae"))


def load_prepared(folder: str | Path) -> PreparedSet:
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise InputError(f"{folder} is not a prepared set (no {MANIFEST}); make one with 'diffv2m prepare'.")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not valid JSON ({exc.msg}).") from exc
    if manifest.get("format") != FORMAT or manifest.get("version", 0) > VERSION:
        raise InputError(f"{path} is not a version-{VERSION} {FORMAT} manifest.")
    if not manifest.get("windows"):
        raise InputError(f"The prepared set {folder} has no windows to train on.")
    return PreparedSet(folder, manifest["settings"], manifest["windows"])


def _pad(array: np.ndarray, length: int) -> np.ndarray:
    rows = array[:length]
    return np.concatenate([rows, np.zeros((length - rows.shape[0], *rows.shape[1:]), rows.dtype)])


class WindowDataset(torch.utils.data.Dataset):
    """One training example per prepared window, padded to ``max_length`` seconds."""

    def __init__(self, prepared: PreparedSet, max_length: int, rhythm: str = "odf") -> None:
        if prepared.max_length > max_length:
            raise InputError(
                f"The prepared windows hold {prepared.max_length} seconds but the model takes at most {max_length}."
            )
        self.prepared = prepared
        self.max_length = max_length  # the model's conditioning length; shorter windows are padded and masked
        self.rhythm = rhythm

    def __len__(self) -> int:
        return len(self.prepared.windows)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        record = self.prepared.windows[index]
        path = self.prepared.folder / record["file"]
        try:
            with np.load(path) as data:
                arrays = {key: data[key] for key in data.files}
        except (OSError, ValueError) as exc:
            raise InputError(
                f"The prepared window {path} cannot be read ({exc}); run 'diffv2m prepare' again."
            ) from exc
        if self.rhythm not in arrays:
            raise InputError(f"The prepared set has no '{self.rhythm}' rhythm; prepare it again with that variant.")
        length = self.max_length
        seconds = float(arrays["seconds"])
        item = {
            "clip": torch.from_numpy(_pad(arrays["clip"].astype(np.float32), length)),
            "colour": torch.from_numpy(_pad(arrays["colour"].astype(np.float32), length)),
            "scene_cut": torch.from_numpy(_pad(arrays["scene_cut"].astype(np.int64), length)),
            "visual_beat": torch.from_numpy(_pad(arrays["visual_beat"].astype(np.float32), length)),
            "rhythm": torch.from_numpy(_pad(arrays[self.rhythm].astype(np.float32), length)),
            "valid_seconds": torch.tensor(min(math.ceil(seconds - 1e-6), length)),
            "seconds_total": torch.tensor(float(math.ceil(seconds - 1e-6))),
            "index": torch.tensor(index),
        }
        if "latent_mean" in arrays:
            item["latent_mean"] = torch.from_numpy(arrays["latent_mean"].astype(np.float32))
            item["latent_std"] = torch.from_numpy(arrays["latent_std"].astype(np.float32))
        elif "audio" in arrays:
            item["audio"] = torch.from_numpy(arrays["audio"].astype(np.float32) / 32768.0)
        else:
            raise InputError(f"The prepared window {path} has neither VAE latents nor audio.")
        return item


def epoch_order(size: int, seed: int, epoch: int, rank: int = 0, world: int = 1) -> list[int]:
    """This rank's share of epoch ``epoch``'s permutation (ranks get equal counts; the remainder waits)."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    order = torch.randperm(size, generator=generator).tolist()
    usable = (size // world) * world if size >= world else size
    return order[:usable][rank::world]


def batches_per_epoch(size: int, batch_size: int, world: int = 1) -> int:
    """Whole batches per rank per epoch (the last partial batch is dropped, as in the released loader)."""
    per_rank = size // world if size >= world else size
    return max(1, per_rank // batch_size)


def epoch_loader(
    dataset: WindowDataset,
    batch_size: int,
    seed: int,
    epoch: int,
    skip_batches: int = 0,
    rank: int = 0,
    world: int = 1,
    num_workers: int = 0,
) -> torch.utils.data.DataLoader:
    """Batches of one epoch, starting after ``skip_batches`` (for resuming mid-epoch)."""
    order = epoch_order(len(dataset), seed, epoch, rank, world)
    count = batches_per_epoch(len(dataset), batch_size, world)
    if len(order) < batch_size:  # tiny sets: repeat the order to fill one batch
        order = (order * math.ceil(batch_size / max(len(order), 1)))[:batch_size]
    indices = order[skip_batches * batch_size : count * batch_size]
    return torch.utils.data.DataLoader(
        torch.utils.data.Subset(dataset, indices),
        batch_size=batch_size,
        shuffle=False,
        drop_last=True,
        num_workers=num_workers,
        persistent_workers=False,
    )
