"""How the score is played: a dynamics arc that follows the picture, and a human touch.

Intensity (0..1) per section comes from the picture's pace: how often it cuts
around the section and how much it moves compared with the clip as a whole.
It sets the arrangement level (how many layers play) and a gain curve over
time: constant inside a section, a crescendo over the last bars into a more
intense section (the build into fast cutting), a drop into a calmer one (room
to breathe on slow shots), and a swell over each four-bar phrase.

Humanising: every moment of the groove moves by a few milliseconds (the band
together, each part a little around it) and every velocity varies; the hits
that mark cuts stay exact, and the accents on the picture's events are not moved.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ...features.types import VideoFeatures
from .grid import BeatGrid
from .timeline import Bar, Note

BUSY_CUT_RATE = 0.6  # cuts per second that count as the fastest cutting
QUIET_GAIN, LOUD_GAIN = 0.25, 1.0  # velocity scale at intensity 0 and 1 (0.35 left the accelerating clip under 5 LU)
BUILD_BARS = 2  # bars of crescendo into a more intense section
PHRASE_SWELL = (0.92, 0.97, 1.03, 1.0)  # velocity scale of the four bars of a phrase
# Timing spread per part (seconds, one standard deviation; clipped at MAX_SHIFT) and velocity spread.
TIMING = {"drums": 0.002, "bass": 0.003, "bed": 0.005, "harmony": 0.004, "melody": 0.004, "stabs": 0.0, "fx": 0.0}
MOMENT_SPREAD = 0.007
MAX_SHIFT = 0.015
VELOCITY_SPREAD = 0.07
EXACT = 0.005  # notes this close to a cut are the cut's hits: never moved


def intensities(grid: BeatGrid, features: VideoFeatures) -> list[float]:
    """0..1 per section: cut rate (within a second either side) and motion relative to the clip's median."""
    cuts = np.asarray(features.cut_times, np.float64)
    motion = np.asarray(features.motion, np.float64)
    typical = float(np.median(motion)) if motion.size else 0.0
    values = []
    for section in grid.sections:
        lo, hi = section.start - 1.0, section.end + 1.0
        rate = np.count_nonzero((cuts > lo) & (cuts < hi)) / (hi - lo)
        first = int(section.start * features.rate)
        local = motion[first : max(first + 1, int(np.ceil(section.end * features.rate)))]
        moving = float(local.mean()) / typical if local.size and typical > 0 else 1.0
        pace = min(1.0, rate / BUSY_CUT_RATE)
        values.append(float(np.clip(0.65 * pace + 0.35 * np.clip((moving - 0.5) / 1.0, 0.0, 1.0), 0.0, 1.0)))
    return values


def levels_for(values: list[float], base: int) -> list[int]:
    """Arrangement density 1..3: the mood's base level moved by the section's intensity."""
    return [int(np.clip(round(base + 2.5 * (v - 0.4)), 1, 3)) for v in values]


def gain_curve(bars: list[Bar], grid: BeatGrid, values: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """(times, gains) knots of the velocity scale; linear between knots."""
    gains = [QUIET_GAIN + (LOUD_GAIN - QUIET_GAIN) * v for v in values]
    times: list[float] = []
    scale: list[float] = []
    for index, section in enumerate(grid.sections):
        own = gains[index]
        section_bars = [b for b in bars if b.section == index and b.index >= 0]
        for bar in section_bars:
            times.append(bar.start)
            scale.append(own * PHRASE_SWELL[bar.index % 4])
        if index + 1 < len(grid.sections) and gains[index + 1] > own and section_bars:
            build_from = section_bars[max(0, len(section_bars) - BUILD_BARS)].start
            times += [build_from + 1e-3, section.end - 1e-3]
            scale += [own, gains[index + 1]]
        elif section_bars:
            times.append(section.end - 1e-3)
            scale.append(own)
    if not times:
        return np.array([0.0]), np.array([1.0])
    order = np.argsort(times, kind="stable")
    return np.asarray(times)[order], np.asarray(scale)[order]


def play(
    notes: list[Note], curve: tuple[np.ndarray, np.ndarray], cuts: np.ndarray, seed: int, anchors: set[float]
) -> list[Note]:
    """Apply the gain curve and the human touch (module docstring); cut hits keep their time, and so
    does every moment in ``anchors`` (times of the accents on the picture's events)."""
    rng = np.random.default_rng([seed, 0x4A7])
    cuts = np.sort(np.asarray(cuts, np.float64))
    # The band moves together: one shift per moment of the score (what the listener hears as the
    # beat's timing), and a small spread of each part around it (so one beat never splits in two).
    fixed = {round(t, 4) for t in anchors}
    moments = {
        t: 0.0 if t in fixed else float(rng.normal(0.0, MOMENT_SPREAD))
        for t in sorted({round(n.time, 4) for n in notes})
    }
    played = []
    for note in notes:
        gain = float(np.interp(note.time, *curve))
        near = cuts[np.clip(np.searchsorted(cuts, note.time), 0, max(cuts.size - 1, 0))] if cuts.size else np.inf
        on_cut = abs(near - note.time) <= EXACT or (
            cuts.size > 0 and abs(cuts[max(0, np.searchsorted(cuts, note.time) - 1)] - note.time) <= EXACT
        )
        spread = TIMING.get(note.part, 0.0)
        moment = round(note.time, 4)
        shift = moments[moment] + rng.normal(0.0, spread) if spread and moment not in fixed else 0.0
        shift = 0.0 if on_cut or note.time < 0 else float(np.clip(shift, -MAX_SHIFT, MAX_SHIFT))
        velocity = note.velocity * gain * (1.0 if on_cut else float(np.exp(rng.normal(0.0, VELOCITY_SPREAD))))
        played.append(replace(note, time=note.time + shift, velocity=float(np.clip(velocity, 0.02, 1.0))))
    return played


def release_tail(audio: np.ndarray, seconds: float, rate: int) -> np.ndarray:
    """Fade the last ``seconds`` to silence (raised cosine), in place: the room's tail of the last hits
    dies by the last frame instead of being cut. Returns ``audio``."""
    size = min(audio.shape[-1], round(seconds * rate))
    if size > 1:
        audio[..., -size:] *= (0.5 + 0.5 * np.cos(np.linspace(0.0, np.pi, size))).astype(audio.dtype)
    return audio
