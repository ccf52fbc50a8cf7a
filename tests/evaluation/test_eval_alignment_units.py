"""The alignment scores against their definitions, on hand-made event lists."""

from __future__ import annotations

import math
import warnings

import numpy as np

from diffv2m.evaluation.alignment import (
    alignment_scores,
    beat_alignment_score,
    chance_level,
    impulse_curve,
    odf_lag,
    onset_prf,
)


def test_onset_window_is_70_ms_not_mir_evals_50():
    visual = np.array([1.0, 2.0, 3.0])
    assert onset_prf(visual, visual + 0.065)[0] == 1.0  # mir_eval's default 50 ms window would give 0
    assert onset_prf(visual, visual + 0.075)[0] == 0.0


def test_precision_counts_extra_audio_onsets():
    visual = np.array([1.0, 2.0])
    f, precision, recall = onset_prf(visual, np.array([1.0, 1.5, 2.0, 2.5]))
    assert (precision, recall) == (0.5, 1.0)
    assert math.isclose(f, 2 * 0.5 / 1.5)


def test_unsorted_duplicate_and_empty_input_is_handled_quietly():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # mir_eval warns on empty input and raises on unsorted input
        assert onset_prf(np.array([2.0, 1.0, 1.0]), np.array([1.0, 2.0])) == (1.0, 1.0, 1.0)
        assert onset_prf(np.array([]), np.array([1.0])) == (0.0, 0.0, 0.0)
        assert beat_alignment_score(np.array([1.0]), np.array([])) == 0.0


def test_gaussian_bas_follows_its_formula():
    # d = 50 ms = sigma  ->  exp(-1/2); the nearest audio event counts, on either side
    assert math.isclose(beat_alignment_score(np.array([1.0]), np.array([0.2, 1.05, 3.0])), math.exp(-0.5))
    assert math.isclose(beat_alignment_score(np.array([1.0, 2.0]), np.array([0.95, 2.0])), (math.exp(-0.5) + 1) / 2)


def test_chance_level_of_unrelated_onsets_is_their_raw_score():
    rng = np.random.default_rng(0)
    gains = []
    for _ in range(20):
        visual = np.sort(rng.uniform(0, 20, 30))
        audio = np.sort(rng.uniform(0, 20, 40))
        gains.append(beat_alignment_score(visual, audio) - chance_level(beat_alignment_score, visual, audio, 20.0))
    assert abs(np.mean(gains)) < 0.03
    aligned = np.sort(rng.uniform(0, 20, 30))
    assert alignment_scores(aligned, aligned, aligned, 20.0).onset_bas_gain > 0.7


def test_odf_lag_recovers_a_known_delay_to_sub_frame_precision():
    rate = 100.0
    times = np.array([0.5, 1.3, 2.2, 2.9, 4.1])
    visual = impulse_curve(times, rate, 500)
    for delay in (0.0, 0.034, 0.12, -0.05):
        audio = impulse_curve(times + delay, rate, 500)
        kernel = np.exp(-0.5 * (np.arange(-6, 7) / 2.0) ** 2)
        lag, corr = odf_lag(np.convolve(visual, kernel, "same"), np.convolve(audio, kernel, "same"), rate)
        assert abs(lag - delay) < 0.004, (delay, lag)
        assert corr > 0.9
