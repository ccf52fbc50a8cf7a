"""Schedules of the paper's recipe: scheduled conditioning and the InverseLR learning rate.

``p_real(epoch)`` is the probability that a training sample's rhythm condition
is the ground-truth ODF rather than the predictor's (research notes §5):
1 before epoch ``start`` (10), falling linearly to 0 at epoch ``end`` (30).
Inference always uses the prediction (p_real = 0).

``InverseLR`` is stable-audio-tools' schedule as a torch ``LambdaLR``:
lr × (1 + step / inv_gamma)^-power × (1 − warmup^(step + 1)), with the
released inv_gamma 1e6, power 0.5, warmup 0.99: an exponential warm-up over a
few hundred steps, then an almost constant rate.
"""

from __future__ import annotations

from functools import partial

import torch


def p_real(epoch: float, start: float = 10.0, end: float = 30.0) -> float:
    """Share of samples conditioned on the ground-truth rhythm at ``epoch`` (0-based)."""
    if end <= start:
        return 1.0 if epoch < start else 0.0
    return float(min(1.0, max(0.0, 1.0 - (epoch - start) / (end - start))))


def inverse_lr_factor(
    step: int, inv_gamma: float = 1e6, power: float = 0.5, warmup: float = 0.99, final_factor: float = 0.0
) -> float:
    """The multiplier InverseLR applies to the base rate at optimiser step ``step``."""
    decay = (1.0 + step / inv_gamma) ** -power
    ramp = 1.0 - warmup ** (step + 1)
    return ramp * max(final_factor, decay)


class InverseLR(torch.optim.lr_scheduler.LambdaLR):
    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        inv_gamma: float = 1e6,
        power: float = 0.5,
        warmup: float = 0.99,
        final_factor: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        factor = partial(inverse_lr_factor, inv_gamma=inv_gamma, power=power, warmup=warmup, final_factor=final_factor)
        super().__init__(optimizer, factor, last_epoch=last_epoch)
