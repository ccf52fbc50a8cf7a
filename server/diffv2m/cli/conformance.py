"""``diffv2m conformance CKPT CONFIG CASES OUT``: recompute the official conformance tensors.

Loads an official-format checkpoint + config, reads only the *input* tensors
of CASES, recomputes every output (conditioners, rhythm predictor, DiT with
and without CFG, the released v-DDIM run, VAE encode/decode) with this
package's code and writes them to OUT (safetensors) under the fixture's names.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("conformance", help="recompute official conformance outputs with this implementation")
    p.add_argument("checkpoint", type=Path, help="official Lightning checkpoint (.ckpt)")
    p.add_argument("config", type=Path, help="official model config JSON")
    p.add_argument("cases", type=Path, help="cases .safetensors (only its input tensors are read)")
    p.add_argument("out", type=Path, help="output .safetensors")
    p.add_argument("--ema", action="store_true", help="use the EMA DiT weights (the official inference does not)")
    p.add_argument("--trust-pickle", action="store_true", help="allow pickled objects in the checkpoint")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from safetensors.torch import save_file

    from ..errors import InputError
    from ..model.conformance import case_inputs, compute_outputs
    from ..model.io.official_checkpoint import load_official

    if not args.cases.is_file():
        raise InputError(f"The cases file {args.cases} does not exist.")
    stack = load_official(args.checkpoint, args.config, use_ema=args.ema, trust_pickle=args.trust_pickle)
    try:
        inputs = case_inputs(args.cases)
    except Exception as exc:
        raise InputError(f"The cases file {args.cases} is not a readable safetensors file ({exc}).") from exc
    outputs = compute_outputs(stack, inputs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_file(outputs, str(args.out), metadata={"source": str(args.checkpoint), "weights": stack.info.source})
    print(f"wrote {len(outputs)} tensors to {args.out} ({len(inputs)} inputs read from {args.cases})")
    return 0
