"""Multi-GPU training through torch's own DDP, launched by ``torchrun`` (no launcher of our own).

    torchrun --nproc_per_node 2 -m diffv2m train CONFIG

torchrun sets ``WORLD_SIZE``/``RANK``/``LOCAL_RANK``; one process per GPU (NCCL),
or per CPU process with gloo. Without them everything runs in one process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass
class Dist:
    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()


def _pick_device(preference: str, local_rank: int) -> torch.device:
    if preference == "auto":
        preference = "cuda" if torch.cuda.is_available() else "cpu"
    if preference == "cuda":
        return torch.device("cuda", local_rank)
    return torch.device(preference)


def setup(device: str = "auto") -> Dist:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    chosen = _pick_device(device, local_rank)
    if world > 1 and not torch.distributed.is_initialized():
        if chosen.type == "cuda":
            torch.cuda.set_device(chosen)
        torch.distributed.init_process_group(backend="nccl" if chosen.type == "cuda" else "gloo")
    rank = torch.distributed.get_rank() if world > 1 else 0
    return Dist(rank, world, chosen)


def wrap(module: torch.nn.Module, dist: Dist) -> torch.nn.Module:
    """DDP around the trainable module when distributed (unused parameters allowed: CFG-dropped contexts,
    the branch a hard fusion switch skips, and the rhythm encoder when no sample uses the true rhythm)."""
    if dist.world == 1:
        return module
    device_ids = [dist.device.index] if dist.device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(module, device_ids=device_ids, find_unused_parameters=True)


def teardown() -> None:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
