"""Tempo ramps: a tempo change eased in over a bar instead of a step at the cut.

A section without a visual pulse is anchored on the cut that starts it and lands on the
cut that ends it (grid.cut_beats). When its tempo differs from the previous section's,
its first RAMP_BEATS beats now move gradually from the previous beat to its own, and the
rest of the section takes up the difference, so it still lands on its closing cut. A
section with a pulse keeps its beats: those sit on the picture's events.
"""

from __future__ import annotations

import itertools

import numpy as np

from .grid import MAX_STEP, SLACK, TOLERANCE, Section

RAMP_BEATS = 4  # a bar
MIN_CHANGE = 0.03  # tempo changes smaller than this are left as they are


def ramp_tempo_changes(sections: list[Section], low: float, high: float) -> None:
    """Ease every tempo change into a pulse-less section over its first bar, in place (module docstring);
    every beat stays inside [low, high] BPM (with grid.SLACK)."""
    for before, after in itertools.pairwise(sections):
        ramp_into(before.beat, after, low, high)


def ramp_into(previous: float, section: Section, low: float, high: float) -> None:
    beats = section.beats
    count = beats.size  # beats, and as many intervals up to the closing cut
    if section.pulse is not None or count < 3 or abs(beats[0] - section.start) > TOLERANCE:
        return
    if abs(beats[-1] + section.beat - section.end) > 1e-6 or abs(previous / section.beat - 1.0) < MIN_CHANGE:
        return  # the grid does not land on a closing cut, or there is nothing to ease
    # Over at most half the section: the settled beat then moves away from the section's own by at most
    # a third of the change (it takes up what the ramp's beats gave or took).
    steps = min(RAMP_BEATS, count // 2)
    span = section.end - beats[0]
    # Intervals previous -> settled over `steps` beats, then settled: their sum is the span.
    settled = (span - previous * steps / 2) / (count - steps / 2)
    intervals = np.concatenate(
        [previous + (settled - previous) * np.arange(1, steps + 1) / (steps + 1), np.full(count - steps, settled)]
    )
    if not (60.0 / (high * SLACK) <= intervals.min() and intervals.max() <= SLACK * 60.0 / low):
        return
    if _ratio(settled, previous) > max(MAX_STEP, _ratio(section.beat, previous)):
        return  # the neighbours' tempi would then lie further apart than grid.MAX_STEP allows
    downbeat = np.flatnonzero(np.isin(beats, section.downbeats))
    offset = int(downbeat[0]) if downbeat.size else 0
    section.beats = beats[0] + np.concatenate([[0.0], np.cumsum(intervals[:-1])])
    section.downbeats = section.beats[offset::4]
    section.beat = float(settled)


def _ratio(a: float, b: float) -> float:
    return max(a, b) / min(a, b)
