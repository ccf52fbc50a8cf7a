"""The windows of a long range denoised together: one latent for the whole range, several windows per forward.

The continuation path (``longform.generate_range`` with ``window_batch=0``)
samples window after window, one CFG batch of 2 at a time. Here every step
cuts each window's slice out of the one latent of the whole range, runs up to
``window_batch`` windows (× 2 for CFG) through the DiT in one batch, and blends
their v-predictions into one v for the whole latent, weighted by a raised-cosine
ramp that falls towards each window's edges inside the frames it shares with a
neighbour (the MultiDiffusion fusion, Bar-Tal et al. 2023, arXiv 2302.08113,
applied to v). The sampler then steps the whole latent at once, so the frames
two windows share hold one value at every step (consistent by construction),
and the blended v is continuous across every window boundary, so no seam forms.

Averaging v equals averaging the windows' clean predictions (x0 = α·x − σ·v is
affine in v at the shared x and t), so the samplers' updates are unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from .dit_conditioning import DiTConditioning, concat
from .guidance import GuidedVelocity
from .samplers import StepCallback, run_sampler
from .stack import DiffV2M


def blend_weights(starts: list[int], frames: int, total: int) -> torch.Tensor:
    """(windows, frames) weights that sum to 1 at every latent frame of ``total``.

    Each window's weight rises over the frames it shares with the previous window and falls over those it
    shares with the next (sin² ramps, never exactly 0, so every frame has weight), and is 1 elsewhere.
    """
    weights = torch.ones(len(starts), frames, dtype=torch.float64)
    for k in range(len(starts) - 1):
        shared = starts[k] + frames - starts[k + 1]
        if shared <= 0:
            raise ValueError("windows blended together must overlap")
        ramp = torch.sin(math.pi / 2 * (torch.arange(shared, dtype=torch.float64) + 0.5) / shared) ** 2
        weights[k + 1, :shared] *= ramp
        weights[k, frames - shared :] *= ramp.flip(0)
    cover = torch.zeros(total, dtype=torch.float64)
    for start, weight in zip(starts, weights, strict=True):
        cover[start : start + frames] += weight
    if bool((cover <= 0).any()):
        raise ValueError("the windows leave latent frames uncovered")
    return torch.stack([w / cover[s : s + frames] for s, w in zip(starts, weights, strict=True)]).float()


class JointVelocity:
    """``model(x, t) -> v`` over the whole range's latent (1, C, total), from its windows in batches."""

    def __init__(
        self,
        stack: DiffV2M,
        conditionings: list[DiTConditioning],
        starts: list[int],
        frames: int,
        total: int,
        scale: float,
        window_batch: int,
    ) -> None:
        if window_batch < 1:
            raise ValueError("window_batch must be at least 1")
        self.starts, self.frames = starts, frames
        self.weights = blend_weights(starts, frames, total).to(stack.device)[:, None, :]  # (windows, 1, frames)
        self.chunks = [
            (range(i, min(i + window_batch, len(starts))),
             GuidedVelocity(stack.transformer, concat(conditionings[i : i + window_batch]), scale))
            for i in range(0, len(starts), window_batch)
        ]  # fmt: skip

    def prepare_schedule(self, times: Sequence[float]) -> None:
        """Passed on to every batch's ``GuidedVelocity`` (its per-step constants, made in one go)."""
        for _, velocity in self.chunks:
            velocity.prepare_schedule(times)

    def __call__(self, x: torch.Tensor, t: float) -> torch.Tensor:
        v = torch.zeros_like(x)
        for indices, velocity in self.chunks:
            batch = torch.cat([x[..., self.starts[k] : self.starts[k] + self.frames] for k in indices])
            out = velocity(batch, t) * self.weights[indices.start : indices.stop]
            for row, k in enumerate(indices):
                v[..., self.starts[k] : self.starts[k] + self.frames] += out[row : row + 1]
        return v


@torch.no_grad()
def sample_jointly(
    stack: DiffV2M,
    conditionings: list[DiTConditioning],
    starts: list[int],
    frames: int,
    noise: torch.Tensor,
    sampler: str,
    steps: int,
    guidance: float | None = None,
    window_batch: int = 8,
    on_step: StepCallback | None = None,
) -> torch.Tensor:
    """The clean latent (1, C, total) of the whole range, every window denoised in step with the others."""
    scale = stack.info.default_guidance if guidance is None else guidance
    velocity = JointVelocity(stack, conditionings, starts, frames, noise.shape[-1], scale, window_batch)
    return run_sampler(sampler, velocity, noise, steps, stack.transformer.hard_switch_t, on_step)
