"""Classifier-free guidance exactly as released: one batch of [conditional; unconditional].

The unconditional half has every cross-attention context zeroed and keeps the
same masks and the same global vector (seconds + class are never dropped);
the guided output is ``uncond + (cond − uncond) · scale`` with no rescale.
A scale of 1 runs the conditional pass alone.
"""

from __future__ import annotations

import torch

from .dit import DiffV2MTransformer
from .dit_conditioning import DiTConditioning
from .fusion import branch_for


class GuidedVelocity:
    """``model(x, t) -> v`` for the samplers; t is a host float, broadcast on the device without a sync."""

    def __init__(self, transformer: DiffV2MTransformer, conditioning: DiTConditioning, scale: float) -> None:
        self.transformer = transformer
        self.scale = float(scale)
        self.conditioning = conditioning
        self.pair = conditioning.with_guidance_batch()  # [conditional; unconditional], built once per generation
        self.switch_t = transformer.hard_switch_t

    def __call__(self, x: torch.Tensor, t: float) -> torch.Tensor:
        hint = branch_for(t, self.switch_t) if self.switch_t is not None else None
        if self.scale == 1.0:
            times = torch.full((x.shape[0],), t, dtype=torch.float32, device=x.device)
            return self.transformer(x, times, self.conditioning, hint=hint).float()
        times = torch.full((2 * x.shape[0],), t, dtype=torch.float32, device=x.device)
        return self._guide(self.transformer(torch.cat((x, x)), times, self.pair, hint=hint))[0]

    def outputs(self, x: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(guided, conditional, unconditional) v for per-sample times ``t``, from one batched call."""
        return self._guide(self.transformer(torch.cat((x, x)), torch.cat((t, t)), self.pair))

    def _guide(self, both: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        cond, uncond = both.float().chunk(2)
        return uncond + (cond - uncond) * self.scale, cond, uncond
