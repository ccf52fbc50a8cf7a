"""The melodic layer: four-bar phrases built from a repeated rhythmic motif.

A phrase is motif, motif, contrast, cadence (A A B C): the rhythm cell of the
first bar returns in the second, the fourth bar ends on a long chord tone.
Pitches walk by scale steps around the register's centre and land on chord
tones on the strong eighths (beats 1 and 3), which keeps the line consonant with
whatever chord is under it while the passing notes give it shape.
"""

from __future__ import annotations

import numpy as np

from .harmony import scale_pitches
from .patterns import MELODY_CELLS, PHRASE_ENDINGS
from .style import Style
from .timeline import Bar, Note, line_notes

STRONG_POSITIONS = (0, 4)


def _nearest(candidates: np.ndarray, target: float) -> int:
    return int(candidates[np.argmin(np.abs(candidates - target))])


def _phrase_cells(level: int, rng: np.random.Generator, half_time: bool) -> list[str]:
    pool = MELODY_CELLS[max(1, level - 1) if half_time else level]
    motif = pool[int(rng.integers(len(pool)))]
    contrast = pool[int(rng.integers(len(pool)))]
    ending = PHRASE_ENDINGS[int(rng.integers(len(PHRASE_ENDINGS)))]
    return [motif, motif, contrast, ending]


def melody_for_section(
    bars: list[Bar], style: Style, rng: np.random.Generator, voice: str, velocity: float
) -> list[Note]:
    """Notes of the melody over one section's bars (a pickup bar stays silent)."""
    centre = 12 * (style.octave + 1) + style.tonic
    low, high = centre - 7, centre + 12
    scale = scale_pitches(style, low, high)
    notes: list[Note] = []
    pitch = _nearest(scale, centre + 4)
    cells: list[str] = []
    for bar in bars:
        if bar.index < 0 or bar.chord is None:
            continue
        if bar.index % 4 == 0 or not cells:
            cells = _phrase_cells(bar.level, rng, bar.half_time)
        cell = cells[bar.index % 4]
        chord_pitches = np.array([p for p in scale if p % 12 in bar.chord.tones])
        for time, seconds, _ in line_notes(bar, cell):
            position = round((time - bar.beats[0]) / (bar.beat / 2)) + 2 * bar.first_beat
            if position in STRONG_POSITIONS or bar.index % 4 == 3:
                # Strong beats (and the cadence bar) sit on a chord tone near the walk.
                target = pitch + float(rng.integers(-3, 4))
                pitch = _nearest(chord_pitches if chord_pitches.size else scale, target)
            else:
                step = int(rng.choice([-2, -1, -1, 1, 1, 2, 3, -3]))
                pull = int(np.sign(centre + 3 - pitch)) if abs(pitch - centre - 3) > 6 else 0
                index = int(np.searchsorted(scale, pitch)) + step + pull
                pitch = int(scale[int(np.clip(index, 0, scale.size - 1))])
            accent = 1.0 if position in STRONG_POSITIONS else 0.85
            notes.append(Note(voice, time, seconds * 0.92, pitch, velocity * accent))
    return notes
