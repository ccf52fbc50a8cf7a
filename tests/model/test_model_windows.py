"""The window plan: one window up to 30 s, evenly spaced windows beyond, and the exact output length."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from diffv2m.model.longform import (
    generate_range,
    one_window_frames,
    output_samples,
    plan_windows,
    window_lengths,
)
from diffv2m.model.testing import random_range_features, random_stack, tiny_spec

RATE, RATIO, FRAMES = 44_100, 2048, 645  # the released window: 645 frames of 2048 samples at 44.1 kHz
FRAMES_PER_SECOND = RATE / RATIO


@pytest.fixture(scope="module")
def geometry():
    return random_stack(tiny_spec())


def needed_frames(duration: float) -> int:
    return math.ceil(round(duration * RATE) / RATIO)


def test_the_released_window_reaches_30_s_with_one_more_frame(geometry):
    assert (geometry.latent_length, one_window_frames(geometry)) == (FRAMES, 646)
    assert FRAMES * RATIO < 30 * RATE <= 646 * RATIO  # 29.95 s < 30 s ≤ 30.0004 s
    assert window_lengths(geometry) == (645, 646)


@pytest.mark.parametrize(("duration", "frames"), [(0.4, 645), (5.0, 645), (29.95, 645), (29.96, 646), (30.0, 646)])
def test_up_to_30_s_is_one_window_of_the_model_length_or_one_frame_more(geometry, duration, frames):
    (window,) = plan_windows(duration, geometry)
    assert (window.start_second, window.latent_start, window.overlap, window.frames) == (0, 0, 0, frames)
    assert window.valid_seconds == window.seconds_total == math.ceil(duration)
    assert window.frames * RATIO >= output_samples(duration, geometry) == round(duration * RATE)


@pytest.mark.parametrize(
    ("duration", "count"),
    [(30.04, 2), (31.0, 2), (45.0, 2), (61.0, 3), (125.3, 6), (300.25, 15), (600.0, 30), (3600.0, 180)],
)
def test_longer_ranges_are_evenly_spaced_windows_that_end_at_the_range_end(geometry, duration, count):
    windows = plan_windows(duration, geometry)
    assert len(windows) == count
    assert windows[0].start_second == 0 and all(w.frames == FRAMES for w in windows)
    hops = [b.start_second - a.start_second for a, b in itertools.pairwise(windows)]
    assert max(hops) - min(hops) <= 1 and max(hops) <= 20  # even to the whole second, ≥ 10 s shared
    overlaps = [w.overlap for w in windows[1:]]
    assert max(overlaps) - min(overlaps) <= math.ceil(FRAMES_PER_SECOND) + 1  # the last overlaps like the others
    for previous, window in itertools.pairwise(windows):
        assert 0 < window.overlap == previous.latent_start + previous.frames - window.latent_start < FRAMES
    for window in windows:
        assert window.latent_start == round(window.start_second * FRAMES_PER_SECOND)
        assert window.valid_seconds == window.seconds_total == min(30, math.ceil(duration) - window.start_second)
    end = windows[-1].latent_start + FRAMES
    assert 0 <= end - needed_frames(duration) < FRAMES_PER_SECOND  # covered, and < 1 s made past the range end
    # nothing wasted: the last window one second earlier would not reach the end
    assert round((windows[-1].start_second - 1) * FRAMES_PER_SECOND) + FRAMES < needed_frames(duration)
    # and no fewer windows with hops of at most 20 s could cover the range
    assert (count - 2) * 20 < windows[-1].start_second <= (count - 1) * 20


@pytest.mark.parametrize("duration", [5.0, 29.95, 30.0, 30.04, 45.0, 61.0, 600.0])
def test_the_planned_latent_decodes_to_at_least_the_requested_samples(geometry, duration):
    windows = plan_windows(duration, geometry)
    assert (windows[-1].latent_start + windows[-1].frames) * RATIO >= output_samples(duration, geometry)


def test_a_30_s_request_is_generated_in_one_window_to_the_sample(geometry):
    steps: list[float] = []
    audio, odf, windows = generate_range(
        geometry,
        random_range_features(30),
        30.0,
        seed=3,
        sampler="dpmpp-2m",
        steps=2,
        guidance=3.0,
        progress=steps.append,
    )
    assert len(windows) == 1 and windows[0].frames == 646
    assert audio.shape == (2, 30 * RATE) and np.isfinite(audio).all() and np.abs(audio[:, -2048:]).max() > 0
    assert odf.shape == (30,) and len(steps) == 2  # one window's steps, not two windows'
