"""The beat grid fitted to visual events (unit level: event lists in, beats out)."""

from __future__ import annotations

import numpy as np
import pytest
from composer_checks import frame_quantised_pulse, recall

from diffv2m.engines.composer.grid import fit_grid, split_sections

HAPPY = (100.0, 118.0, 136.0)
CALM = (60.0, 76.0, 92.0)


@pytest.mark.parametrize("fps", [24.0, 25.0, 30000 / 1001, 50.0])
@pytest.mark.parametrize("bpm", [70.0, 84.0, 101.0, 120.0, 137.0, 155.0, 170.0])
def test_beats_meet_frame_quantised_pulse(bpm, fps):
    rng = np.random.default_rng(int(bpm * fps))
    events = frame_quantised_pulse(bpm, 24.0, rng.uniform(0, 60 / bpm), fps)
    grid = fit_grid(events, np.ones(events.size), np.array([9.3, 16.1]), 24.0, HAPPY)
    assert recall(events, grid.beats) == 1.0
    for section in grid.sections:
        # The beat is the visual pulse or half of it, never anything else.
        ratio = (60.0 / bpm) / section.beat
        assert min(abs(ratio - 1.0), abs(ratio - 2.0)) < 0.01, section.tempo
    assert np.all(np.diff(grid.beats) > 0.2)


def test_mood_picks_the_octave_but_every_event_stays_on_a_beat():
    events = frame_quantised_pulse(70.0, 20.0, 0.31, 25.0)
    happy = fit_grid(events, np.ones(events.size), np.zeros(0), 20.0, HAPPY)
    calm = fit_grid(events, np.ones(events.size), np.zeros(0), 20.0, CALM)
    assert happy.tempo == pytest.approx(140.0, rel=0.01)
    assert calm.tempo == pytest.approx(70.0, rel=0.01)
    assert recall(events, happy.beats) == recall(events, calm.beats) == 1.0


def test_tempo_changes_at_a_cut_and_the_bar_restarts_on_it():
    first = np.arange(0.4, 10.0, 60 / 90)
    second = 10.0 + np.arange(0.0, 10.0, 60 / 128)
    events = np.concatenate([first, second])
    grid = fit_grid(events, np.ones(events.size), np.array([10.0]), 20.0, HAPPY)
    assert [round(s.tempo) for s in grid.sections] == [90, 128]
    assert recall(events, grid.beats) == 1.0
    assert np.min(np.abs(grid.downbeats - 10.0)) < 0.01  # the cut lands on a downbeat


def test_strong_events_choose_the_bar_lines():
    events = np.arange(0.5, 16.0, 0.5)
    strengths = np.where(np.arange(events.size) % 4 == 2, 1.0, 0.3)  # accents every 4th, starting at the 3rd
    grid = fit_grid(events, strengths, np.zeros(0), 16.0, HAPPY)
    assert np.allclose(grid.downbeats[:3], events[2::4][:3], atol=0.01)


def test_no_events_gives_a_steady_grid_at_the_mood_tempo():
    grid = fit_grid(np.zeros(0), np.zeros(0), np.zeros(0), 12.0, CALM)
    assert grid.tempo == pytest.approx(76.0, rel=0.01)
    assert np.allclose(np.diff(grid.beats), 60 / 76, atol=1e-6)
    assert grid.beats[0] == 0.0 and grid.beats[-1] < 12.0


def test_shots_without_a_pulse_keep_the_neighbours_tempo():
    events = np.arange(0.3, 8.0, 0.5)  # 120 BPM in the first shot, nothing after the cut
    grid = fit_grid(events, np.ones(events.size), np.array([8.0]), 16.0, HAPPY)
    assert [round(s.tempo) for s in grid.sections] == [120, 120]
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


def test_short_shots_do_not_split_the_grid():
    assert split_sections(np.array([0.5, 3.0, 3.8, 9.0, 11.5]), 12.0) == [(0.0, 3.0), (3.0, 9.0), (9.0, 12.0)]
