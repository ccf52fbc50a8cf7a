"""The emotion table: what a mood means to the composer.

Each preset of ``emotion.py`` maps to one :class:`StyleRow` (documented in
docs/composer.md). ``auto`` resolves to its nearest preset, and the measured
valence/arousal point then nudges the continuous knobs (tempo target, brightness,
dynamics), so two clips with different colour still get different scores.
The seed picks among the row's equally valid choices (tonic, progression,
instrument variant) in :func:`choose_style`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...emotion import PRESETS, EmotionPreset

# Scale steps (semitones above the tonic) of the modes the table uses.
MODES: dict[str, tuple[int, ...]] = {
    "ionian": (0, 2, 4, 5, 7, 9, 11),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "aeolian": (0, 2, 3, 5, 7, 8, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
}
MAJOR_MODES = {"ionian", "lydian"}
TAKE_TEMPO = 0.11  # octaves: a take's tempo target lies within about 8 % of the mood's
SWING = (0.5, 0.64)  # straight or swung eighths, alternating with the seed


@dataclass(frozen=True)
class StyleRow:
    """One row of the emotion table (see docs/composer.md)."""

    modes: tuple[str, ...]  # the seed picks one
    tonics: tuple[int, ...]  # pitch classes (0 = C); the seed picks one
    tempo: tuple[float, float, float]  # (low, target, high) BPM the grid prefers
    drums: tuple[str, ...]  # drum pattern families, the seed picks one (arrangement.DRUM_PATTERNS)
    bass: tuple[str, ...]  # bass pattern families
    harmony_voice: tuple[str, ...]  # chord instruments (instruments.tonal.VOICES)
    melody_voice: tuple[str, ...]  # lead instruments
    texture: str  # the sustained bed under everything
    octave: int  # melody register: MIDI octave of the melody's centre (5 = C5..B5)
    velocity: float  # base dynamics, 0..1
    brightness: float  # 0 dark .. 1 bright: filter cut-offs and FM indices
    density: int  # base arrangement level 0..3 before motion is added
    reverb: float  # wet send, 0..1
    half_time: bool  # feel the pulse at half speed (slow moods on fast pictures)


TABLE: dict[str, StyleRow] = {
    "calm": StyleRow(
        modes=("ionian", "lydian"),
        tonics=(5, 2, 7, 3),  # F, D, G, Eb
        tempo=(60.0, 76.0, 96.0),
        drums=("brushed", "sparse"),
        bass=("roots", "roots_fifths"),
        harmony_voice=("epiano", "pad_warm"),
        melody_voice=("flute", "bell_soft"),
        texture="pad_warm",
        octave=5,
        velocity=0.55,
        brightness=0.35,
        density=1,
        reverb=0.55,
        half_time=True,
    ),
    "happy": StyleRow(
        modes=("ionian", "lydian"),
        tonics=(0, 7, 2, 9),  # C, G, D, A
        tempo=(96.0, 120.0, 150.0),
        drums=("four_floor", "pop_backbeat"),
        bass=("octave_bounce", "roots_eighths"),
        harmony_voice=("pluck", "epiano"),
        melody_voice=("lead_square", "bell_bright"),
        texture="pad_bright",
        octave=5,
        velocity=0.8,
        brightness=0.8,
        density=2,
        reverb=0.3,
        half_time=False,
    ),
    "tense": StyleRow(
        modes=("phrygian", "aeolian"),
        tonics=(2, 4, 1, 5),  # D, E, C#, F
        tempo=(110.0, 132.0, 160.0),
        drums=("driving", "tom_pulse"),
        bass=("pulse_eighths", "pulse_eighths"),
        harmony_voice=("strings_dark", "pad_dark"),
        melody_voice=("lead_saw", "bell_dark"),
        texture="pad_dark",
        octave=4,
        velocity=0.85,
        brightness=0.45,
        density=2,
        reverb=0.35,
        half_time=False,
    ),
    "sad": StyleRow(
        modes=("aeolian",),
        tonics=(9, 4, 11, 2),  # A, E, B, D
        tempo=(56.0, 70.0, 84.0),
        drums=("sparse", "brushed"),
        bass=("roots", "roots"),
        harmony_voice=("piano", "strings_soft"),
        melody_voice=("piano_lead", "flute"),
        texture="strings_soft",
        octave=5,
        velocity=0.5,
        brightness=0.25,
        density=1,
        reverb=0.6,
        half_time=True,
    ),
    "epic": StyleRow(
        modes=("aeolian", "dorian"),
        tonics=(2, 0, 4),  # D, C, E
        tempo=(80.0, 100.0, 130.0),
        drums=("taiko", "big_backbeat"),
        bass=("roots_eighths", "octave_bounce"),
        harmony_voice=("strings_ensemble", "brass"),
        melody_voice=("brass_lead", "lead_saw"),
        texture="strings_ensemble",
        octave=5,
        velocity=0.95,
        brightness=0.65,
        density=3,
        reverb=0.5,
        half_time=False,
    ),
    "mysterious": StyleRow(
        modes=("dorian", "phrygian"),
        tonics=(1, 6, 10),  # C#, F#, Bb
        tempo=(66.0, 84.0, 100.0),
        drums=("sparse", "tom_pulse"),
        bass=("roots", "roots_fifths"),
        harmony_voice=("pad_dark", "bell_soft"),
        melody_voice=("bell_dark", "flute"),
        texture="pad_air",
        octave=5,
        velocity=0.6,
        brightness=0.4,
        density=1,
        reverb=0.7,
        half_time=True,
    ),
}


# Mix balance: loudness of each part while it plays, in dB relative to each
# other (the final level is set by loudness normalisation). The melody leads,
# drums carry the energetic moods, the bed and harmony carry the quiet ones.
# "stabs" are the chord hits on off-grid events, "fx" the risers into cuts.
BALANCE: dict[str, dict[str, float]] = {
    "calm": {"drums": -9.0, "bass": -8.0, "bed": -9.0, "harmony": -6.5, "melody": -5.0},
    "happy": {"drums": -4.0, "bass": -6.5, "bed": -11.0, "harmony": -8.0, "melody": -5.5},
    "tense": {"drums": -3.0, "bass": -5.5, "bed": -9.5, "harmony": -9.0, "melody": -6.5},
    "sad": {"drums": -11.0, "bass": -9.0, "bed": -7.0, "harmony": -5.5, "melody": -5.0},
    "epic": {"drums": -3.5, "bass": -7.0, "bed": -6.0, "harmony": -8.0, "melody": -5.0},
    "mysterious": {"drums": -9.0, "bass": -8.0, "bed": -7.0, "harmony": -7.5, "melody": -6.0},
}
for _balance in BALANCE.values():
    _balance.setdefault("stabs", _balance["harmony"] - 1.0)
    _balance.setdefault("fx", _balance["drums"] - 6.0)


@dataclass(frozen=True)
class Style:
    """The row with the seed's choices made and the exact mood applied."""

    preset: str
    mode: str
    tonic: int
    tempo_low: float
    tempo_target: float
    tempo_high: float
    drums: str
    bass: str
    harmony_voice: str
    melody_voice: str
    texture: str
    octave: int
    velocity: float
    brightness: float
    density: int
    reverb: float
    half_time: bool
    balance: dict[str, float]
    swing: float = 0.5  # the take's groove feel: off-beat eighths at this share of the beat
    displaced: bool = False  # the take plays the displaced groove of its drum family (patterns.DISPLACED)

    @property
    def scale(self) -> tuple[int, ...]:
        return MODES[self.mode]

    @property
    def is_major(self) -> bool:
        return self.mode in MAJOR_MODES


