"""How the score is played: humanised groove, exact cut hits, intensity from the picture's pace."""

from __future__ import annotations

import numpy as np
from composer_checks import make_features

from diffv2m.emotion import PRESETS
from diffv2m.engines.composer.arrangement import arrange
from diffv2m.engines.composer.grid import fit_grid
from diffv2m.engines.composer.performance import intensities
from diffv2m.engines.composer.style import choose_style
from diffv2m.engines.composer.timeline import build_bars


def score_for(cuts: list[float], duration: float = 20.0, seed: int = 2, swing: bool = False):
    features = make_features(np.asarray(cuts), duration, cuts=cuts)
    style = choose_style(PRESETS["happy"], 0 if not swing else 1)
    grid = fit_grid(
        features.event_times,
        features.event_strengths,
        features.cut_times,
        duration,
        (style.tempo_low, style.tempo_target, style.tempo_high),
    )
    return grid, style, arrange(grid, features, style, seed, duration)


def test_groove_is_humanised_and_cut_hits_are_exact():
    cuts = [3.1, 7.4, 12.2, 15.0]
    grid, style, score = score_for(cuts)
    lattice = np.unique(
        [t for bar in build_bars(grid, style.swing) for p in range(8) if (t := bar.position_time(p)) is not None]
    )
    cuts_array = np.asarray(cuts)
    for part in ("drums", "bass", "harmony", "melody"):
        times = np.array([n.time for n in score.notes if n.part == part and n.time > 0.0])
        off = np.array([t for t in times if np.min(np.abs(cuts_array - t)) > 0.005])
        deviation = np.min(np.abs(off[:, None] - lattice[None, :]), axis=1)
        assert 0.003 <= deviation.std() and deviation.max() <= 0.0151, (part, deviation.std(), deviation.max())
        velocities = [n.velocity for n in score.notes if n.part == part]
        assert len(set(np.round(velocities, 3))) > 5, part  # no fixed velocity per part
    for cut in cuts:  # every cut has a hit exactly on it
        assert min(abs(n.time - cut) for n in score.notes if n.voice in ("kick", "crash")) <= 0.005


def test_fast_cutting_is_more_intense_than_slow_shots():
    cuts = [8.0, 12.0, 13.0, 13.8, 14.6, 15.3, 16.0, 16.7]
    grid, _, score = score_for(cuts)
    values = intensities(grid, make_features(np.asarray(cuts), 20.0, cuts=cuts))
    assert values[0] < 0.3 and max(values[-4:]) > 0.7, values
    assert score.levels[0] < max(score.levels[-4:])
