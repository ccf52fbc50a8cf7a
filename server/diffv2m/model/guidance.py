"""Classifier-free guidance exactly as released: one batch of [conditional; unconditional].

The unconditional half has every cross-attention context zeroed and keeps the
same masks and the same global vector (seconds + class are never dropped);
the guided output is ``uncond + (cond − uncond) · scale`` with no rescale.
A scale of 1 runs the conditional pass alone.

The DiT's per-run constants are prepared once here, the unconditional half
as null rows whose cross-attentions are known exactly (dit_constants.py);
a sampler that announces its schedule (``prepare_schedule``) gets the
per-step constants made in one go. ``per_run_constants=False`` keeps the
plain path (everything recomputed, the zero contexts attended) that the
tests and bench/bench_model.py compare against.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .dit import DiffV2MTransformer
from .dit_conditioning import DiTConditioning
from .dit_constants import StepConstants
from .fusion import branch_for


class GuidedVelocity:
    """``model(x, t) -> v`` for the samplers; t is a host float, broadcast on the device without a sync."""

    def __init__(
        self,
        transformer: DiffV2MTransformer,
        conditioning: DiTConditioning,
        scale: float,
        per_run_constants: bool = True,
    ) -> None:
        self.transformer = transformer
        self.scale = float(scale)
        self.conditioning = conditioning
        self.switch_t = transformer.hard_switch_t
        self.per_run_constants = per_run_constants
        self.schedule: dict[float, StepConstants] = {}
        if per_run_constants:
            self.run = transformer.prepare(conditioning, with_null=self.scale != 1.0)
        else:
            self.pair = conditioning.with_guidance_batch()  # [conditional; unconditional], built once per generation

    def prepare_schedule(self, times: Sequence[float]) -> None:
        """Make the per-step constants of every time a sampler will call with, in one batch."""
        if not self.per_run_constants or not times:
            return
        device = self.run.global_embed.device
        table = self.transformer.prepare_times(torch.tensor(list(times), dtype=torch.float32, device=device))
        self.schedule = {t: table.rows(slice(i, i + 1)) for i, t in enumerate(times)}

    def __call__(self, x: torch.Tensor, t: float) -> torch.Tensor:
        hint = branch_for(t, self.switch_t) if self.switch_t is not None else None
        if not self.per_run_constants:
            return self._plain(x, t, hint)
        step = self.schedule.get(t)
        if step is None:  # a time outside the announced schedule
            step = self.transformer.prepare_times(torch.full((1,), t, dtype=torch.float32, device=x.device))
        if self.scale == 1.0:
            return self.transformer.denoise(x, step, self.run, hint=hint).float()
        return self._guide(self.transformer.denoise(torch.cat((x, x)), step, self.run, hint=hint))[0]

    def outputs(self, x: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(guided, conditional, unconditional) v for per-sample times ``t``, from one batched call."""
        times = torch.cat((t, t))
        if not self.per_run_constants:
            return self._guide(self.transformer(torch.cat((x, x)), times, self.pair))
        if self.scale == 1.0:  # the run has no null rows: add them for this call
            run = self.transformer.prepare(self.conditioning, with_null=True)
        else:
            run = self.run
        return self._guide(self.transformer.denoise(torch.cat((x, x)), self.transformer.prepare_times(times), run))

    def _plain(self, x: torch.Tensor, t: float, hint: str | None) -> torch.Tensor:
        if self.scale == 1.0:
            times = torch.full((x.shape[0],), t, dtype=torch.float32, device=x.device)
            return self.transformer(x, times, self.conditioning, hint=hint).float()
        times = torch.full((2 * x.shape[0],), t, dtype=torch.float32, device=x.device)
        return self._guide(self.transformer(torch.cat((x, x)), times, self.pair, hint=hint))[0]

    def _guide(self, both: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        cond, uncond = both.float().chunk(2)
        return uncond + (cond - uncond) * self.scale, cond, uncond