def choose_style(emotion: EmotionPreset, seed: int) -> Style:
    """Pick the seed's variant of the emotion's row, nudged by the exact valence/arousal point."""
    rng = np.random.default_rng([seed, 0x57])
    name = emotion.name  # auto carries its nearest preset's name and the measured point
    row = TABLE[name]
    anchor = PRESETS[name]
    # How far the measured point ("auto") lies from the preset's own point.
    d_valence = float(np.clip(emotion.valence - anchor.valence, -1.0, 1.0))
    d_arousal = float(np.clip(emotion.arousal - anchor.arousal, -1.0, 1.0))
    low, target, high = row.tempo
    target = float(np.clip(target * 2.0 ** (0.25 * d_arousal), low, high))
    # Each take leans its own way inside the range (at most TAKE_TEMPO either side of the target)
    # and alternates a straight and a swung feel, so two takes are two grooves, not one transposed.
    lean = (1.0 if seed % 2 else -1.0) * rng.uniform(0.5, 1.0)  # neighbouring seeds lean opposite ways
    target = float(np.clip(target * 2.0 ** (TAKE_TEMPO * lean), low, high))
    swing = SWING[seed % len(SWING)]  # neighbouring seeds always differ in feel
    displaced = seed % 2 == 1  # ... and in where the groove strikes

    def pick(options: tuple[str, ...] | tuple[int, ...]) -> str | int:
        return options[int(rng.integers(len(options)))]

    return Style(
        preset=name,
        mode=str(pick(row.modes)),
        tonic=int(pick(row.tonics)),
        tempo_low=low,
        tempo_target=target,
        tempo_high=high,
        drums=str(pick(row.drums)),
        bass=str(pick(row.bass)),
        harmony_voice=str(pick(row.harmony_voice)),
        melody_voice=str(pick(row.melody_voice)),
        texture=row.texture,
        octave=row.octave,
        velocity=float(np.clip(row.velocity + 0.15 * d_arousal, 0.3, 1.0)),
        brightness=float(np.clip(row.brightness + 0.2 * d_valence + 0.1 * d_arousal, 0.1, 0.95)),
        density=row.density,
        reverb=row.reverb,
        half_time=row.half_time,
        balance=dict(BALANCE[name]),
        swing=swing,
        displaced=displaced,
    )
