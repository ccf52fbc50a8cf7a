"""``diffv2m train CONFIG``: train or fine-tune Diff-V2M on a prepared set (docs/training.md)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="train Diff-V2M on a prepared set (the paper's recipe; checkpoints, resume, multi-GPU via torchrun)",
        description="CONFIG is a TOML file (see docs/training.md). Several GPUs: "
        "torchrun --nproc_per_node N -m diffv2m train CONFIG.",
    )
    p.add_argument("config", type=Path, help="the run's TOML file")
    p.add_argument(
        "--resume",
        nargs="?",
        const=True,
        default=False,
        metavar="CHECKPOINT",
        help="continue from the latest checkpoint in the output folder (or from CHECKPOINT)",
    )
    p.add_argument("--max-steps", type=int, help="stop after this many optimiser steps (overrides the config)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..training.config import load_config
    from ..training.trainer import train

    config = load_config(args.config)
    if args.max_steps is not None:
        config.train.max_steps = args.max_steps
    result = train(config, resume=args.resume)
    if result.weights is not None:
        print(f"trained {result.steps} steps, last loss {result.last_loss:.4f}; weights: {result.weights}")
    return 0
