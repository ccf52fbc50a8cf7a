"""Synthetic clips shared by the feature tests (made once per session, small and short)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from diffv2m.benchmark.videos import ClipSpec

RATES = {
    "24": (Fraction(24), False),
    "25": (Fraction(25), False),
    "29.97": (Fraction(30000, 1001), False),
    "60": (Fraction(60), False),
    "vfr30": (Fraction(30), True),
}
CUTS = [2.1, 4.55]


def event_times(seed: int, duration: float) -> list[float]:
    """Irregular events (0.35..0.9 s apart) so that no steady pulse can be guessed.

    None within 0.15 s of a cut: two moments one frame apart cannot both be
    resolved by a detector allowed to be one frame off.
    """
    rng = np.random.default_rng(seed)
    times = np.round(np.cumsum(rng.uniform(0.35, 0.9, 40)) + 0.2, 3)
    return [float(t) for t in times if t < duration - 0.3 and min(abs(t - c) for c in CUTS) > 0.15]


def spec_for(kind: str, rate: str, duration: float = 6.5, **extra: object) -> ClipSpec:
    fps, vfr = RATES[rate]
    seed = int(float(fps) * 7) + (1 if kind == "bounce" else 0)
    return ClipSpec(duration, fps, 320, 240, event_times(seed, duration), CUTS, kind, vfr=vfr, seed=seed, **extra)


def frame_indices(frame_times: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Index of the frame each time belongs to (times are frame starts, up to rounding)."""
    return np.searchsorted(frame_times, np.asarray(times) - 1e-6).astype(float)


@pytest.fixture(scope="session")
def make_clip(clip_factory):
    def make(kind: str, rate: str, **extra: object):
        name = f"{kind}-{rate}" + "".join(f"-{k}{v}" for k, v in sorted(extra.items()))
        return clip_factory(spec_for(kind, rate, **extra), name)

    return make
