"""Colour histogram layout and the colour mood estimate."""

from __future__ import annotations

import numpy as np
import pytest

from diffv2m.benchmark.videos import ClipSpec, write_clip
from diffv2m.features.colour import brightness_saturation, colour_histogram, mood_from_colour
from diffv2m.features.extract import extract_features
from diffv2m.features.settings import FeatureSettings


def test_solid_colour_lands_in_its_bins():
    image = np.zeros((6, 8, 3), np.uint8)
    image[:] = (10, 200, 255)
    hist = colour_histogram(image)
    assert hist.shape == (3072,) and hist.dtype == np.float32
    blocks = hist.reshape(3, 1024)
    # An 8-bit value v covers [v/256, (v+1)/256): bins 4v..4v+3, a quarter each.
    for channel, value in enumerate((10, 200, 255)):
        expected = np.zeros(1024)
        expected[4 * value : 4 * value + 4] = 0.25
        np.testing.assert_allclose(blocks[channel], expected, atol=1e-7)


def test_blocks_sum_to_one_and_have_no_comb_gaps():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (90, 160, 3), dtype=np.uint8)
    blocks = colour_histogram(image).reshape(3, 1024)
    np.testing.assert_allclose(blocks.sum(axis=1), 1.0, atol=1e-6)
    assert np.all(blocks > 0)  # every bin gets mass: no empty teeth between 8-bit levels
    deep = np.full((4, 4, 3), 65535, np.uint16)
    assert colour_histogram(deep).reshape(3, 1024)[:, 1023].tolist() == [1.0, 1.0, 1.0]


def test_brightness_and_saturation():
    grey = np.full((4, 4, 3), 128, np.uint8)
    red = np.zeros((4, 4, 3), np.uint8)
    red[..., 0] = 255
    assert brightness_saturation(grey) == pytest.approx((128 / 255, 0.0))
    assert brightness_saturation(red) == pytest.approx((1.0, 1.0))


def test_mood_follows_valdez_mehrabian_directions():
    # Brighter: more pleasant and calmer; more saturated: more pleasant and more aroused.
    v_dark, a_dark = mood_from_colour(0.2, 0.4)
    v_bright, a_bright = mood_from_colour(0.8, 0.4)
    v_grey, a_grey = mood_from_colour(0.5, 0.05)
    v_vivid, a_vivid = mood_from_colour(0.5, 0.9)
    assert v_bright > v_dark and a_bright < a_dark
    assert v_vivid > v_grey and a_vivid > a_grey
    # Saturation moves arousal more than valence; brightness moves valence more than arousal.
    assert (a_vivid - a_grey) > (v_vivid - v_grey) and (v_bright - v_dark) > abs(a_bright - a_dark)
    extremes = mood_from_colour(np.array([0.0, 1.0]), np.array([1.0, 0.0]))
    assert np.all(np.abs(np.concatenate(extremes)) <= 1.0)


def test_per_second_colour_follows_the_shots(tmp_path):
    truth = write_clip(tmp_path / "shots.mp4", ClipSpec(3.0, cut_times=[1.0, 2.0], seed=4))
    features = extract_features(truth.path, settings=FeatureSettings(semantic=False))
    assert features.colour_hist.shape == (3, 3072)
    means = features.colour_hist.reshape(3, 3, 1024) @ ((np.arange(1024) + 0.5) / 1024)
    # Three shots, three different colours: the per-second mean colours differ clearly.
    for first, second in ((0, 1), (1, 2)):
        assert np.abs(means[first] - means[second]).max() > 0.05
    assert features.valence.shape == features.arousal.shape == (3,)
    assert features.clip_valence == pytest.approx(float(features.valence.mean()))
