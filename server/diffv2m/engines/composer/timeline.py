"""Bars and notes: the musical timeline laid over the beat grid.

Patterns are written in eighth-note positions 0..7 of a 4/4 bar. A position maps
to a time only through :meth:`Bar.position_time`, which is where the lattice
rule lives: a bar whose beat is half the visual pulse (``steps == 1``) has no
off-beat eighths, so no onset ever falls a quarter of a visual period away from
the picture's events. A take may swing its off-beats (``Bar.swing``) where no
visual pulse sits on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .grid import TOLERANCE, BeatGrid, Section
from .harmony import Chord

POSITIONS = 8  # eighth notes per 4/4 bar
HALF_NOTES = frozenset((0, 4))  # beats 1 and 3: what a half-time groove under the picture's hits plays


@dataclass(frozen=True)
class Note:
    voice: str  # a drum name (instruments.DRUMS) or a pitched voice (instruments.VOICES)
    time: float  # seconds from the range start
    length: float  # seconds the note is held (drums ignore it)
    pitch: int = 0  # MIDI note; 0 for drums
    velocity: float = 0.8  # 0..1
    part: str = "drums"  # mix group: drums, bass, bed, harmony, melody, stabs, fx (see style.BALANCE)


@dataclass
class Bar:
    start: float  # time of the bar's first beat
    beats: np.ndarray  # times of the beats it holds (1..4)
    first_beat: int  # index in 0..3 of beats[0] (a pickup bar starts late)
    beat: float  # beat period, seconds
    steps: int  # 2: eighths allowed, 1: quarters only
    section: int
    index: int  # bar number within its section (pickup = -1)
    half_time: bool
    chord: Chord | None = None
    level: int = 1
    swing: float = 0.5  # where the off-beat eighth sits, as a share of the beat (0.5 = straight)
    allowed: frozenset[int] | None = None  # the only positions the band may play (articulated_positions)
    extras: dict[str, object] = field(default_factory=dict)

    @property
    def end(self) -> float:
        return float(self.beats[-1] + self.beat)

    def position_time(self, position: int) -> float | None:
        """Time of eighth ``position`` (0..7) in this bar, or None when the bar lacks it."""
        beat_index, half = divmod(position, 2)
        local = beat_index - self.first_beat
        if not 0 <= local < self.beats.size or (half and self.steps < 2):
            return None
        if self.allowed is not None and position not in self.allowed:
            return None
        # The off-beat divides this beat's own interval (under a tempo ramp beats differ; ramps.py).
        interval = self.beats[local + 1] - self.beats[local] if local + 1 < self.beats.size else self.beat
        return float(self.beats[local] + half * interval * self.swing)

    @property
    def entry(self) -> float | None:
        """Time of the first position the bar lets the band play (None: none)."""
        return next((t for p in range(POSITIONS) if (t := self.position_time(p)) is not None), None)

    def span(self, position: int, length: int) -> float:
        """Seconds covered by ``length`` eighths starting at ``position`` (cut at the bar end)."""
        end_position = min(position + length, POSITIONS)
        return max(0.0, (end_position - position) * self.beat / 2)


def swing_allowed(section: Section) -> bool:
    """A swung off-beat must never carry a visual pulse: only where every pulse falls on a beat."""
    if section.pulse is None:
        return True
    ratio = section.pulse / section.beat
    return abs(ratio - round(ratio)) < 0.01


def build_bars(grid: BeatGrid, swing: float = 0.5) -> list[Bar]:
    """Cut each section's beats into bars that start on the section's downbeats.

    ``swing`` is the take's groove feel, applied where :func:`swing_allowed`.
    """
    bars: list[Bar] = []
    for number, section in enumerate(grid.sections):
        beats = section.beats
        if beats.size == 0:
            continue
        feel = swing if swing_allowed(section) else 0.5
        first_bar = len(bars)
        downbeat_index = np.flatnonzero(np.isin(beats, section.downbeats))
        first = int(downbeat_index[0]) if downbeat_index.size else 0
        if first > 0:  # pickup: the last ``first`` beats of an imaginary bar
            bars.append(
                Bar(
                    float(beats[0]),
                    beats[:first],
                    4 - first,
                    section.beat,
                    section.steps,
                    number,
                    -1,
                    section.half_time,
                )
            )
        for k, offset in enumerate(range(first, beats.size, 4)):
            chunk = beats[offset : offset + 4]
            bars.append(Bar(float(chunk[0]), chunk, 0, section.beat, section.steps, number, k, section.half_time))
        for bar in bars[first_bar:]:
            bar.swing = feel
            bar.allowed = articulated_positions(bar, section)
    return bars


def articulated_positions(bar: Bar, section: Section) -> frozenset[int] | None:
    """The positions of ``bar`` the band may play on, by who leads the section (``Section.lead``).

    "pulse": the picture sets the rhythm. The band plays where its pulse falls, and on the beats
    when the pulse spans two beats or more (the mood's tempo over a slower picture); nothing in
    between, so no onset of the music falls where the picture has none but a beat. Where the beat is
    2/3 of the pulse the band plays the pulse as a cross-rhythm over the bar. "hits": beats 1 and 3,
    a half-time groove that leaves the room between to the picture's irregular hits (accents.py).
    "groove": None, every position of the lattice.
    """
    if section.lead == "hits":
        return HALF_NOTES
    if section.lead != "pulse" or section.pulse is None:
        return None
    ratio = section.pulse / section.beat
    beats_too = ratio > 1.99 and abs(ratio - round(ratio)) < 0.01
    allowed = []
    for position in range(POSITIONS):
        time = bar.position_time(position)
        if time is not None:
            offset = (time - section.pulse_phase) / section.pulse
            if abs(offset - round(offset)) * section.pulse <= TOLERANCE or (beats_too and position % 2 == 0):
                allowed.append(position)
    return frozenset(allowed)


def parse_pattern(pattern: str) -> list[tuple[int, float]]:
    """'X.x.o...' -> [(position, velocity)]; X = 1.0, x = 0.75, o = 0.5, . = rest."""
    levels = {"X": 1.0, "x": 0.75, "o": 0.5}
    return [(k, levels[c]) for k, c in enumerate(pattern) if c in levels]


def parse_line(pattern: str) -> list[tuple[int, int, str]]:
    """A pitched line 'R-F-O.R-' -> [(position, length in eighths, symbol)]; '-' holds, '.' rests."""
    notes: list[tuple[int, int, str]] = []
    for k, c in enumerate(pattern):
        if c == "-":
            if notes and notes[-1][0] + notes[-1][1] == k:
                notes[-1] = (notes[-1][0], notes[-1][1] + 1, notes[-1][2])
        elif c != ".":
            notes.append((k, 1, c))
    return notes


def line_notes(bar: Bar, pattern: str) -> list[tuple[float, float, str]]:
    """(time, seconds, symbol) of a pitched line in ``bar``.

    A note on a position the lattice forbids starts on the next position it allows within the note's
    length (a late entry); where there is none the previous note is held through it instead.
    """
    result: list[tuple[float, float, str]] = []
    for position, length, symbol in parse_line(pattern):
        entries = ((p, bar.position_time(p)) for p in range(position, min(position + length, POSITIONS)))
        late = next(((p, t) for p, t in entries if t is not None), None)
        if late is not None:
            result.append((late[1], bar.span(late[0], length - (late[0] - position)), symbol))
        elif result:
            t, seconds, s = result[-1]
            result[-1] = (t, seconds + bar.span(position, length), s)
    return result
