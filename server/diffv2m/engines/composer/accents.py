"""The accent layer: what makes the picture audible in the score.

Every visual event gets a hit on the lattice step it sits on unless the groove
already has a broadband drum there (patterns.STRONG_DRUMS); an event off the
lattice gets a hit and a short chord stab exactly on it; every cut gets a
cymbal and a kick. Events are served strongest first, and an off-lattice event
close to a hit already there shares it, so a flickering picture cannot turn
the score into a drum roll. A cut off the lattice gets a held moment before it
(the groove stops, the chords ring on).
"""

from __future__ import annotations

import bisect

import numpy as np

from ...features.types import VideoFeatures
from .grid import SHORTEST_BEAT, TOLERANCE
from .harmony import voice_chord
from .patterns import ACCENT_DRUM, ACCENT_VELOCITY, STRONG_DRUMS, SUSTAINED_HARMONY
from .style import Style
from .timeline import POSITIONS, Bar, Note

STAB_VOICE = {
    "calm": "epiano",
    "sad": "piano",
    "mysterious": "bell_dark",
    "happy": "pluck",
    "tense": "pluck",
    "epic": "brass",
}
MIN_EVENT_STRENGTH = 0.15  # weaker off-grid events are left to the groove
CRASH_GAP = 2.0  # seconds between cut cymbals at least
ACCENT_GAP = 0.1  # seconds: an off-lattice event this close to a hit shares it
HELD_PARTS = frozenset({"bed", "fx"})  # what rings on through the break before an off-grid cut


def _lattice(bars: list[Bar]) -> np.ndarray:
    times = [t for bar in bars for p in range(POSITIONS) if (t := bar.position_time(p)) is not None]
    return np.unique(np.asarray(times, np.float64))


class _Onsets:
    """Times that already carry a strong hit, for spacing new ones (sorted list, bisect)."""

    def __init__(self, times: list[float]) -> None:
        self.times = sorted(times)

    def has(self, time: float, within: float = 1e-4) -> bool:
        index = bisect.bisect_left(self.times, time - within)
        return index < len(self.times) and self.times[index] <= time + within

    def add(self, time: float) -> None:
        bisect.insort(self.times, time)


def accent_notes(
    notes: list[Note], bars: list[Bar], features: VideoFeatures, style: Style, duration: float
) -> list[Note]:
    """An audible hit on every visual event, a cymbal on every cut (see the module docstring)."""
    lattice = _lattice(bars)
    onsets = _Onsets([n.time for n in notes if n.voice in STRONG_DRUMS and n.velocity >= ACCENT_VELOCITY])
    stabs = _Onsets([])
    drum = ACCENT_DRUM[style.preset]
    added: list[Note] = []
    starts = np.array([bar.start for bar in bars]) if bars else np.zeros(0)
    events = sorted(zip(features.event_times, _strengths(features), strict=True), key=lambda e: -e[1])
    for time, strength in events:
        if not 0.0 <= time < duration or strength < MIN_EVENT_STRENGTH:
            continue
        nearest = float(lattice[np.argmin(np.abs(lattice - time))]) if lattice.size else np.inf
        on_lattice = abs(nearest - time) <= TOLERANCE
        anchor = nearest if on_lattice else float(time)
        if not on_lattice and onsets.has(anchor, ACCENT_GAP):
            continue
        velocity = float(np.clip(0.55 + 0.45 * strength, 0.0, 1.0)) * (0.7 + 0.3 * style.velocity)
        if not onsets.has(anchor):
            added.append(Note(drum, anchor, 0.0, 0, velocity))
            onsets.add(anchor)
        if not on_lattice and strength >= 0.5 and bars and not stabs.has(anchor, 4 * ACCENT_GAP):
            bar = bars[max(0, int(np.searchsorted(starts, anchor, side="right")) - 1)]
            register = 12 * (style.octave - 5)
            for pitch in voice_chord(bar.chord, None, 60 + register, 79 + register, 3):
                added.append(Note(STAB_VOICE[style.preset], anchor, 0.2, pitch, 0.8 * velocity, "stabs"))
            stabs.add(anchor)
    last_crash = -np.inf
    for cut in sorted(float(c) for c in features.cut_times if 0.0 < c < duration):
        nearest = float(lattice[np.argmin(np.abs(lattice - cut))]) if lattice.size else np.inf
        anchor = nearest if abs(nearest - cut) <= TOLERANCE else cut
        if anchor - last_crash >= CRASH_GAP:
            added.append(Note("crash", anchor, 0.0, 0, 0.55 + 0.15 * style.velocity))
            last_crash = anchor
        if not onsets.has(anchor, ACCENT_GAP if anchor == cut else 1e-4):
            added.append(Note("kick", anchor, 0.0, 0, 0.9 * style.velocity))
            onsets.add(anchor)
    return added


def break_before_off_grid_cuts(notes: list[Note], bars: list[Bar], cuts: np.ndarray) -> list[Note]:
    """A held moment into every cut that falls off the lattice: the groove stops SHORTEST_BEAT of a beat
    before it (the held chords ring on), so the cut's own hit lands after a breath, not as a flam
    against a groove hit or a shorter beat than the grid allows (grid.SHORTEST_BEAT)."""
    lattice = _lattice(bars)
    starts = np.array([bar.start for bar in bars]) if bars else np.zeros(0)
    windows = []
    for cut in (float(c) for c in cuts):
        if not bars or (lattice.size and np.min(np.abs(lattice - cut)) <= TOLERANCE):
            continue
        bar = bars[max(0, int(np.searchsorted(starts, cut, side="right")) - 1)]
        windows.append((cut - SHORTEST_BEAT * bar.beat, cut - TOLERANCE))
    if not windows:
        return notes
    return [
        n
        for n in notes
        if n.part in HELD_PARTS or n.voice in SUSTAINED_HARMONY or not any(lo <= n.time < hi for lo, hi in windows)
    ]


def _strengths(features: VideoFeatures) -> np.ndarray:
    strengths = np.asarray(features.event_strengths, np.float64)
    if strengths.size != np.asarray(features.event_times).size:
        return np.ones(np.asarray(features.event_times).size)
    return np.clip(strengths, 0.0, 1.0)
