"""Each mood changes the music in the documented direction (docs/composer.md), measured on the audio."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
from composer_checks import WINDOW, detect_onsets, frame_quantised_pulse, make_features

from diffv2m.emotion import PRESETS
from diffv2m.engines.base import SAMPLE_RATE, GenerationRequest

# Krumhansl-Kessler key profiles (probe-tone ratings), C major and C minor.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
DURATION = 12.0
EVENTS = frame_quantised_pulse(70.0, DURATION, 0.42, 25.0)  # a slow pulse every mood can follow
CUTS = [8.0]
FEATURES = make_features(EVENTS, DURATION, cuts=CUTS)
SEEDS = (11, 12, 13)


def render(composer, emotion: str, seed: int):
    return composer.generate(GenerationRequest(FEATURES, PRESETS[emotion], seed, DURATION))


def major_minor_margin(audio: np.ndarray) -> float:
    """Best major-key correlation minus best minor-key correlation of the clip's mean chroma."""
    chroma = librosa.feature.chroma_cqt(y=audio.mean(axis=0), sr=SAMPLE_RATE).mean(axis=1)
    major = max(np.corrcoef(chroma, np.roll(MAJOR_PROFILE, k))[0, 1] for k in range(12))
    minor = max(np.corrcoef(chroma, np.roll(MINOR_PROFILE, k))[0, 1] for k in range(12))
    return float(major - minor)


def centroid(audio: np.ndarray) -> float:
    return float(np.mean(librosa.feature.spectral_centroid(y=audio.mean(axis=0), sr=SAMPLE_RATE)))


@pytest.fixture(scope="module")
def renders(composer):
    return {(e, s): render(composer, e, s) for e in ("happy", "sad", "calm", "epic") for s in SEEDS}


def test_happy_is_major_and_sad_is_minor(renders):
    for seed in SEEDS:
        assert major_minor_margin(renders["happy", seed].audio) > 0, seed
        assert major_minor_margin(renders["sad", seed].audio) < 0, seed


def test_happy_is_brighter_than_sad(renders):
    for seed in SEEDS:
        assert centroid(renders["happy", seed].audio) > 1.2 * centroid(renders["sad", seed].audio), seed


def test_energetic_moods_are_faster_than_calm_ones(renders):
    for seed in SEEDS:
        calm, happy = (renders[e, seed] for e in ("calm", "happy"))
        # Same 70 BPM picture: calm plays it as 70, happy at a multiple inside its own range (each flash
        # on the lattice), at least 1.3 times faster.
        assert calm.tempo == pytest.approx(70.0, rel=0.02)
        assert 96.0 <= happy.tempo <= 150.0 and happy.tempo >= 1.3 * calm.tempo
        assert min(abs(happy.tempo / 70.0 - r) for r in (1.5, 2.0)) < 0.02


def test_every_mood_plays_the_strong_pulse_of_the_picture(renders):
    """Under a steady pulse the picture sets the rhythm: onsets on its flashes, or on the beats where the
    mood's tempo is a whole multiple of it, and none in between (docs/composer.md, the lattice rule)."""
    for (emotion, seed), result in renders.items():
        onsets = detect_onsets(result.audio)
        ratio = result.tempo / 70.0
        marks = np.concatenate([EVENTS, CUTS, result.beats if abs(ratio - round(ratio)) < 0.02 else []])
        on_picture = np.min(np.abs(onsets[:, None] - marks[None, :]), axis=1) <= WINDOW
        assert on_picture.mean() >= 0.9, (emotion, seed, onsets[~on_picture])


def test_energetic_moods_are_denser_where_the_groove_leads(composer):
    """On slow cuts with nothing between them the mood's own groove plays: happy and epic have at least
    1.3 times the onsets of calm."""
    cuts = [3.1, 6.6, 9.4]
    features = make_features(cuts, DURATION, cuts=cuts)
    for seed in SEEDS:
        counts = {
            e: detect_onsets(composer.generate(GenerationRequest(features, PRESETS[e], seed, DURATION)).audio).size
            for e in ("calm", "happy", "epic")
        }
        assert counts["happy"] > 1.3 * counts["calm"] and counts["epic"] > 1.3 * counts["calm"], (seed, counts)


def test_the_mood_changes_the_key_and_sound_between_seeds_too(renders):
    keys = {renders["happy", s].extra["key"] for s in SEEDS} | {renders["sad", s].extra["key"] for s in SEEDS}
    assert len(keys) >= 3


def test_one_meaning_for_emotion():
    from diffv2m.emotion import emotion_key, nearest_preset, resolve_emotion
    from diffv2m.errors import InputError

    assert emotion_key("  Happy ") == "happy" and emotion_key(None) == emotion_key("") == "auto"
    with pytest.raises(InputError, match="Unknown emotion 'joyful'"):
        emotion_key("joyful")
    auto = resolve_emotion("auto", 0.75, 0.45)
    assert auto.auto and auto.name == "happy" and (auto.valence, auto.arousal) == (0.75, 0.45)
    assert not resolve_emotion("happy").auto
    assert nearest_preset(-0.65, -0.45).name == "sad"
