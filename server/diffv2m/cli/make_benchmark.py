"""``diffv2m make-benchmark OUT_DIR``: synthetic videos with known visual events + manifest."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InputError


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"size must look like 320x240, not {text!r}") from exc
    if width < 64 or height < 64 or width % 2 or height % 2:
        raise argparse.ArgumentTypeError("width and height must be even and at least 64")
    return width, height


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "make-benchmark",
        help="write the synthetic audiovisual benchmark (flashes, bouncing ball, cuts; known event times)",
        description="Render videos with known visual events (periodic at several tempi with random phase, and "
        "aperiodic; 23.976-60 fps and one VFR clip) and a manifest.json with the ground truth. "
        "Score music for them with 'diffv2m eval RESULTS_DIR --videos OUT_DIR'.",
    )
    p.add_argument("out", type=Path, help="output folder (must be new or empty)")
    p.add_argument("--duration", type=float, default=10.0, help="seconds per clip (default 10)")
    p.add_argument("--seed", type=int, default=0, help="random phases and event times (default 0)")
    p.add_argument("--size", type=_size, default=(320, 240), help="frame size WxH (default 320x240)")
    p.add_argument(
        "--reference-tracks",
        action="store_true",
        help="also write reference music: notes on the events (oracle), 60 ms late, 120 ms late, random",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an earlier benchmark in OUT_DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..benchmark.suite import MANIFEST, benchmark_specs, write_benchmark
    from ..benchmark.tracks import write_reference_tracks

    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} exists and is not a folder.")
    if out.is_dir() and any(out.iterdir()) and not (args.overwrite and (out / MANIFEST).is_file()):
        raise InputError(f"{out} is not empty; choose a new folder (or --overwrite an earlier benchmark).")
    width, height = args.size
    total = len(benchmark_specs(args.duration, args.seed, width, height))
    done = []

    def progress(clip_id: str) -> None:
        done.append(clip_id)
        print(f"[{len(done)}/{total}] {clip_id}", flush=True)

    manifest = write_benchmark(out, args.duration, args.seed, width, height, progress)
    print(f"wrote {len(manifest['clips'])} clips and {out / MANIFEST}")
    if args.reference_tracks:
        folders = write_reference_tracks(out, manifest)
        print(f"wrote reference tracks: {', '.join(str(f) for f in folders.values())}")
    return 0
