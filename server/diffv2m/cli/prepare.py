"""``diffv2m prepare DATA_DIR OUT_DIR``: features, rhythm targets and VAE latents of paired clips."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "prepare",
        help="cut paired videos and music into training windows (features, rhythm targets, VAE latents)",
        description="Each video under DATA_DIR is paired with the sound file of the same name beside it, or with "
        "its own audio track. Resumable: run it again to continue. See docs/training.md.",
    )
    p.add_argument("data", type=Path, help="folder of videos (and their music)")
    p.add_argument("out", type=Path, help="prepared set folder (created; reruns continue it)")
    p.add_argument("--window", type=float, default=30.0, help="seconds per window (default 30, the paper's)")
    p.add_argument("--hop", type=float, help="seconds between window starts (default: the window)")
    p.add_argument("--min-seconds", type=float, default=5.0, help="drop a last window shorter than this (default 5)")
    p.add_argument("--rate", type=float, default=1.0, help="feature rows per second (default 1, the paper's)")
    p.add_argument("--clip", default=os.environ.get("DIFFV2M_CLIP"), help="CLIP ViT-B/32: folder or hub id")
    p.add_argument("--vae", help="VAE for latents: weights folder, official .ckpt or Oobleck folder (else audio)")
    p.add_argument("--keep-audio", action="store_true", help="store each window's audio even with a VAE")
    p.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) // 2), help="parallel processes")
    p.add_argument("--device", default="cpu", help="device for CLIP and the VAE (default cpu)")
    p.add_argument("--allow-download", action="store_true", help="fetch hub models that are not local")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..training.prepare import PrepareOptions, prepare

    options = PrepareOptions(
        window=args.window,
        hop=args.hop or args.window,
        min_seconds=min(args.min_seconds, args.window),
        rate=args.rate,
        clip=args.clip,
        vae=args.vae,
        keep_audio=args.keep_audio,
        device=args.device,
        allow_download=args.allow_download or os.environ.get("DIFFV2M_ALLOW_DOWNLOAD") == "1",
    )
    bar = tqdm(total=0, unit="video")

    def progress(name: str, finished: int, total: int) -> None:
        bar.total = total
        bar.n = finished
        bar.set_postfix_str(name[-40:])
        bar.refresh()

    try:
        manifest = prepare(args.data, args.out, options, workers=args.workers, progress=progress)
    finally:
        bar.close()
    print(f"{len(manifest['windows'])} windows in {args.out} ({manifest['resumed']} videos were already done)")
    for item in manifest["skipped"]:
        print(f"skipped {item['video']}: {item['reason']}")
    return 0
