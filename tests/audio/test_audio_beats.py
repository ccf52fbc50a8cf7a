"""Beat, downbeat and onset tracking of rendered audio (what Diff-V2M scores get)."""

from __future__ import annotations

import mir_eval
import numpy as np
import pytest

from diffv2m.audio.beats import estimate_downbeats, track_beats

RATE = 44_100


def bar_music(bpm: float, duration: float, phase: float, seed: int):
    """Kick on bar starts, snare-ish ticks on the other beats, a chord change every bar."""
    rng = np.random.default_rng(seed)
    n = int(duration * RATE)
    y = np.zeros(n, np.float32)
    t = np.arange(int(0.15 * RATE)) / RATE
    period = 60.0 / bpm
    beats = np.arange(phase, duration - 0.2, period)
    for index, beat in enumerate(beats):
        if index % 4 == 0:
            hit = 0.9 * np.sin(2 * np.pi * 60 * t) * np.exp(-t * 20)
        else:
            hit = 0.3 * np.sin(2 * np.pi * 180 * t) * np.exp(-t * 30) + rng.normal(0, 0.1, t.size) * np.exp(-t * 40)
        start = int(beat * RATE)
        y[start : start + t.size] += hit[: n - start]
    roots = (220.0, 174.6, 261.6, 196.0)
    for bar, begin in enumerate(np.arange(phase, duration, 4 * period)):
        a, b = int(begin * RATE), min(n, int((begin + 4 * period) * RATE))
        tt = np.arange(b - a) / RATE
        f = roots[bar % 4]
        y[a:b] += 0.08 * sum(np.sin(2 * np.pi * f * r * tt) for r in (1.0, 1.25, 1.5))
    return np.stack([y, y]), beats, beats[::4]


@pytest.mark.parametrize(("bpm", "phase"), [(72, 0.41), (118, 0.1), (163, 0.27)])
def test_tracks_beats_tempo_and_bar_starts(bpm, phase):
    audio, beats, downbeats = bar_music(bpm, 16.0, phase, seed=int(bpm))
    found = track_beats(audio, RATE)
    assert abs(found.tempo - bpm) / bpm < 0.02, found.tempo
    assert mir_eval.beat.f_measure(beats, found.beats) >= 0.9
    assert mir_eval.beat.f_measure(downbeats, found.downbeats) >= 0.8
    assert mir_eval.onset.f_measure(beats, found.onsets, window=0.05)[0] >= 0.9


def test_downbeats_for_known_beats():
    audio, beats, downbeats = bar_music(100, 12.0, 0.3, seed=5)
    shifted = beats[1:]  # bar phase 3 of the given list
    assert np.allclose(estimate_downbeats(audio, RATE, shifted), downbeats[1:])


def test_silence_has_no_beats():
    found = track_beats(np.zeros((2, RATE * 2), np.float32), RATE)
    assert found.tempo == 0.0 and found.beats.size == 0 and found.onsets.size == 0
