"""Who leads a section's rhythm (grid.Section.lead), where its bars may play (timeline.articulated_positions),
and the break before a cut off the grid (accents.break_before_off_grid_cuts)."""

from __future__ import annotations

import numpy as np
import pytest
from composer_checks import frame_quantised_pulse, recall

from diffv2m.engines.composer.accents import break_before_off_grid_cuts
from diffv2m.engines.composer.grid import SHORTEST_BEAT, TOLERANCE, fit_grid
from diffv2m.engines.composer.timeline import POSITIONS, Bar, Note, build_bars, line_notes

HAPPY = (100.0, 118.0, 136.0)
FRAME = 1.0 / 25.0
DURATION = 16.0


def played(bars: list[Bar]) -> np.ndarray:
    """Every time a bar lets the band play on."""
    return np.array([t for bar in bars for p in range(POSITIONS) if (t := bar.position_time(p)) is not None])


def nearest(times: np.ndarray, marks: np.ndarray) -> np.ndarray:
    return np.min(np.abs(times[:, None] - marks[None, :]), axis=1)


@pytest.mark.parametrize("bpm", [120.0, 90.0])  # the beat is the pulse; the beat is 2/3 of it (135 BPM)
def test_a_strong_pulse_leads_and_the_band_plays_only_on_it(bpm):
    events = frame_quantised_pulse(bpm, DURATION, 0.3, 25.0)
    grid = fit_grid(events, np.ones(events.size), np.zeros(0), DURATION, HAPPY)
    assert [s.lead for s in grid.sections] == ["pulse"]
    times = played(build_bars(grid))
    assert nearest(times, events).max() <= TOLERANCE + FRAME  # nothing between the picture's pulses
    assert recall(events, times) >= 0.95  # and every pulse can be played


def test_a_slow_pulse_keeps_the_moods_beat_between_its_pulses():
    events = frame_quantised_pulse(60.0, DURATION, 0.3, 25.0)
    grid = fit_grid(events, np.ones(events.size), np.zeros(0), DURATION, HAPPY)
    assert grid.tempo == pytest.approx(120.0, rel=0.02) and grid.sections[0].lead == "pulse"
    times = played(build_bars(grid))
    assert nearest(times, grid.beats).max() < 1e-9  # beats only: no off-beat eighths
    assert recall(grid.beats, times) >= 0.95


def test_a_busy_picture_without_a_pulse_gets_a_half_time_groove():
    rng = np.random.default_rng(7)
    events = np.cumsum(rng.uniform(0.25, 1.2, 40))
    events = events[events < DURATION - 0.5]
    grid = fit_grid(events, np.ones(events.size), np.zeros(0), DURATION, HAPPY)
    assert [(s.lead, s.half_time) for s in grid.sections] == [("hits", True)]
    assert {bar.allowed for bar in build_bars(grid)} == {frozenset((0, 4))}


def test_slow_cuts_leave_the_rhythm_to_the_moods_groove():
    cuts = np.array([3.1, 6.6, 9.4])
    grid = fit_grid(cuts, np.ones(cuts.size), cuts, DURATION, HAPPY)
    assert {s.lead for s in grid.sections} == {"groove"}
    assert {bar.allowed for bar in build_bars(grid)} == {None}


def test_a_note_on_a_position_the_bar_forbids_enters_late():
    bar = Bar(0.0, np.array([0.0, 0.5, 1.0, 1.5]), 0, 0.5, 2, 0, 0, False, allowed=frozenset((3, 6)))
    assert bar.entry == 0.75  # a held chord changes on the first pulse of the bar
    assert line_notes(bar, "R-------") == [(0.75, 1.25, "R")]
    assert line_notes(bar, "R---F---") == [(0.75, 0.25, "R"), (1.5, 0.5, "F")]
    assert line_notes(bar, "R.......") == []  # nothing to enter on within the note: nothing plays


def test_the_groove_breaks_before_a_cut_off_the_grid_and_the_chords_ring_on():
    grid = fit_grid(np.zeros(0), np.zeros(0), np.zeros(0), 8.0, HAPPY)
    bars = build_bars(grid)
    lattice = played(bars)
    cut = float(lattice[12] + lattice[13]) / 2  # between two eighths: off the grid
    groove = [Note("kick", float(t), 0.0) for t in lattice] + [
        Note("bass_sub", float(t), 0.2, 40, part="bass") for t in lattice
    ]
    held = [Note("pad_warm", bars[1].start, 2.0, 60, part="bed")]
    kept = break_before_off_grid_cuts(groove + held, bars, np.array([cut]))
    window = (cut - SHORTEST_BEAT * grid.sections[0].beat, cut - TOLERANCE)
    dropped = [n for n in groove if window[0] <= n.time < window[1]]
    assert dropped and all(n not in kept for n in dropped)  # the band stops before the cut...
    assert held[0] in kept  # ...the chord rings on through it...
    assert len(kept) == len(groove) + 1 - len(dropped)  # ...and everything else plays
    on_grid = break_before_off_grid_cuts(groove, bars, np.array([float(lattice[12])]))
    assert on_grid == groove  # a cut on the grid is met by the groove itself
