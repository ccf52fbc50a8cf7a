"""Long ranges: windows in turn (continuation) against all windows denoised together, with random weights.

    PYTHONPATH=server python bench/bench_longform.py [--seconds 61] [--steps 4] [--batch 3] [--device cpu]

Both paths run the same window plan (``longform.plan_windows``) at the released window
geometry (645 latent frames of 2048 samples at 44.1 kHz) with a reduced DiT
(``--width/--depth``) and a tiny Oobleck decoder, so the time is the sampling's. It
prints the plan, then the wall time of each path, DiT forwards and rows per forward.
``--batch N`` is the joint path's windows per forward (× 2 for CFG).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

from diffv2m.model.longform import generate_range, plan_windows
from diffv2m.model.testing import random_range_features, random_stack, tiny_spec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=61.0)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch", type=int, default=3, help="windows per forward on the joint path")
    parser.add_argument("--width", type=int, default=384)
    parser.add_argument("--depth", type=int, default=6)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    spec = tiny_spec(embed_dim=args.width, depth=args.depth, num_heads=args.width // 64, cond_dim=min(768, args.width))
    stack = random_stack(spec)
    stack.to(args.device)
    windows = plan_windows(args.seconds, stack)
    hops = sorted({b.start_second - a.start_second for a, b in itertools.pairwise(windows)})
    print(f"{args.seconds:g} s: {len(windows)} windows, starts {[w.start_second for w in windows]}, hops {hops} s")
    features = random_range_features(int(-(-args.seconds // 1)))
    generate_range(stack, features, min(args.seconds, 5.0), 0, "dpmpp-2m", 1, 3.0)  # first-call set-up
    forwards = {0: len(windows) * args.steps, args.batch: -(-len(windows) // args.batch) * args.steps}
    for batch in (0, args.batch):
        began = time.perf_counter()
        generate_range(stack, features, args.seconds, 0, "dpmpp-2m", args.steps, 3.0, window_batch=batch)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        seconds = time.perf_counter() - began
        rows = 2 * (min(batch, len(windows)) if batch else 1)
        name = "in turn (continuation)" if batch == 0 else f"together, {batch} per forward"
        print(f"  {name:<28} {seconds:7.2f} s   {forwards[batch]:4d} DiT forwards of {rows} rows")


if __name__ == "__main__":
    main()
