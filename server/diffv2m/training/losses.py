"""The two training losses: the DiT's v-objective and the rhythm predictor's masked MSE.

v-objective (cosine schedule, research notes §3.5): t ~ U[0, 1), α = cos(πt/2),
σ = sin(πt/2), x_t = α·z + σ·ε, target v = α·ε − σ·z, loss = MSE(v̂, v).

The rhythm loss averages the squared error over every valid second of every
sample. The mask is **boolean**: the released code casts it to long, and
integer indexing then selects batch rows 0/1 instead of masking, so only one
batch element trained the predictor (research notes §9.2).
"""

from __future__ import annotations

import math

import torch


def noise_schedule(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(α, σ) of the v-diffusion cosine schedule at times ``t`` (B,)."""
    return torch.cos(t * math.pi / 2), torch.sin(t * math.pi / 2)


def diffuse(latents: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(noised latents x_t, v target) for clean ``latents`` (B, C, L), ``noise`` like them, times ``t`` (B,)."""
    alpha, sigma = (s[:, None, None] for s in noise_schedule(t.float()))
    return alpha * latents + sigma * noise, alpha * noise - sigma * latents


def v_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.mse_loss(prediction.float(), target.float())


def masked_rhythm_loss(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the valid seconds of all samples.

    ``prediction``/``target``: (B, T, d); ``mask``: (B, T), truthy where the
    second is valid. It is converted to bool here, whatever its dtype.
    """
    valid = mask.bool()
    if not bool(valid.any()):
        return prediction.sum() * 0.0  # keeps the graph; nothing to learn from
    squared = (prediction.float() - target.float()) ** 2
    return squared[valid].mean()
