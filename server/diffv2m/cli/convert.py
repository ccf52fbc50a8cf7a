"""``diffv2m convert CKPT CONFIG OUT``: official checkpoint → this project's weights folder.

The folder (safetensors + JSON, diffusers layout) loads in a second with
memory mapping and without unpickling; point ``--weights`` at it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..model.choices import EMOTION_SOURCES


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("convert", help="convert the official Diff-V2M checkpoint to the project format")
    p.add_argument("checkpoint", type=Path, help="official Lightning checkpoint (model_odf.ckpt)")
    p.add_argument("config", type=Path, help="official model config JSON (model_config_odf.json)")
    p.add_argument("out", type=Path, help="output folder (must not exist or be empty)")
    p.add_argument(
        "--ema",
        action="store_true",
        help="take the EMA DiT weights (default: the online weights, which the official inference uses)",
    )
    p.add_argument(
        "--emotion-source",
        choices=EMOTION_SOURCES,
        default=None,
        help="level-1 context to record (default: 'released', what the checkpoint was trained with)",
    )
    p.add_argument("--dtype", choices=("fp32", "bf16", "fp16"), default="fp32", help="storage dtype of the DiT")
    p.add_argument("--trust-pickle", action="store_true", help="allow pickled objects in the checkpoint")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import InputError

    if args.out.exists() and any(args.out.iterdir()):
        raise InputError(f"The output folder {args.out} is not empty; choose a new folder.")
    from ..model.acceleration import DTYPES
    from ..model.io.official_checkpoint import load_official
    from ..model.io.pretrained import save_pretrained

    stack = load_official(
        args.checkpoint,
        args.config,
        use_ema=args.ema,
        emotion_source=args.emotion_source,
        trust_pickle=args.trust_pickle,
    )
    save_pretrained(stack, args.out, dtype=None if args.dtype == "fp32" else DTYPES[args.dtype])
    print(f"wrote {args.out} ({stack.info.source}; emotion_source {stack.info.emotion_source})")
    return 0
