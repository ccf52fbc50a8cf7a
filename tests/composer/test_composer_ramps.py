"""Tempo ramps (ramps.py): a tempo change between pulse-less sections eases in over a bar and still
lands on the closing cut; sections on a visual pulse keep their beats."""

from __future__ import annotations

import copy

import numpy as np
from composer_checks import frame_quantised_pulse

from diffv2m.engines.composer.grid import TOLERANCE, fit_grid
from diffv2m.engines.composer.ramps import RAMP_BEATS, ramp_tempo_changes

CALM = (60.0, 76.0, 92.0)
CUTS = np.array([4.0, 6.6, 9.5, 12.0, 15.3])
DURATION = 18.0


def test_a_tempo_change_eases_in_and_still_lands_on_the_cuts():
    grid = fit_grid(CUTS, np.ones(CUTS.size), CUTS, DURATION, CALM)
    stepped = copy.deepcopy(grid.sections)
    ramp_tempo_changes(grid.sections, CALM[0], CALM[2])
    changed = [
        k for k, (a, b) in enumerate(zip(stepped, grid.sections, strict=True)) if not np.allclose(a.beats, b.beats)
    ]
    assert changed  # the slow cuts give the sections different tempi
    for section, cut in zip(grid.sections[1:], CUTS, strict=False):
        assert abs(section.beats[0] - cut) <= TOLERANCE and section.downbeats[0] == section.beats[0]
    beats = np.concatenate([s.beats for s in grid.sections])
    assert np.min(np.abs(beats[:, None] - CUTS[None, :]), axis=0).max() <= TOLERANCE  # every cut on a beat
    tempi = np.concatenate([60.0 / np.diff(s.beats) for s in grid.sections])  # a held beat into a cut aside
    assert tempi.min() >= CALM[0] / 1.011 and tempi.max() <= CALM[2] * 1.011
    for k in changed:  # beat to beat the change is gentler than the step it replaces, and monotonic
        jump = abs(np.log(stepped[k].beat / stepped[k - 1].beat))
        intervals = np.diff(grid.sections[k].beats)
        ramp = np.log(np.concatenate([[intervals[0] / grid.sections[k - 1].beat], intervals[1:] / intervals[:-1]]))
        assert np.abs(ramp).max() < 0.7 * jump, (k, ramp, jump)  # split over two beats at least
        assert np.all(ramp[: RAMP_BEATS + 1] * np.sign(ramp[0]) >= -1e-9)


def test_sections_on_a_visual_pulse_keep_their_beats():
    events = frame_quantised_pulse(72.0, DURATION, 0.3, 25.0)
    grid = fit_grid(events, np.ones(events.size), np.array([9.0]), DURATION, CALM)
    before = [s.beats.copy() for s in grid.sections]
    ramp_tempo_changes(grid.sections, CALM[0], CALM[2])
    assert all(np.array_equal(a, s.beats) for a, s in zip(before, grid.sections, strict=True))
