"""The melodic layer: four-bar phrases built on a motif that keeps coming back.

Each section has a motif: a rhythm cell plus a melodic shape (scale steps from
its first note). A phrase plays the motif, repeats it as a sequence over the
next chord (same shape, new starting chord tone), contrasts it in the third bar
and closes on a long chord tone in the fourth (A A' B cadence). Notes on the
strong eighths (beats 1 and 3) are pulled onto chord tones, which keeps the line
consonant with whatever chord is under it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .harmony import scale_pitches
from .patterns import MELODY_CELLS, PHRASE_ENDINGS
from .style import Style
from .timeline import Bar, Note, line_notes

STRONG_POSITIONS = (0, 4)
STEPS = (-2, -1, -1, 1, 1, 2, 3, -3)  # the walk prefers small steps


@dataclass
class Motif:
    cell: str  # rhythm, one bar
    shape: list[int]  # scale steps of each note from the first
    level: int  # the density it was written for


def _nearest(candidates: np.ndarray, target: float) -> int:
    return int(candidates[np.argmin(np.abs(candidates - target))])


def _cells(level: int, half_time: bool) -> tuple[str, ...]:
    return MELODY_CELLS[max(1, level - 1) if half_time else level]


def make_motif(level: int, half_time: bool, rng: np.random.Generator) -> Motif:
    pool = _cells(level, half_time)
    cell = pool[int(rng.integers(len(pool)))]
    count = sum(1 for c in cell if c == "x")
    shape = [0]
    for _ in range(count - 1):
        shape.append(int(np.clip(shape[-1] + int(rng.choice(STEPS)), -4, 5)))
    return Motif(cell, shape, level)


class MelodyWriter:
    """Writes one section's melody, keeping the walk's position between bars."""

    def __init__(self, style: Style, rng: np.random.Generator, voice: str, velocity: float) -> None:
        self.centre = 12 * (style.octave + 1) + style.tonic
        self.scale = scale_pitches(style, self.centre - 7, self.centre + 12)
        self.rng = rng
        self.voice = voice
        self.velocity = velocity
        self.pitch = _nearest(self.scale, self.centre + 4)

    def _step(self, pitch: int, steps: int) -> int:
        index = int(np.searchsorted(self.scale, pitch)) + steps
        return int(self.scale[int(np.clip(index, 0, self.scale.size - 1))])

    def _walk(self) -> int:
        """One free step, pulled back when the line strays from the register's centre."""
        pull = int(np.sign(self.centre + 3 - self.pitch)) if abs(self.pitch - self.centre - 3) > 6 else 0
        return self._step(self.pitch, int(self.rng.choice(STEPS)) + pull)

    def bar(self, bar: Bar, cell: str, shape: list[int] | None, cadence: bool) -> list[Note]:
        """Notes of one bar: follow ``shape`` when given (a motif), else walk freely."""
        assert bar.chord is not None
        chord_pitches = np.array([p for p in self.scale if p % 12 in bar.chord.tones])
        notes = []
        anchor = self.pitch
        for k, (time, seconds, _) in enumerate(line_notes(bar, cell)):
            position = round((time - bar.beats[0]) / (bar.beat / 2)) + 2 * bar.first_beat
            strong = position in STRONG_POSITIONS
            if k == 0 or (strong and shape is None) or cadence:
                # Phrase anchors and the cadence sit on a chord tone near where the line is.
                target = self.pitch + (float(self.rng.integers(-2, 3)) if k == 0 else 0.0)
                pitch = _nearest(chord_pitches, target)
                anchor = pitch
            elif shape is not None and k < len(shape):
                pitch = self._step(anchor, shape[k])
                if strong and pitch % 12 not in bar.chord.tones:
                    pitch = _nearest(chord_pitches, pitch)
            else:
                pitch = self._walk()
            self.pitch = pitch
            accent = 1.0 if strong else 0.85
            notes.append(Note(self.voice, time, seconds * 0.92, pitch, self.velocity * accent, "melody"))
        return notes


def melody_for_section(
    bars: list[Bar], style: Style, rng: np.random.Generator, voice: str, velocity: float
) -> list[Note]:
    """Notes of the melody over one section's bars (a pickup bar stays silent)."""
    writer = MelodyWriter(style, rng, voice, velocity)
    notes: list[Note] = []
    motif: Motif | None = None
    contrast = ending = ""
    for bar in bars:
        if bar.index < 0 or bar.chord is None:
            continue
        if motif is None or motif.level != bar.level:
            motif = make_motif(bar.level, bar.half_time, rng)
        slot = bar.index % 4
        if slot == 0:
            pool = _cells(bar.level, bar.half_time)
            contrast = pool[int(rng.integers(len(pool)))]
            ending = PHRASE_ENDINGS[int(rng.integers(len(PHRASE_ENDINGS)))]
        if slot in (0, 1):
            notes += writer.bar(bar, motif.cell, motif.shape, cadence=False)
        elif slot == 2:
            notes += writer.bar(bar, contrast or motif.cell, None, cadence=False)
        else:
            notes += writer.bar(bar, ending or motif.cell, None, cadence=True)
    return notes
