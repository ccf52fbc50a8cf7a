"""Put a stack on its device in the fastest form it runs correctly in.

* CUDA: the DiT in bfloat16 (``PRECISIONS``: an fp32 residual stream around
  bf16 matmul inputs, fp16 and fp32 selectable; FP8 refused), TF32 matmuls for
  what stays float32, SDPA picks the fused flash/memory-efficient kernels
  (every attention here is one plain SDPA call); ``compile_denoise`` compiles
  the DiT's per-step call (which mode a device gets, and the persistent cache:
  ``compiled.py``).
* CPU / MPS: float32, eager.

The sampler loop never reads device values (t is a host float), so nothing
forces a host sync between steps.
"""

from __future__ import annotations

import logging

import torch

from .dit_conditioning import DiTConditioning
from .guidance import GuidedVelocity
from .longform import window_lengths
from .stack import DiffV2M

log = logging.getLogger(__name__)
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
# name -> (the DiT's weights and matmul inputs, its residual stream; None: the weights' dtype)
PRECISIONS: dict[str, tuple[torch.dtype, torch.dtype | None]] = {
    "bf16": (torch.bfloat16, None),  # the CUDA default
    # The official inference keeps its stream in float32 under fp16 autocast; this is that, with bf16 weights.
    "bf16-fp32-residual": (torch.bfloat16, torch.float32),
    "fp16": (torch.float16, None),
    "fp32": (torch.float32, None),
}
FP8_REFUSAL = (
    "FP8 is not available in this build of the Diff-V2M server (issue 13 leaves it optional and it has not been "
    "built or measured); choose one of {names}."
)


def default_dtype(device: str) -> torch.dtype:
    if device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def resolve_precision(name: str | None, device: str) -> tuple[torch.dtype, torch.dtype | None]:
    """(weights dtype, residual-stream dtype) for a precision name; None or "auto": bf16 on CUDA, else fp32."""
    if name in (None, "", "auto"):
        return default_dtype(device), None
    names = ", ".join(["auto", *PRECISIONS])
    if name.lower().startswith("fp8"):
        raise ValueError(FP8_REFUSAL.format(names=names))
    if name not in PRECISIONS:
        raise ValueError(f"Unknown precision '{name}'; choose one of {names}.")
    return PRECISIONS[name]


def prepare_for_inference(
    stack: DiffV2M,
    device: str,
    precision: str | None = None,
) -> DiffV2M:
    """Move ``stack`` to ``device`` with the DiT in ``precision`` (``PRECISIONS``; default: bf16 on CUDA, else fp32)."""
    dtype, residual = resolve_precision(precision, device)
    if device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    stack.to(device, dit_dtype=dtype).eval()
    stack.transformer.residual_dtype = residual
    return stack


def compile_denoise(stack: DiffV2M, mode: str, backend: str = "inductor") -> str | None:
    """Compile the per-step ``denoise`` (what a sampler calls; ``prepare`` runs once per run and stays eager)
    and warm it up; returns None, or why it fell back to eager (logged).

    The compiled function shadows the method on this one module, so the module itself, its weights and its
    ``prepare``/``forward`` stay as they are.
    """
    dit = stack.transformer
    try:
        dit.denoise = torch.compile(dit.denoise, mode=mode, backend=backend)
        warm_up(stack)
    except Exception as exc:  # compile is an optimisation: never the reason a generation fails
        reason = failure_reason(exc)
        log.warning("torch.compile failed (%s); running the DiT eagerly", reason)
        run_eagerly(stack)
        return reason
    return None


def run_eagerly(stack: DiffV2M) -> None:
    """Drop a compiled ``denoise`` (see ``compile_denoise``): the class's eager method shows again."""
    vars(stack.transformer).pop("denoise", None)


def failure_reason(exc: BaseException, limit: int = 500) -> str:
    """One line for /health: the exception and what caused it (dynamo wraps a backend's error in
    ``BackendCompilerFailed``, whose own message ends where the cause's begins)."""
    parts = []
    while exc is not None and len(parts) < 3:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        parts.append(f"{type(exc).__name__}: {lines[0] if lines else 'no message'}")
        exc = getattr(exc, "inner_exception", None) or exc.__cause__
    return " <- ".join(parts)[:limit]


@torch.no_grad()
def dummy_conditioning(stack: DiffV2M, batch: int = 1) -> DiTConditioning:
    """Zero conditioning of the real shapes (what compilation and benchmarks need, not meaningful music)."""
    device, cfg = stack.device, stack.conditioner.config
    context = torch.zeros(batch, cfg.max_length + 2, cfg.cond_dim, device=device)
    mask = torch.ones(batch, cfg.max_length + 2, dtype=torch.bool, device=device)
    emotion = None if stack.info.emotion_source == "none" else context
    colour_context = torch.zeros(batch, cfg.max_length, cfg.cond_dim, device=device)
    if stack.info.emotion_source == "colour":
        emotion = colour_context
    return DiTConditioning(
        semantic=context,
        semantic_mask=mask,
        rhythm=context,
        rhythm_mask=mask,
        global_cond=torch.zeros(batch, stack.transformer.config.global_cond_dim, device=device),
        emotion=emotion,
        emotion_mask=None if emotion is None else mask[:, : emotion.shape[1]],
    )


@torch.no_grad()
def warm_up(stack: DiffV2M, guidance: float = 3.0) -> None:
    """Run both fusion branches once at every window length the plan makes (645, and 646 for a 30.0-s
    request), so each shape is compiled/captured before the first request needs it."""
    velocity = GuidedVelocity(stack.transformer, dummy_conditioning(stack), guidance)
    for frames in window_lengths(stack):
        x = torch.zeros(1, stack.transformer.config.io_channels, frames, device=stack.device)
        for t in (0.9, 0.1):
            velocity(x, t)
