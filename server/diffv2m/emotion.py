"""Emotion presets: the knob an editor turns when regenerating a score.

A preset is a point on the valence/arousal plane (Russell's circumplex), the same
space the colour analysis estimates from the picture (``"auto"``). Each engine
turns that point into its own conditioning; the tables live with the engines:
``engines/composer/style.py`` (key, tempo, instruments) and
``engines/diffv2m_engine.py`` (conditioning overrides for the model).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InputError
from .limits import shown

AUTO = "auto"


@dataclass(frozen=True)
class EmotionPreset:
    name: str  # a preset's name; for auto, the nearest preset's (what the engines' tables are keyed by)
    description: str
    valence: float  # -1 (negative) .. +1 (positive)
    arousal: float  # -1 (calm) .. +1 (excited)
    auto: bool = False  # chosen from the picture: valence/arousal are the measured point


PRESETS: dict[str, EmotionPreset] = {
    p.name: p
    for p in (
        EmotionPreset("calm", "Slow, soft and consonant: pads, gentle piano, sparse drums.", 0.4, -0.7),
        EmotionPreset("happy", "Bright major key, lively tempo, bouncy bass and drums.", 0.8, 0.5),
        EmotionPreset("tense", "Minor key, driving pulse, low register, dissonant colour.", -0.6, 0.7),
        EmotionPreset("sad", "Minor key, slow, sparse and low in dynamics.", -0.7, -0.5),
        EmotionPreset("epic", "Big, loud and wide: full drums, strings and brass-like leads.", 0.3, 0.9),
        EmotionPreset("mysterious", "Modal and dark, slow-moving harmony, airy textures.", -0.3, -0.2),
    )
}


def emotion_names() -> list[str]:
    """Every name a request may use: ``auto`` plus the presets."""
    return [AUTO, *PRESETS]


def emotion_key(name: str | None) -> str:
    """The one place a request's emotion name is normalised and checked; empty means ``auto``."""
    key = (name or AUTO).strip().lower()
    if key not in emotion_names():
        raise InputError(f"Unknown emotion '{shown(name)}'. Choose one of: {', '.join(emotion_names())}.")
    return key


def nearest_preset(valence: float, arousal: float) -> EmotionPreset:
    """The preset nearest a valence/arousal point (Euclidean on the circumplex)."""
    return min(PRESETS.values(), key=lambda p: (p.valence - valence) ** 2 + (p.arousal - arousal) ** 2)


def resolve_emotion(key: str, valence: float | None = None, arousal: float | None = None) -> EmotionPreset:
    """The preset for a checked emotion key (:func:`emotion_key`).

    ``auto`` needs the picture's estimated valence/arousal: it takes the nearest
    preset's name and keeps the measured point (so engines can use the exact mood).
    """
    if key != AUTO:
        return PRESETS[key]
    if valence is None or arousal is None:
        raise InputError("Emotion 'auto' needs the colour analysis of the video.")
    nearest = nearest_preset(valence, arousal)
    return EmotionPreset(nearest.name, f"auto (closest preset: {nearest.name})", valence, arousal, auto=True)
