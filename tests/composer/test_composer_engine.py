"""ComposerEngine against the Engine contract: shapes, fields, determinism, progress, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from composer_checks import detect_onsets, frame_quantised_pulse, make_features

from diffv2m.emotion import PRESETS, resolve_emotion
from diffv2m.engines.base import SAMPLE_RATE, GenerationRequest
from diffv2m.errors import Cancelled, InputError

EVENTS = frame_quantised_pulse(112.0, 12.0, 0.37, 30.0)
FEATURES = make_features(EVENTS, 12.0, cuts=[4.6, 8.9])


def generate(engine, features=FEATURES, emotion="happy", seed=1, duration=None, progress=None):
    request = GenerationRequest(features, PRESETS[emotion], seed, duration or features.duration)
    if progress is not None:
        request.progress = progress
    return engine.generate(request)


def test_result_fields(composer):
    result = generate(composer)
    assert result.audio.shape == (2, round(12.0 * SAMPLE_RATE)) and result.audio.dtype == np.float32
    assert (result.engine, result.weights, result.sampler, result.steps) == (
        "default",
        "none (embedded composer)",
        "composer",
        0,
    )
    assert result.seed == 1 and result.emotion == "happy" and result.sample_rate == SAMPLE_RATE
    assert np.all(np.diff(result.beats) > 0) and result.beats[0] >= 0 and result.beats[-1] < 12.0
    assert set(result.downbeats) <= set(result.beats)
    assert result.tempo == pytest.approx(112.0, rel=0.02)
    assert result.predicted_odf.shape == (12,) and result.predicted_odf.max() > 0
    assert np.isfinite(result.audio).all()
    assert composer.describe()["weights"] == "none (embedded composer)" and composer.name == "default"


@pytest.mark.parametrize("duration", [1.0, 1.2345, 7.77777, 61.03])
def test_duration_is_exact_to_the_sample(composer, duration):
    events = frame_quantised_pulse(96.0, duration, 0.2, 25.0)
    result = generate(composer, make_features(events, duration), "calm", duration=duration)
    assert result.audio.shape == (2, round(duration * SAMPLE_RATE))
    assert result.predicted_odf.shape == (math.ceil(duration),)
    # The file starts and ends in silence, not on a step.
    assert np.abs(result.audio[:, 0]).max() < 1e-3 and np.abs(result.audio[:, -1]).max() < 1e-3


def test_ten_minutes_exact_and_steady(composer):
    duration = 600.0
    events = frame_quantised_pulse(100.0, duration, 0.11, 25.0)  # inside epic's 84..112 BPM
    cuts = list(np.arange(37.0, duration, 41.3))
    result = generate(composer, make_features(events, duration, cuts=cuts), "epic", seed=3)
    assert result.audio.shape == (2, 600 * SAMPLE_RATE)
    assert np.abs(result.beats[:, None] - events[None, ::50]).min(axis=0).max() < 0.035
    assert -15.0 <= result.extra["lufs"] <= -13.0 and result.extra["true_peak_db"] <= -1.0


def test_longer_request_than_analysed_range_keeps_playing(composer):
    result = generate(composer, duration=20.0)
    assert result.audio.shape == (2, 20 * SAMPLE_RATE)
    last_five = result.audio[:, 15 * SAMPLE_RATE :]
    assert np.sqrt(np.mean(last_five**2)) > 0.02
    assert result.beats[-1] > 19.0


def test_same_seed_same_audio_other_seed_or_emotion_other_audio(composer):
    first, again = generate(composer, seed=5), generate(composer, seed=5)
    assert np.array_equal(first.audio, again.audio)
    other_seed = generate(composer, seed=6)
    other_mood = generate(composer, emotion="sad", seed=5)
    for other in (other_seed, other_mood):
        assert not np.allclose(first.audio, other.audio, atol=1e-3)


def test_auto_emotion_uses_the_measured_colour(composer):
    warm = make_features(EVENTS, 12.0, valence=0.7, arousal=0.4)
    emotion = resolve_emotion("auto", warm.clip_valence, warm.clip_arousal)
    result = composer.generate(GenerationRequest(warm, emotion, 2, 12.0))
    assert result.emotion == "happy" and result.extra["style"] == "happy"


def test_static_video_without_events_still_gets_a_score(composer):
    still = make_features([], 9.0)
    result = generate(composer, still, "mysterious")
    assert result.audio.shape == (2, 9 * SAMPLE_RATE)
    assert result.beats.size >= 9 and -15.0 <= result.extra["lufs"] <= -13.0


def test_progress_is_reported_and_cancel_stops_the_job(composer):
    seen: list[tuple[str, float]] = []
    generate(composer, progress=lambda stage, fraction: seen.append((stage, fraction)))
    assert len(seen) >= 5 and {stage for stage, _ in seen} >= {"generating", "normalising"}
    fractions = [f for stage, f in seen if stage == "generating"]
    assert fractions == sorted(fractions) and all(0.0 <= f <= 1.0 for f in fractions)

    def cancel_midway(stage: str, fraction: float) -> None:
        if fraction >= 0.2:
            raise Cancelled()

    with pytest.raises(Cancelled):
        generate(composer, progress=cancel_midway)


@pytest.mark.parametrize(("duration", "seed"), [(0.0, 1), (-3.0, 1), (float("nan"), 1), (5.0, -1)])
def test_bad_requests_get_one_clear_message(composer, duration, seed):
    with pytest.raises(InputError) as error:
        composer.generate(GenerationRequest(FEATURES, PRESETS["calm"], seed, duration))
    assert error.value.message.endswith(".") and "\n" not in error.value.message


def test_flickering_picture_does_not_become_a_drum_roll(composer):
    """Dozens of events a second and a cut every half second: still music, onsets stay sparse."""
    rng = np.random.default_rng(9)
    duration = 10.0
    events = np.sort(rng.uniform(0.0, duration, 250))
    features = make_features(events, duration, cuts=list(np.arange(0.5, duration, 0.5)), strengths=rng.random(250))
    result = generate(composer, features, "tense", seed=4)
    onsets = detect_onsets(result.audio)
    assert onsets.size < 8 * duration
    assert -15.0 <= result.extra["lufs"] <= -13.0 and result.extra["true_peak_db"] <= -1.0
    shortest_beat = 60.0 / max(section["tempo"] for section in result.extra["sections"])
    assert np.all(np.diff(result.beats) >= 0.5 * shortest_beat - 1e-9)  # a cut may shorten a beat, not split it
