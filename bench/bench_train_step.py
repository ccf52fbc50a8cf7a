"""Training throughput and memory: optimiser steps per second of the paper's recipe.

    PYTHONPATH=server python bench/bench_train_step.py [--size tiny|released] [--batch 4] [--steps 10]
                                                       [--seconds 30] [--device auto] [--json OUT.json]

Runs ``training.step.TrainingModule`` (rhythm predictor + conditioners + DiT, joint
loss, CFG dropout, scheduled conditioning at p_real 0.5) with AdamW on synthetic
in-memory batches of ``--seconds``-long windows (no data loading, no VAE: the
latents are random, the cost is the same), bf16 autocast on CUDA. Reports
steps/s, windows/s and peak memory (CUDA allocator peak on GPU, process peak
RSS on CPU). ``released`` is the 1.4 B-parameter model: a GPU job (it needs
~25 GB for weights, gradients and AdamW state before activations).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time

import torch

from diffv2m.model.stack import DiffV2M
from diffv2m.model.testing import tiny_spec
from diffv2m.training.model_setup import RELEASED_SIZES
from diffv2m.training.step import StepDraws, TrainingModule


def synthetic_batch(stack: DiffV2M, batch: int, seconds: int, device: torch.device) -> dict[str, torch.Tensor]:
    length = stack.max_seconds
    frames = seconds * stack.sample_rate // stack.downsampling_ratio
    channels = stack.vae.config.decoder_input_channels
    values = {
        "clip": torch.randn(batch, length, 512),
        "colour": torch.rand(batch, length, 3072),
        "scene_cut": (torch.rand(batch, length) < 0.1).long(),
        "visual_beat": torch.rand(batch, length),
        "rhythm": torch.randn(batch, length, 1),
        "valid_seconds": torch.full((batch,), min(seconds, length)),
        "seconds_total": torch.full((batch,), float(seconds)),
        "latent_mean": torch.randn(batch, channels, frames),
        "latent_std": torch.full((batch, channels, frames), 0.1),
    }
    return {key: value.to(device) for key, value in values.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=("tiny", "released"), default="tiny")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)
    if args.size == "released" and device.type != "cuda":
        raise SystemExit("the released size is a GPU benchmark (about 25 GB of weights and optimiser state)")
    torch.manual_seed(0)
    spec = tiny_spec(**(RELEASED_SIZES if args.size == "released" else {}))
    stack = DiffV2M.from_spec(spec, emotion_source="colour")
    module = TrainingModule(stack, "colour").to(device).train()
    params = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4, weight_decay=1e-3)
    batch = synthetic_batch(stack, args.batch, args.seconds, device)
    generator = torch.Generator().manual_seed(0)
    use_bf16 = device.type == "cuda"
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16)

    def step() -> None:
        draws = StepDraws.draw(generator, args.batch, tuple(batch["latent_mean"].shape[1:]), 0.5, 0.1).to(device)
        latents = batch["latent_mean"] + batch["latent_std"] * draws.latent_noise
        with autocast:
            module(batch, latents, draws)["loss"].backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step()  # warm-up: allocations, kernels
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    began = time.perf_counter()
    for _ in range(args.steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - began
    peak_mb = (
        torch.cuda.max_memory_allocated() / 2**20
        if device.type == "cuda"
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    figures = {
        "size": args.size,
        "trainable_parameters": sum(p.numel() for p in params),
        "batch": args.batch,
        "window_seconds": args.seconds,
        "device": str(device) if device.type != "cuda" else torch.cuda.get_device_name(device),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads",
        "steps_per_s": round(args.steps / elapsed, 3),
        "windows_per_s": round(args.steps * args.batch / elapsed, 2),
        "peak_memory_mb": round(peak_mb, 1),
    }
    print(json.dumps(figures, indent=1))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(figures, handle, indent=1)


if __name__ == "__main__":
    main()
