"""Harmony: diatonic chords of the chosen mode, progressions and voice leading.

Every chord is stacked in thirds from the mode's own scale, so harmony, bass and
melody can never leave the key. The seed picks two progressions (an A and a B
part) from the mode's list; sections alternate between them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .style import Style

# Scale degrees (0 = tonic) per bar, per mode: common loops that avoid the
# mode's diminished triad and feature its colour chord.
PROGRESSIONS: dict[str, tuple[tuple[int, ...], ...]] = {
    "ionian": (
        (0, 4, 5, 3),  # I V vi IV
        (0, 3, 4, 0),  # I IV V I
        (0, 5, 3, 4),  # I vi IV V
        (3, 4, 0, 0),  # IV V I I
        (0, 3, 0, 4),  # I IV I V
        (0, 2, 3, 4),  # I iii IV V
    ),
    "lydian": (
        (0, 1, 0, 1),  # I II: the raised fourth
        (0, 1, 4, 0),  # I II V I
        (0, 4, 1, 0),  # I V II I
        (0, 1, 5, 4),  # I II vi V
    ),
    "aeolian": (
        (0, 5, 2, 6),  # i VI III VII
        (0, 3, 5, 6),  # i iv VI VII
        (0, 6, 5, 6),  # i VII VI VII
        (5, 6, 0, 0),  # VI VII i i
        (0, 5, 3, 4),  # i VI iv v
        (0, 2, 5, 6),  # i III VI VII
    ),
    "dorian": (
        (0, 3, 0, 3),  # i IV: the bright sixth
        (0, 6, 3, 0),  # i VII IV i
        (0, 2, 3, 0),  # i III IV i
        (0, 3, 6, 0),  # i IV VII i
        (0, 4, 6, 0),  # i v VII i
    ),
    "phrygian": (
        (0, 1, 0, 1),  # i bII: the tense half-step
        (0, 1, 6, 0),  # i bII vii i
        (0, 5, 1, 0),  # i bVI bII i
        (0, 2, 1, 0),  # i bIII bII i
    ),
}


@dataclass(frozen=True)
class Chord:
    degree: int  # scale degree of the root (0 = tonic)
    tones: tuple[int, ...]  # pitch classes, root first, stacked in thirds

    @property
    def root(self) -> int:
        return self.tones[0]


def chord_on(style: Style, degree: int, size: int = 3) -> Chord:
    """The diatonic chord with ``size`` notes (3 = triad, 4 = seventh) on ``degree``."""
    scale = style.scale
    tones = tuple((style.tonic + scale[(degree + 2 * k) % 7]) % 12 for k in range(size))
    return Chord(degree % 7, tones)


def choose_progressions(style: Style, rng: np.random.Generator) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Two distinct progressions (A and B parts) for this mode, picked by the seed."""
    family = PROGRESSIONS[style.mode]
    first, second = rng.choice(len(family), size=2, replace=False)
    return family[int(first)], family[int(second)]


def chord_size(style: Style) -> int:
    """Soft moods get sevenths (warmer), loud ones plain triads (cleaner when dense)."""
    return 4 if style.preset in {"calm", "sad", "mysterious"} else 3


def scale_pitches(style: Style, low: int, high: int) -> np.ndarray:
    """Every MIDI note of the mode between ``low`` and ``high`` inclusive."""
    classes = {(style.tonic + step) % 12 for step in style.scale}
    return np.array([p for p in range(low, high + 1) if p % 12 in classes])


def voice_chord(chord: Chord, previous: list[int] | None, low: int, high: int, voices: int) -> list[int]:
    """MIDI notes for ``chord`` inside [low, high], moving as little as possible from ``previous``.

    Candidates are every inversion of the chord tones (cycled to ``voices``
    notes) stacked upward from each possible bass note; the one with the least
    total movement wins (the lowest one when there is nothing to lead from).
    """
    tones = [chord.tones[k % len(chord.tones)] for k in range(voices)]
    candidates = []
    for rotation in range(len(chord.tones)):
        order = tones[rotation:] + tones[:rotation]
        for start in range(low, low + 12):
            if start % 12 != order[0]:
                continue
            notes = [start]
            for pc in order[1:]:
                step = (pc - notes[-1]) % 12 or 12
                notes.append(notes[-1] + step)
            if notes[-1] <= high:
                candidates.append(notes)
    if not candidates:
        base = low + (chord.root - low) % 12
        return [base + 12 * (k // len(chord.tones)) + (pc - chord.root) % 12 for k, pc in enumerate(tones)]
    if previous is None:
        return min(candidates, key=lambda notes: abs(np.mean(notes) - (low + high) / 2))
    return min(candidates, key=lambda notes: sum(abs(a - b) for a, b in zip(notes, previous, strict=False)))


def bass_pitch(pitch_class: int, low: int = 33) -> int:
    """The bass register: the pitch class in the octave starting at ``low`` (A1 by default)."""
    return low + (pitch_class - low) % 12
