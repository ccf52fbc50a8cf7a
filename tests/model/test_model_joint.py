"""Batched long-form: the windows of a range denoised together, blended every step, with continuous seams."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from diffv2m.model.joint import blend_weights
from diffv2m.model.longform import generate_range, output_samples, plan_windows
from diffv2m.model.testing import random_range_features, random_stack, tiny_spec

DURATION = 61.0  # three windows: latent frames 0–645, 345–990, 689–1334
K = 8  # latent frames each side of a point for the local-mean step (≈ 0.37 s)
SPECTRUM_BLOCK = 32  # STFT frames (hop 512) each side of a point for the spectral-envelope step (≈ 0.37 s)


@pytest.fixture(scope="module")
def stack():
    return random_stack(tiny_spec(), noise=0.2)  # a field far from trivial (its latents reach ~20x the noise)


@pytest.fixture(scope="module")
def features():
    """Per-second inputs whose CLIP part shifts every 16 s, so neighbouring windows are asked for other music."""
    features = random_range_features(61, seed=1)
    shift = np.random.default_rng(5).normal(size=(4, 512)).astype(np.float32)
    features.clip = features.clip + np.repeat(shift, 16, axis=0)[:61]
    return features


def test_blend_weights_sum_to_one_and_ramp_smoothly_over_each_overlap():
    starts, frames = [0, 345, 689], 645
    weights = blend_weights(starts, frames, 1334).double()
    cover = torch.zeros(1334, dtype=torch.float64)
    for start, weight in zip(starts, weights, strict=True):
        cover[start : start + frames] += weight
    assert torch.allclose(cover, torch.ones_like(cover), atol=1e-6)
    assert float(weights.diff(dim=1).abs().max()) < 2 * torch.pi / 2 / 300  # a sin² ramp over ≥ 300 frames
    assert float(weights[1, 0]) < 1e-4 and float(weights[0, -1]) < 1e-4  # each enters and leaves near 0
    with pytest.raises(ValueError, match="overlap"):
        blend_weights([0, 700], frames, 1345)


def final_latent(stack, features, **kwargs) -> torch.Tensor:
    """The latent ``generate_range`` decodes (captured at the decoder)."""
    seen: list[torch.Tensor] = []
    decode = stack.decode
    stack.decode = lambda latent: (seen.append(latent.clone()), decode(latent))[1]
    try:
        audio, _, windows = generate_range(stack, features, DURATION, seed=3, sampler="dpmpp-2m", guidance=3.0,
                                           **kwargs)  # fmt: skip
    finally:
        stack.decode = decode
    assert len(windows) == 3 and audio.shape == (2, output_samples(DURATION, stack)) and np.isfinite(audio).all()
    return seen[0]


def test_batching_the_windows_differently_gives_the_same_music(stack, features):
    one = final_latent(stack, features, steps=3, window_batch=1)
    three = final_latent(stack, features, steps=3, window_batch=3)
    assert torch.allclose(one, three, rtol=1e-4, atol=1e-3 * float(one.abs().max()))


def test_all_windows_advance_together_one_progress_tick_per_step(stack, features):
    ticks: list[float] = []
    final_latent(stack, features, steps=4, window_batch=2, progress=ticks.append)
    assert ticks == [0.25, 0.5, 0.75, 1.0]


def independent_windows(stack, features) -> tuple[torch.Tensor, list[int]]:
    """The control: windows sampled on their own and butt-joined in the middle of each overlap."""
    windows = plan_windows(DURATION, stack)
    total = torch.zeros(1, 8, windows[-1].latent_start + windows[-1].frames)
    generator = torch.Generator().manual_seed(3)
    for window in windows:
        parts = stack.condition(features.window_inputs(window, stack, 2))
        noise = torch.randn(1, 8, window.frames, generator=generator)
        latent = stack.sample(parts.conditioning, noise, "dpmpp-2m", 8, 3.0)
        cut = window.overlap // 2
        total[..., window.latent_start + cut : window.latent_start + window.frames] = latent[..., cut:]
    return total, [w.latent_start + w.overlap // 2 for w in windows[1:]]


def local_steps(series: torch.Tensor, block: int) -> np.ndarray:
    """At each point p: |mean of the block after p − mean of the block before| (a step in the local level)."""
    padded = torch.nn.functional.pad(series.double().cumsum(-1), (1, 0))
    points = torch.arange(block, series.shape[-1] - block + 1)
    before = (padded[:, points] - padded[:, points - block]) / block
    after = (padded[:, points + block] - padded[:, points]) / block
    out = np.zeros(series.shape[-1] + 1)
    out[block : series.shape[-1] - block + 1] = (after - before).norm(dim=0).numpy()
    return out


def spectral_envelope(stack, latent: torch.Tensor) -> torch.Tensor:
    """Log-magnitude short-term spectrum of the decoded audio (mono), hop 512: (bins, frames)."""
    audio = stack.decode(latent)[0].mean(0)
    spectrum = torch.stft(audio, 2048, 512, window=torch.hann_window(2048), return_complex=True)
    return spectrum.abs().clamp_min(1e-7).log()


def at_points_and_inside(values: np.ndarray, points: list[int], margin: int, reach: int) -> tuple[float, float]:
    """(largest value within ``reach`` of the points, largest value farther than ``margin`` from all of them)."""
    inside = np.ones(len(values), bool)
    inside[:margin] = inside[-margin:] = False
    for p in points:
        inside[max(0, p - margin) : p + margin] = False
    near = max(float(values[max(0, p - reach) : p + reach + 1].max()) for p in points)
    return near, float(values[inside].max())


def test_the_seams_are_as_continuous_as_a_window_interior(stack, features):
    windows = plan_windows(DURATION, stack)
    # every window edge, and the middle of every overlap (where the blend hands over from one window to the next)
    edges = {w.latent_start for w in windows[1:]} | {w.latent_start + w.frames for w in windows[:-1]}
    boundaries = sorted(edges | {w.latent_start + w.overlap // 2 for w in windows[1:]})
    joint = final_latent(stack, features, steps=8, window_batch=2)[0]
    control, cuts = independent_windows(stack, features)

    def steps(latent: torch.Tensor, points: list[int]) -> tuple[tuple[float, float], ...]:
        frame_to_frame = np.concatenate([[0.0], (latent[:, 1:] - latent[:, :-1]).norm(dim=0).numpy()])
        envelope = local_steps(spectral_envelope(stack, latent[None]), SPECTRUM_BLOCK)
        spectrum_points = [p * 2048 // 512 for p in points]
        return (
            at_points_and_inside(frame_to_frame, points, 10, 0),
            at_points_and_inside(local_steps(latent, K), points, 2 * K, 1),
            at_points_and_inside(envelope, spectrum_points, 2 * SPECTRUM_BLOCK, 3),
        )

    for near, inside in steps(joint, boundaries):  # latent step, latent level, spectrum level
        assert near <= inside
    # the same measures do see a seam where one is: windows made apart and butt-joined
    (_, _), (level_near, level_inside), (spectrum_near, spectrum_inside) = steps(control[0], cuts)
    assert level_near > 3 * level_inside and spectrum_near > spectrum_inside
