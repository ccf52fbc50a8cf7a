"""Rendered audio meets the visual events (features built directly; the video path is in test_acceptance)."""

from __future__ import annotations

import numpy as np
import pytest
from composer_checks import alignment_gain, detect_onsets, frame_quantised_pulse, make_features, recall

from diffv2m.emotion import PRESETS
from diffv2m.engines.base import GenerationRequest
from diffv2m.engines.composer.style import TABLE

CASES = [
    # (bpm, fps, emotion, cuts)
    (70.0, 25.0, "happy", [5.3]),
    (88.0, 24.0, "sad", []),
    (104.0, 30000 / 1001, "tense", [3.1, 9.4]),
    (121.0, 50.0, "calm", [6.0]),
    (139.0, 25.0, "epic", [4.4, 8.8]),
    (157.0, 30.0, "mysterious", [7.2]),
    (170.0, 24.0, "happy", [2.5, 10.0]),
]


@pytest.mark.parametrize(("bpm", "fps", "emotion", "cuts"), CASES)
def test_onsets_of_the_rendered_audio_sit_on_the_events(composer, bpm, fps, emotion, cuts):
    rng = np.random.default_rng(int(bpm))
    duration = 13.0
    events = frame_quantised_pulse(bpm, duration, rng.uniform(0, 60 / bpm), fps)
    features = make_features(events, duration, cuts=cuts, fps=fps)
    result = composer.generate(GenerationRequest(features, PRESETS[emotion], int(rng.integers(1000)), duration))
    onsets = detect_onsets(result.audio)
    hit, gain = alignment_gain(events, onsets, 60.0 / bpm)
    assert hit >= 0.9, f"recall {hit:.2f}"
    assert gain >= 0.4, f"alignment gain {gain:.2f}"
    low, _, high = TABLE[emotion].tempo  # the mood keeps its tempo whatever the pulse
    assert all(low / 1.011 <= s["tempo"] <= high * 1.011 for s in result.extra["sections"])


def test_off_grid_events_get_their_own_hit(composer):
    """A steady pulse plus three stray events between beats: each stray event is audible too."""
    duration = 12.0
    pulse = frame_quantised_pulse(100.0, duration, 0.2, 25.0)
    strays = np.array([3.13, 6.47, 9.81])
    events = np.sort(np.concatenate([pulse, strays]))
    features = make_features(events, duration)
    result = composer.generate(GenerationRequest(features, PRESETS["calm"], 4, duration))
    onsets = detect_onsets(result.audio)
    assert recall(strays, onsets) == 1.0
    assert recall(pulse, onsets) >= 0.9
