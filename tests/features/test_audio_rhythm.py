"""Audio rhythm targets: the per-second ODF exactly as Diff-V2M builds it, and the low-res variants."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
from scipy.signal import find_peaks

from diffv2m.features.audio_rhythm import (
    SAMPLE_RATE,
    low_res,
    low_res_mel,
    low_res_tempogram,
    mel_frames,
    odf_target,
)

CLICKS = [0.52, 1.31, 2.05, 3.9, 5.25, 6.61, 8.02, 8.33, 10.7]


def click_track(duration: float, clicks=CLICKS, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    rng = np.random.default_rng(0)
    y = 0.001 * rng.standard_normal(int(duration * sample_rate))
    burst = rng.standard_normal(2048) * np.exp(-np.arange(2048) / 200.0)
    for t in clicks:
        start = int(t * sample_rate)
        y[start : start + burst.size] += 0.5 * burst[: y.size - start]
    return np.stack([y, y]).astype(np.float32)  # stereo, as Diff-V2M loads it


def direct_librosa_odf(y: np.ndarray, sr: int) -> np.ndarray:
    """Research notes §2.4, written out independently."""
    mono = y.mean(axis=0)
    odf = librosa.onset.onset_strength(y=mono, sr=sr, hop_length=512)
    odf = (odf - np.mean(odf)) / (np.std(odf) + 1e-6)
    times = librosa.frames_to_time(np.arange(odf.size), sr=sr, hop_length=512)
    bins = np.zeros(int(np.ceil(librosa.get_duration(y=mono, sr=sr))))
    peaks = find_peaks(odf, prominence=0.05)[0]
    for peak in peaks:
        second = round(float(times[peak]))
        if second < bins.size:
            bins[second] = max(bins[second], odf[peak])
    return bins[1:] if bins.size > 30 else bins


def test_odf_matches_direct_librosa_on_a_click_track():
    y = click_track(12.4)
    target = odf_target(y)
    assert target.shape == (13,) and target.dtype == np.float32
    np.testing.assert_allclose(target, direct_librosa_odf(y, SAMPLE_RATE), rtol=1e-5, atol=1e-6)
    # The seconds that hold a click (by rounding its time) carry the strong peaks.
    clicked = sorted({round(t) for t in CLICKS})
    quiet = [s for s in range(13) if s not in clicked]
    assert target[clicked].min() > 3 * max(target[quiet].max(), 0.1)


def test_more_than_thirty_seconds_drops_the_first():
    y = click_track(30.6, clicks=[0.4, *np.arange(1.5, 30, 1.0)])
    target = odf_target(y)
    assert target.shape == (30,)  # ceil(30.6) = 31 bins, the first dropped
    np.testing.assert_allclose(target, direct_librosa_odf(y, SAMPLE_RATE), rtol=1e-5, atol=1e-6)


def test_low_res_blocks_and_normalises():
    x = np.arange(60 * 4, dtype=np.float64).reshape(60, 4)  # 60 frames x 4 bands -> 30 x 2
    out = low_res(x, rows=30, bands=2)
    block_means = np.array([[(x[2 * i : 2 * i + 2, 2 * j : 2 * j + 2]).mean() for j in range(2)] for i in range(30)])
    expected = (block_means - block_means.mean()) / (block_means.std(ddof=1) + 1e-6)
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    padded = low_res(np.ones(24), rows=30)  # a 24-s ODF: zero-padded to 30, one column
    assert padded.shape == (30, 1) and padded[:24].min() > 0 > padded[24:].max()


def test_mel_and_tempogram_targets():
    y = click_track(12.4)
    mel = mel_frames(y)
    assert mel.shape == (1 + y.shape[1] // 512, 128)
    loud = [int(t * SAMPLE_RATE / 512) + 1 for t in CLICKS]
    assert mel[loud].mean() > mel.mean() + 10  # the clicks stand out in dB
    for target in (low_res_mel(y), low_res_tempogram(y)):
        assert target.shape == (30, 16)
        assert abs(float(target.mean())) < 1e-5 and float(target.std(ddof=1)) == pytest.approx(1.0, abs=1e-4)
