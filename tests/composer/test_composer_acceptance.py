"""Acceptance: real synthetic videos -> extract_features -> ComposerEngine -> WAV -> onsets of the audio.

Each clip has flashes or ball impacts on a steady pulse at a random phase, hard
cuts, its own frame rate (one with variable frame rate), and is scored over a
range that starts mid-file. Every visual event must be met by an onset detected
by librosa in the written WAV (+-70 ms), the onsets must sit on the events
rather than everywhere (alignment gain >= 0.4), and every section's tempo must
stay inside the mood's range.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pyloudnorm
import pytest
import soundfile
from composer_checks import alignment_gain, detect_onsets
from scipy import signal

from diffv2m.benchmark.videos import ClipSpec, periodic_events
from diffv2m.emotion import resolve_emotion
from diffv2m.engines.base import SAMPLE_RATE, GenerationRequest
from diffv2m.engines.composer.arrangement import LAST_HIT
from diffv2m.engines.composer.style import TABLE
from diffv2m.features.extract import extract_features

CLIPS = [
    # (bpm, fps, kind, vfr, range start, emotion)
    (72.0, Fraction(25), "flash", False, 1.3, "happy"),
    (97.0, Fraction(30000, 1001), "bounce", False, 2.2, "sad"),
    (118.0, Fraction(24), "flash", True, 0.0, "auto"),
    (139.0, Fraction(50), "flash", False, 3.1, "tense"),
    (151.0, Fraction(30), "bounce", False, 1.7, "calm"),
    (168.0, Fraction(25), "flash", False, 0.6, "epic"),
]


@pytest.mark.parametrize(("bpm", "fps", "kind", "vfr", "start", "emotion"), CLIPS)
def test_rendered_score_meets_every_visual_event(composer, clip_factory, tmp_path, bpm, fps, kind, vfr, start, emotion):
    rng = np.random.default_rng(int(bpm * 10))
    duration = 15.0
    events = periodic_events(bpm, duration, phase=float(rng.uniform(0.0, 60.0 / bpm)))
    cuts = [round(float(c), 2) for c in np.sort(rng.uniform(start + 2.0, duration - 2.0, 2))]
    spec = ClipSpec(duration, fps, 320, 240, events, cuts, kind, vfr=vfr, seed=int(bpm))
    truth = clip_factory(spec, f"composer_{int(bpm)}_{kind}")
    end = duration - 0.4
    features = extract_features(truth.path, start, end)
    mood = resolve_emotion(emotion, features.clip_valence, features.clip_arousal)
    result = composer.generate(GenerationRequest(features, mood, int(rng.integers(1000)), end - start))

    wav = tmp_path / "score.wav"  # what the server hands the editor: 16-bit PCM
    soundfile.write(wav, result.audio.T, SAMPLE_RATE, subtype="PCM_16")
    audio, rate = soundfile.read(wav, dtype="float32", always_2d=True)
    assert rate == SAMPLE_RATE and audio.shape == (round((end - start) * SAMPLE_RATE), 2)

    # Loudness of the file itself, measured independently: -14 LUFS +-1 LU, true peak <= -1 dBTP, no DC.
    lufs = pyloudnorm.Meter(SAMPLE_RATE).integrated_loudness(audio.astype(np.float64))
    peak = 20 * np.log10(np.abs(signal.resample_poly(audio.astype(np.float64), 4, 1, axis=0)).max())
    assert abs(lufs + 14.0) <= 1.0 and peak <= -1.0 + 0.05 and np.abs(audio.mean(axis=0)).max() < 1e-3

    # The last LAST_HIT seconds are the ending's ring-out: no new hit is struck there.
    visual = truth.event_times[(truth.event_times >= start) & (truth.event_times < end - LAST_HIT)] - start
    onsets = detect_onsets(audio.T)
    hit, gain = alignment_gain(visual, onsets, 60.0 / bpm)
    assert hit >= 0.9, f"recall {hit:.2f} of {visual.size} events"
    assert gain >= 0.4, f"alignment gain {gain:.2f}"
    # The mood keeps its tempo: every section inside its range, whatever the pulse.
    low, _, high = TABLE[result.extra["style"]].tempo
    assert all(low / 1.011 <= s["tempo"] <= high * 1.011 for s in result.extra["sections"])
    # Downbeats fall on the cuts that land on a beat.
    for cut in truth.cut_times[(truth.cut_times > start + 2.0) & (truth.cut_times < end - 2.0)] - start:
        if np.min(np.abs(result.beats - cut)) < 0.035:
            assert np.min(np.abs(result.downbeats - cut)) < 0.035
