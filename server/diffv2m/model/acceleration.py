"""Put a stack on its device in the fastest form it runs correctly in.

* CUDA: the DiT in bfloat16 (fp16 and fp32 selectable), TF32 matmuls for
  what stays float32, SDPA picks the fused flash/memory-efficient kernels
  (every attention here is one plain SDPA call), and optionally
  ``torch.compile`` of the DiT — ``"reduce-overhead"`` adds CUDA graphs,
  which matter at batch 2 where a step is ~700 small kernel launches.
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


def default_dtype(device: str) -> torch.dtype:
    if device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def prepare_for_inference(
    stack: DiffV2M,
    device: str,
    dtype: torch.dtype | None = None,
    compile_mode: str | None = None,
) -> DiffV2M:
    """Move ``stack`` to ``device`` with the DiT in ``dtype`` (default: bf16 on CUDA, else fp32)."""
    dtype = dtype or default_dtype(device)
    if device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    stack.to(device, dit_dtype=dtype).eval()
    if compile_mode and device.startswith("cuda"):
        eager = stack.transformer
        try:
            stack.transformer = torch.compile(eager, mode=compile_mode)
            warm_up(stack)
        except Exception as exc:  # compile is an optimisation: never the reason a generation fails
            log.warning("torch.compile failed (%s); running the DiT eagerly", exc)
            stack.transformer = eager
    return stack


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
