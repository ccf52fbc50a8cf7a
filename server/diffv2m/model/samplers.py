"""Samplers for the v-parameterised cosine diffusion (α = cos(πt/2), σ = sin(πt/2)).

* ``ddim``: the released sampler, bit-for-bit: eta 0, t = linspace(1, 0, N+1)[:-1]
  (float32), each step pred = α·x − σ·v, eps = σ·x + α·v, x ← α'·pred + σ'·eps; it
  returns the last pred (t = 1/N), not a final step to 0. 250 steps as released.
* ``dpmpp-2m``: DPM-Solver++(2M) (Lu et al. 2022) on the same schedule, in data
  prediction x0 = α·x − σ·v with λ = log(α/σ); the last step lands on t = 0. The
  released fusion switches branches at t = 0.2, so the vector field jumps there:
  the grid has a point exactly at the switch for any step count ≥ 2
  (``dpm_grid``), so no step straddles the jump, and the solver drops its
  history there (a first-order step) instead of extrapolating across it.
  50 steps by default.

Both take ``model(x, t) -> v`` with t a host float, so the loop never reads the
device (no host syncs); ``on_step(i, x, denoised)`` is called after every step.
Before the loop a sampler announces its times to a model that can prepare
per-step constants for them in one go (``announce_schedule``).
``Inpainting`` pins latent frames to known content (the previous window's tail
when continuing a long score): before each model call they are replaced by the
known latent noised to the current level with a fixed noise draw.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .choices import resolve_sampling
from .fusion import branch_for

VelocityFn = Callable[[torch.Tensor, float], torch.Tensor]
StepCallback = Callable[[int, torch.Tensor, torch.Tensor], None]


@dataclass
class Inpainting:
    known: torch.Tensor  # (B, C, L) latent, meaningful where mask is True
    mask: torch.Tensor  # (1 or B, 1, L) bool
    noise: torch.Tensor  # (B, C, L), the noise the known frames are diffused with

    def apply(self, x: torch.Tensor, alpha: float, sigma: float) -> torch.Tensor:
        return torch.where(self.mask, self.known * alpha + self.noise * sigma, x)


def announce_schedule(model: VelocityFn, times: list[float]) -> None:
    """Tell a model that can use it (``GuidedVelocity.prepare_schedule``) every time it will be called at."""
    prepare = getattr(model, "prepare_schedule", None)
    if prepare is not None:
        prepare(times)


def released_schedule(steps: int) -> torch.Tensor:
    """t = linspace(1, 0, steps + 1)[:-1] in float32, as the released sampler builds it."""
    return torch.linspace(1, 0, steps + 1)[:-1]


def sample_ddim(
    model: VelocityFn,
    x: torch.Tensor,
    t: torch.Tensor,
    on_step: StepCallback | None = None,
    inpaint: Inpainting | None = None,
) -> torch.Tensor:
    """The released v-DDIM (eta 0) over the float32 schedule ``t`` (N values, t[0] = 1); returns the last pred."""
    alphas, sigmas = torch.cos(t * math.pi / 2), torch.sin(t * math.pi / 2)  # float32, as released
    next_sigmas = (sigmas[1:] ** 2).sqrt().tolist()  # the released "adjusted sigma" at eta 0
    alphas, sigmas = alphas.tolist(), sigmas.tolist()  # exact float32 values as host floats
    times = t.tolist()
    steps = len(alphas)
    announce_schedule(model, times)
    pred = x
    for i in range(steps):
        if inpaint is not None:
            x = inpaint.apply(x, alphas[i], sigmas[i])
        v = model(x, times[i])
        pred = x * alphas[i] - v * sigmas[i]
        if i < steps - 1:
            eps = x * sigmas[i] + v * alphas[i]
            x = pred * alphas[i + 1] + eps * next_sigmas[i]
        if on_step is not None:
            on_step(i, x, pred)
    return pred


def dpm_grid(steps: int, switch_t: float | None = None) -> list[float]:
    """``steps + 1`` times from 1 to 0, uniform in t like the released schedule, with a point exactly at
    ``switch_t`` when there are ≥ 2 steps: the steps are shared between (1, switch_t] and (switch_t, 0] in
    proportion to their lengths, each side uniform. Where ``steps × (1 − switch_t)`` is whole (25, 50, ... for
    the released 0.2) this is the plain uniform grid."""
    if switch_t is None or steps < 2 or not 0.0 < switch_t < 1.0:
        return [1.0 - i / steps for i in range(steps)] + [0.0]
    above = min(steps - 1, max(1, round(steps * (1.0 - switch_t))))
    below = steps - above
    upper = [1.0 - (1.0 - switch_t) * i / above for i in range(above)]
    lower = [switch_t * (1.0 - i / below) for i in range(below)]
    return upper + lower + [0.0]  # lower[0] is switch_t itself, exactly


def sample_dpmpp_2m(
    model: VelocityFn,
    x: torch.Tensor,
    steps: int,
    switch_t: float | None = None,
    on_step: StepCallback | None = None,
    inpaint: Inpainting | None = None,
    grid: list[float] | None = None,
) -> torch.Tensor:
    """DPM-Solver++(2M) from t = 1 to t = 0 in ``steps`` model calls on ``dpm_grid(steps, switch_t)``
    (or an explicit decreasing ``grid`` of ``steps + 1`` times from 1 to 0)."""
    times = dpm_grid(steps, switch_t) if grid is None else [float(t) for t in grid]
    if len(times) != steps + 1 or times[0] != 1.0 or times[-1] != 0.0:
        raise ValueError("the grid must hold steps + 1 times from 1 to 0")
    alphas = [math.cos(t * math.pi / 2) for t in times]
    sigmas = [math.sin(t * math.pi / 2) for t in times]
    alphas[0], sigmas[-1], alphas[-1] = max(alphas[0], 0.0), 0.0, 1.0
    announce_schedule(model, times[:steps])
    # λ = log(α/σ); at t = 1 α is ~6e-17 in float64, so λ stays finite (≈ −37) and the first step is plain DDIM
    lambdas = [math.log(max(a, 1e-30) / s) if s > 0 else math.inf for a, s in zip(alphas, sigmas, strict=True)]
    previous: torch.Tensor | None = None
    for i in range(steps):
        if inpaint is not None:
            x = inpaint.apply(x, alphas[i], sigmas[i])
        v = model(x, times[i])
        denoised = x * alphas[i] - v * sigmas[i]
        crosses_switch = (
            switch_t is not None and i > 0 and branch_for(times[i - 1], switch_t) != branch_for(times[i], switch_t)
        )
        if sigmas[i + 1] == 0.0:
            x = denoised
        else:
            h = lambdas[i + 1] - lambdas[i]
            blend = denoised
            if previous is not None and not crosses_switch:
                r = (lambdas[i] - lambdas[i - 1]) / h
                blend = denoised * (1 + 1 / (2 * r)) - previous * (1 / (2 * r))
            x = x * (sigmas[i + 1] / sigmas[i]) - blend * (alphas[i + 1] * math.expm1(-h))
        previous = denoised
        if on_step is not None:
            on_step(i, x, denoised)
    return x


def run_sampler(
    name: str,
    model: VelocityFn,
    noise: torch.Tensor,
    steps: int | None = None,
    switch_t: float | None = None,
    on_step: StepCallback | None = None,
    inpaint: Inpainting | None = None,
) -> torch.Tensor:
    """Sample a clean latent from ``noise`` with the named sampler (``SAMPLER_NAMES``), ``steps`` or its default."""
    name, steps, _ = resolve_sampling(None, steps, name)
    if steps < 1:
        raise ValueError("the sampler needs at least one step")
    if name == "ddim":
        return sample_ddim(model, noise, released_schedule(steps), on_step, inpaint)
    return sample_dpmpp_2m(model, noise, steps, switch_t, on_step, inpaint)
