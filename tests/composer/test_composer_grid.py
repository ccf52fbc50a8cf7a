"""The beat grid fitted to visual events (unit level: event lists in, beats out)."""

from __future__ import annotations

import numpy as np
import pytest
from composer_checks import frame_quantised_pulse, recall

from diffv2m.engines.composer.grid import BeatGrid, cut_beats, fit_grid, split_sections

HAPPY = (100.0, 118.0, 136.0)
CALM = (60.0, 76.0, 92.0)
SAD = (58.0, 70.0, 84.0)


def lattice(grid: BeatGrid) -> np.ndarray:
    """Every time the arrangement may play on: beats, and their eighths where the section allows them."""
    points = [s.beats + k * s.beat / 2 for s in grid.sections for k in range(s.steps)]
    return np.sort(np.concatenate(points))


def in_range(grid: BeatGrid, tempo: tuple[float, float, float]) -> bool:
    return all(tempo[0] / 1.011 <= s.tempo <= tempo[2] * 1.011 for s in grid.sections)


@pytest.mark.parametrize("fps", [24.0, 25.0, 30000 / 1001, 50.0])
@pytest.mark.parametrize("bpm", [70.0, 84.0, 101.0, 120.0, 131.0])
def test_pulse_stays_on_the_lattice_at_a_tempo_inside_the_range(bpm, fps):
    rng = np.random.default_rng(int(bpm * fps))
    events = frame_quantised_pulse(bpm, 24.0, rng.uniform(0, 60 / bpm), fps)
    grid = fit_grid(events, np.ones(events.size), np.array([9.3, 16.1]), 24.0, HAPPY)
    assert in_range(grid, HAPPY), [s.tempo for s in grid.sections]
    assert recall(events, lattice(grid)) >= 0.95  # a beat crowding a cut may give way to a held one
    for section in grid.sections:  # the beat is a simple ratio of the visual pulse
        ratio = section.tempo / bpm
        assert min(abs(ratio - r) for r in (0.5, 1.0, 1.5, 2.0, 3.0)) < 0.01, section.tempo


def test_pulse_that_fits_no_ratio_gives_way_to_the_mood():
    events = frame_quantised_pulse(155.0, 20.0, 0.2, 25.0)  # 77.5 / 155 / 232 BPM: none inside 100..136
    grid = fit_grid(events, np.ones(events.size), np.zeros(0), 20.0, HAPPY)
    assert in_range(grid, HAPPY)


def test_mood_picks_the_ratio():
    events = frame_quantised_pulse(70.0, 20.0, 0.31, 25.0)
    happy = fit_grid(events, np.ones(events.size), np.zeros(0), 20.0, HAPPY)
    calm = fit_grid(events, np.ones(events.size), np.zeros(0), 20.0, CALM)
    assert happy.tempo == pytest.approx(105.0, rel=0.01)
    assert calm.tempo == pytest.approx(70.0, rel=0.01)
    assert recall(events, lattice(happy)) == recall(events, calm.beats) == 1.0


def test_tempo_changes_at_a_cut_and_the_bar_restarts_on_it():
    first = np.arange(0.4, 10.0, 60 / 110)
    second = 10.0 + np.arange(0.0, 10.0, 60 / 128)
    events = np.concatenate([first, second])
    grid = fit_grid(events, np.ones(events.size), np.array([10.0]), 20.0, HAPPY)
    assert [round(s.tempo) for s in grid.sections] == [110, 128]
    assert recall(events, grid.beats) >= 0.95
    assert np.min(np.abs(grid.downbeats - 10.0)) < 0.01  # the cut lands on a downbeat


@pytest.mark.parametrize("tempo", [HAPPY, CALM, SAD])
def test_cuts_without_a_pulse_land_on_downbeats_and_no_beat_is_short(tempo):
    cuts = np.array([2.3, 5.9, 8.1, 11.7, 13.2, 16.6, 18.0, 19.1, 20.0])  # irregular, accelerating at the end
    grid = fit_grid(cuts, np.ones(cuts.size), cuts, 22.0, tempo)
    assert in_range(grid, tempo), [round(s.tempo) for s in grid.sections]
    assert recall(cuts, grid.downbeats, window=0.07) >= 0.8
    intervals = np.diff(grid.beats)
    assert intervals.min() >= 0.7 * np.median(intervals)
    for a, b in zip(grid.sections, grid.sections[1:], strict=False):  # gentle steps between short sections
        span = b.end - b.start
        gentle = [60 * h / 2 / span for h in range(2, 200)]  # tempi that would land b on its cuts
        gentle = [t for t in gentle if tempo[0] <= t <= tempo[2] and max(t, a.tempo) / min(t, a.tempo) <= 1.15]
        if gentle and b.end < 22.0:
            assert max(a.tempo, b.tempo) / min(a.tempo, b.tempo) <= 1.16


def test_cut_beats_lands_the_grid_on_the_next_cut():
    assert cut_beats(2.0, *HAPPY) == 4.0  # 120 BPM
    count = cut_beats(1.3, *SAD)  # 1.3 s at 58..84 BPM: only a held half beat fits
    assert count * 2 == int(count * 2) and 58 / 1.01 <= 60 * count / 1.3 <= 84 * 1.01


def test_no_events_gives_a_steady_grid_at_the_mood_tempo():
    grid = fit_grid(np.zeros(0), np.zeros(0), np.zeros(0), 12.0, CALM)
    assert grid.tempo == pytest.approx(76.0, rel=0.01)
    assert np.allclose(np.diff(grid.beats), 60 / 76, atol=1e-6)
    assert grid.beats[0] == 0.0 and grid.beats[-1] < 12.0


def test_shots_without_a_pulse_keep_the_neighbours_tempo():
    events = np.arange(0.3, 8.0, 0.5)  # 120 BPM in the first shot, nothing after the cut
    grid = fit_grid(events, np.ones(events.size), np.array([8.0]), 16.0, HAPPY)
    first, second = (s.tempo for s in grid.sections)
    assert round(first) == 120 and abs(second / first - 1.0) <= 0.02
    assert grid.beats[-1] > 15.0


def test_long_steady_pulse_does_not_drift():
    events = frame_quantised_pulse(123.4, 600.0, 0.2, 25.0)
    grid = fit_grid(events, np.ones(events.size), np.zeros(0), 600.0, HAPPY)
    assert recall(events, grid.beats, window=0.035) == 1.0


def test_irregular_events_still_give_an_ordered_grid():
    rng = np.random.default_rng(3)
    events = np.sort(rng.uniform(0, 30, 40))
    grid = fit_grid(events, rng.uniform(0.2, 1.0, 40), np.array([11.0, 19.5]), 30.0, HAPPY)
    beats = grid.beats
    assert beats.size > 20 and np.all(np.diff(beats) > 0) and beats[0] >= 0 and beats[-1] < 30.0
    assert set(grid.downbeats) <= set(beats)
    assert in_range(grid, HAPPY)


def test_very_short_shots_do_not_split_the_grid():
    # 3.0 -> 3.8 and 11.5 -> 12.0 are under a second: they join their neighbour.
    assert split_sections(np.array([0.5, 3.0, 3.8, 9.0, 11.5]), 12.0) == [(0.0, 3.0), (3.0, 9.0), (9.0, 12.0)]
