"""Long-form seams: the windows of a range denoised together (blended every step) or in turn, seamless both ways."""

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
# The largest of ~600 values against the largest of ~640 others: room for how a maximum spreads. Measured here:
# shared/interior ≤ 1.17 for both paths; 2.4–8.4 for windows made apart and butt-joined; 7.9 (latent level) for
# continuation pinning all the shared frames (as before), 2.3 with a free 1.5-s crossfade; 4.8 (latent step)
# for joint denoising that takes each frame's v from one window instead of blending.
SPREAD = 1.25


@pytest.fixture(scope="module")
def stack():
    return random_stack(tiny_spec(), noise=0.2)  # a field far from trivial (its latents reach ~20x the noise)


@pytest.fixture(scope="module")
def features():
    """Random per-second inputs: every second asks for other music, inside a window and across its edges alike."""
    return random_range_features(61, seed=1)


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


def shared_and_interior(windows, frames: int, margin: int) -> tuple[np.ndarray, np.ndarray]:
    """Latent frames two windows share, and frames only one window makes (``margin`` away from the others)."""
    cover = np.zeros(frames, int)
    for window in windows:
        cover[window.latent_start : window.latent_start + window.frames] += 1
    shared = cover > 1
    interior = cover == 1
    for edge in np.flatnonzero(np.diff(shared.astype(int))) + 1:
        interior[max(0, edge - margin) : edge + margin] = False
    interior[:margin] = interior[frames - margin :] = False
    return shared, interior


@pytest.mark.parametrize("window_batch", [2, 0])
def test_the_seams_are_as_continuous_as_a_window_interior(stack, features, window_batch):
    """Both long-form paths (all windows together, 2 per forward; each continuing the previous one): nothing in
    the frames two windows share steps more than anything in the frames only one window makes."""
    windows = plan_windows(DURATION, stack)
    latent = final_latent(stack, features, steps=8, window_batch=window_batch)[0]
    control, _ = independent_windows(stack, features)

    def steps(latent: torch.Tensor) -> list[tuple[float, float]]:
        """(largest in the shared frames, largest in the interiors) of three measures of a step."""
        shared, interior = shared_and_interior(windows, latent.shape[-1], 2 * K)
        frame_to_frame = np.concatenate([[0.0], (latent[:, 1:] - latent[:, :-1]).norm(dim=0).numpy()])
        level = local_steps(latent, K)[: latent.shape[-1]]
        envelope = local_steps(spectral_envelope(stack, latent[None]), SPECTRUM_BLOCK)
        hops = np.arange(len(envelope)) * 512 // 2048  # the latent frame under each STFT frame
        hops = np.minimum(hops, latent.shape[-1] - 1)
        return [
            (float(values[where].max()), float(values[inside].max()))
            for values, where, inside in (
                (frame_to_frame, shared, interior),
                (level, shared, interior),
                (envelope, shared[hops], interior[hops]),
            )
        ]

    for measure, (seam, inside) in zip(("latent step", "latent level", "spectral level"), steps(latent), strict=True):
        assert seam <= SPREAD * inside, measure
    # the same measures do see a seam where one is: windows made apart and butt-joined mid-overlap
    assert all(seam > 2 * inside for seam, inside in steps(control[0]))
