"""Loudness, peaks and sanity ratios against the standards and signals with known answers."""

from __future__ import annotations

import math

import numpy as np

from diffv2m.audio.onsets import detect_events
from diffv2m.benchmark.tracks import event_track
from diffv2m.benchmark.videos import periodic_events
from diffv2m.evaluation.quality import (
    clipping_ratio,
    dc_offset,
    integrated_loudness,
    silence_ratio,
    tempo_steadiness,
    true_peak_db,
)

RATE = 48_000


def _sine(freq: float, amplitude: float, seconds: float = 3.0, phase: float = 0.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return amplitude * np.sin(2 * np.pi * freq * t + phase)


def test_loudness_matches_bs1770_reference_tone():
    # BS.1770: a 0 dBFS 997 Hz sine in one front channel reads -3.01 LKFS; at -6.02 dBFS, -9.03.
    left = _sine(997.0, 0.5)
    audio = np.stack([left, np.zeros_like(left)])
    assert abs(integrated_loudness(audio, RATE) - (-9.03)) < 0.1
    assert integrated_loudness(np.zeros((2, RATE)), RATE) == float("-inf")


def test_true_peak_sees_the_inter_sample_peak():
    # A quarter-sample-rate sine at 45 degrees never samples its crest: samples sit at 0.707 of it.
    audio = np.stack([_sine(RATE / 4, 0.9, phase=math.pi / 4)] * 2)
    sample_peak = 20 * math.log10(np.max(np.abs(audio)))
    assert abs(sample_peak - 20 * math.log10(0.9 * math.sqrt(0.5))) < 0.01
    assert abs(true_peak_db(audio, RATE) - 20 * math.log10(0.9)) < 0.3


def test_clipping_silence_and_dc():
    clean = np.stack([_sine(440.0, 0.5)] * 2)
    assert clipping_ratio(clean) == 0.0
    assert clipping_ratio(np.clip(clean * 4, -1, 1)) > 0.5
    half_silent = clean.copy()
    half_silent[:, : half_silent.shape[1] // 2] = 0.0
    assert abs(silence_ratio(half_silent, RATE) - 0.5) < 0.02
    assert silence_ratio(clean, RATE) == 0.0
    assert abs(dc_offset(clean + 0.01) - 0.01) < 1e-3


def test_tempo_steadiness_separates_steady_from_drifting_music():
    steady = event_track(np.asarray(periodic_events(120.0, 12.0, 0.1)), 12.0)
    intervals = np.linspace(0.7, 0.3, 24)  # accelerating from 86 to 200 BPM
    drifting = event_track(0.1 + np.concatenate([[0], np.cumsum(intervals)]), 12.0)
    steady_stats = tempo_steadiness(detect_events(steady, 44_100))
    drifting_stats = tempo_steadiness(detect_events(drifting, 44_100))
    assert abs(steady_stats["tempo_bpm"] / 120.0 - 1) < 0.08
    assert steady_stats["beat_interval_cv"] < 0.05
    assert drifting_stats["beat_interval_cv"] > 2 * steady_stats["beat_interval_cv"]
    assert drifting_stats["local_tempo_std_bpm"] > steady_stats["local_tempo_std_bpm"]
