"""Loudness post-processing: -14 LUFS integrated, true peak <= -1 dBTP, no DC."""

from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest
from scipy import signal

from diffv2m.audio.loudness import measure_loudness, normalise_and_measure, normalise_loudness, true_peak

SR = 44_100


def reference_true_peak_db(audio: np.ndarray) -> float:
    """An independent 4x measure for cross-checking: scipy's polyphase resampler and its own filter."""
    upsampled = signal.resample_poly(np.atleast_2d(audio).astype(np.float64), 4, 1, axis=-1)
    return 20 * np.log10(np.abs(upsampled).max())


def reference_lufs(audio: np.ndarray) -> float:
    return pyloudnorm.Meter(SR).integrated_loudness(np.atleast_2d(audio).T.astype(np.float64))


def music_like_signal(seconds: float = 6.0, level: float = 0.05, seed: int = 0) -> np.ndarray:
    """Band-limited noise plus a chord with sharp transients: music-like crest factor."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * SR)) / SR
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6)) / 3
    noise = signal.sosfilt(signal.butter(2, 3000, fs=SR, output="sos"), rng.standard_normal((2, t.size)))
    clicks = np.zeros(t.size)
    clicks[:: SR // 2] = 8.0
    clicks = signal.lfilter([1.0], [1.0, -0.995], clicks)
    return (level * (chord + 0.5 * noise + 0.3 * clicks)).astype(np.float32)


@pytest.mark.parametrize("level", [0.002, 0.05, 0.6])
def test_normalise_hits_target_loudness_and_true_peak(level):
    audio = music_like_signal(level=level)
    out = normalise_loudness(audio, SR)
    assert out.shape == audio.shape and out.dtype == np.float32
    assert abs(reference_lufs(out) - -14.0) <= 0.5
    assert reference_true_peak_db(out) <= -1.0 + 0.03
    lufs, peak = measure_loudness(out, SR)
    assert abs(lufs - reference_lufs(out)) < 1e-6
    assert abs(peak - reference_true_peak_db(out)) < 0.1


@pytest.mark.parametrize("level", [0.002, 0.05, 0.6])
def test_normalise_and_measure_reports_the_output_loudness(level):
    """The pipeline reports these numbers instead of measuring again: they must be the output's."""
    audio = music_like_signal(level=level)
    out, lufs, peak = normalise_and_measure(audio, SR)
    assert np.array_equal(out, normalise_loudness(audio, SR))
    assert abs(lufs - reference_lufs(out)) < 0.01
    assert abs(peak - 20 * np.log10(true_peak(out))) < 1e-6


def test_true_peak_sees_inter_sample_overs():
    # A sine at a quarter of the rate, sampled 45 degrees off its crests: samples read -3 dB, the wave is 0 dB.
    # A slow Tukey fade keeps the start and stop smooth, so the continuous wave's peak is exactly 0 dB.
    n = np.arange(SR)
    audio = (np.sin(2 * np.pi * (SR / 4) * n / SR + np.pi / 4) * signal.windows.tukey(SR, 0.5)).astype(np.float32)
    assert 20 * np.log10(np.abs(audio).max()) == pytest.approx(-3.01, abs=0.05)
    assert 20 * np.log10(true_peak(audio)) == pytest.approx(0.0, abs=0.05)
    assert 20 * np.log10(true_peak(audio)) == pytest.approx(reference_true_peak_db(audio), abs=0.05)
    out = normalise_loudness(audio, SR)
    assert reference_true_peak_db(out) <= -1.0 + 0.05


def test_dc_is_removed():
    audio = music_like_signal() + np.float32(0.2)
    out = normalise_loudness(audio, SR)
    assert np.abs(out.mean(axis=1)).max() < 1e-3


def test_mono_short_and_silent_inputs():
    mono = music_like_signal(seconds=0.25)[0]
    out = normalise_loudness(mono, SR)
    assert out.shape == mono.shape
    assert np.isfinite(out).all() and np.abs(out).max() > 0
    silent = np.zeros((2, SR), np.float32)
    assert not normalise_loudness(silent, SR).any()
    assert measure_loudness(silent, SR) == (-np.inf, -np.inf)
