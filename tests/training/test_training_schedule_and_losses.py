"""The recipe's schedules and losses against the paper's definitions."""

from __future__ import annotations

import math

import pytest
import torch

from diffv2m.training.losses import diffuse, masked_rhythm_loss
from diffv2m.training.schedule import InverseLR, inverse_lr_factor, p_real


def test_scheduled_conditioning_probability():
    # 1 before epoch 10, linear to 0 at epoch 30, 0 after (research notes §5)
    assert [p_real(e) for e in (0, 9, 10, 15, 20, 29, 30, 45)] == pytest.approx([1, 1, 1, 0.75, 0.5, 0.05, 0, 0])
    assert p_real(2, start=1, end=3) == 0.5


def test_inverse_lr_warms_up_then_stays_nearly_flat():
    assert math.isclose(inverse_lr_factor(0), 0.01)  # 1 - 0.99^1
    assert 0.99 < inverse_lr_factor(1000) < 1.0
    assert math.isclose(inverse_lr_factor(3_000_000), 0.5, rel_tol=1e-6)  # (1 + 3)^-0.5
    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([weight], lr=1e-4)
    scheduler = InverseLR(optimizer)
    rates = []
    for _ in range(3):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates == pytest.approx([1e-4 * inverse_lr_factor(s) for s in range(3)])


def test_v_objective_targets_reconstruct_the_clean_latent():
    z, eps = torch.randn(3, 4, 10), torch.randn(3, 4, 10)
    t = torch.tensor([0.0, 0.3, 0.9])
    x_t, v = diffuse(z, eps, t)
    alpha, sigma = torch.cos(t * math.pi / 2)[:, None, None], torch.sin(t * math.pi / 2)[:, None, None]
    assert torch.allclose(alpha * x_t - sigma * v, z, atol=1e-6)
    assert torch.allclose(x_t[0], z[0])  # t = 0 is the clean latent


def test_rhythm_loss_trains_every_batch_element():
    """The released long-typed mask indexed batch rows instead of masking: only one sample learned."""
    batch, seconds = 4, 30
    prediction = torch.zeros(batch, seconds, 1, requires_grad=True)
    target = torch.arange(batch, dtype=torch.float32)[:, None, None].expand(batch, seconds, 1) + 1.0
    mask = torch.ones(batch, seconds, dtype=torch.long)  # the released dtype: must still mask, not index
    mask[2, 20:] = 0  # sample 2 has 20 valid seconds
    loss = masked_rhythm_loss(prediction, target, mask)
    valid = mask.bool()
    expected = ((target[..., 0] ** 2)[valid]).mean()
    assert torch.isclose(loss, expected)
    loss.backward()
    per_sample = prediction.grad.abs().sum(dim=(1, 2))
    assert torch.all(per_sample > 0), per_sample  # the released bug leaves samples 0, 2, 3 without gradient
    assert torch.all(prediction.grad[2, 20:] == 0)  # padding never trains
    # Each sample weighs in by its valid seconds: moving one sample's prediction moves the loss.
    for b in range(batch):
        moved = prediction.detach().clone()
        moved[b] += 0.5
        assert masked_rhythm_loss(moved, target, mask) < loss.detach()
