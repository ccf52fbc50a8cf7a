"""``diffv2m sample-clip OUT.mp4``: write the demo clip the README scores."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("sample-clip", help="write a short synthetic demo video (flashes, cuts, colour shots)")
    p.add_argument("out", type=Path, help="output .mp4")
    p.add_argument("--duration", type=float, default=20.0, help="seconds (default 20)")
    p.add_argument("--bpm", type=float, default=112.0, help="tempo of the flashes (default 112)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..benchmark.videos import demo_clip_spec, write_clip

    truth = write_clip(args.out, demo_clip_spec(args.duration, args.bpm, args.seed))
    print(f"wrote {args.out} ({truth.duration:.1f} s, {len(truth.event_times)} flashes, {len(truth.cut_times)} cuts)")
    return 0
