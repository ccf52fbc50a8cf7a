"""Visual rhythm: the frame-difference curve at native frame rate and its events.

The curve (``rhythm_curve``) is the paper's "visual rhythm curve": the mean
absolute RGB difference between consecutive frames (0..1). Events ("visual
beats") are picked from two novelty signals computed alongside it, because a
plain difference curve peaks on *sustained* motion, not on the moments an
editor would cut music to:

* onset: a sudden rise of the change rate (flashes, cuts, things appearing);
* impact: a sudden reversal of motion (a ball hitting the floor, a stomp).
  Motion is measured from the difference image itself: the centroid of pixels
  that brightened minus the centroid of pixels that darkened is the displacement
  of the moving thing, even when it moves farther than its own size per frame
  (where optical flow fails); weighting by the changed area makes it a momentum.
  An impact scores the momentum change where the motion turns back: large for
  an impact, small for the smooth turn at the top of a throw.

Both are rates per second (frame differences divided by the frame's duration),
so variable frame rate does not fake events. Peaks are local maxima that stand
out from the mean of the surrounding second by a fraction of the surrounding
10-second maximum (librosa-style adaptive peak picking).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.ndimage import maximum_filter1d, uniform_filter1d

from .steps import StepMeans, max_per_step

_NOISE_LEVEL = 8.0  # grey levels: smaller changes are sensor/compression noise
_MIN_MOVING_MASS = 0.001  # fraction of the frame x full scale that must change to measure motion
_ONSET_FLOOR = 0.1  # change rate per second (0..1 units): smaller rises are not onsets
_IMPACT_FLOOR = 1e-3  # momentum change: widths/s x share of the frame


class RhythmAnalyser:
    """Feed frames in time order; ``result`` gives the curve, events and per-step streams."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.difference: list[float] = []  # mean |RGB change| (0..1) from the previous frame
        self.velocity: list[tuple[float, float]] = []  # moving-thing momentum: widths/s x share of the frame
        self._previous: tuple[np.ndarray, np.ndarray] | None = None
        self._grid: tuple[np.ndarray, np.ndarray] | None = None

    def add(self, time: float, image: np.ndarray) -> None:
        rgb = image.astype(np.float32)
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        if self._previous is None or self._previous[0].shape != rgb.shape:
            self._grid = tuple(np.mgrid[0 : grey.shape[0], 0 : grey.shape[1]].astype(np.float32))
            self._append(time, 0.0, (0.0, 0.0))
            self._previous = (rgb, grey)
            return
        dt = max(time - self.times[-1], 1e-6)
        previous_rgb, previous_grey = self._previous
        difference = float(np.abs(rgb - previous_rgb).mean()) / 255.0
        self._append(time, difference, self._displacement(grey - previous_grey, dt))
        self._previous = (rgb, grey)

    def _append(self, time: float, difference: float, velocity: tuple[float, float]) -> None:
        self.times.append(time)
        self.difference.append(difference)
        self.velocity.append(velocity)

    def _displacement(self, change: np.ndarray, dt: float) -> tuple[float, float]:
        brighter = np.maximum(change - _NOISE_LEVEL, 0.0)
        darker = np.maximum(-change - _NOISE_LEVEL, 0.0)
        gained, lost = float(brighter.sum()), float(darker.sum())
        # Motion moves pixels: as much brightens as darkens. A flash or a fade does not.
        if min(gained, lost) < max(0.3 * max(gained, lost), _MIN_MOVING_MASS * 255.0 * change.size):
            return 0.0, 0.0
        ys, xs = self._grid
        # First moment of the change: for a moving thing it equals its displacement times its
        # contrast mass, whether or not it overlaps its previous position (centroids alone would
        # read a small overlapping step as a step of about its radius).
        scale = 255.0 * change.size * change.shape[1] * dt
        dx = float((brighter * xs).sum() - (darker * xs).sum()) / scale
        dy = float((brighter * ys).sum() - (darker * ys).sum()) / scale
        return dx, dy

    def result(self, steps: int, rate: float, sensitivity: float, cut_times: np.ndarray) -> RhythmResult:
        """Curve, events and per-step streams; cuts (from ``cuts.CutDetector``) are events too."""
        times = np.asarray(self.times, np.float64)
        curve = np.asarray(self.difference, np.float32)
        motion = StepMeans(steps, rate)
        for time, value in zip(times, curve, strict=True):
            motion.add(time, value)
        events, strengths = self._events(times, curve, sensitivity, np.searchsorted(times, cut_times - 1e-6))
        return RhythmResult(
            frame_times=times,
            curve=curve,
            event_times=times[events],
            event_strengths=strengths,
            visual_beat=max_per_step(times[events], strengths, rate, steps),
            motion=motion.means()[:, 0].astype(np.float32),
        )

    def _events(
        self, times: np.ndarray, curve: np.ndarray, sensitivity: float, cut_frames: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        cuts = {int(index) for index in cut_frames if index < times.size}
        if times.size < 3:
            return np.asarray(sorted(cuts), np.int64), np.ones(len(cuts), np.float32)
        durations = np.diff(times, prepend=times[0] - np.median(np.diff(times)))
        change_rate = curve / np.maximum(durations, 1e-6)
        onset = np.maximum(np.diff(change_rate, prepend=change_rate[0]), 0.0)
        impact = _reversal(np.asarray(self.velocity, np.float64))
        period = float(np.median(np.diff(times)))
        scores: dict[int, float] = {}
        for novelty, floor in ((onset, _ONSET_FLOOR), (impact, _IMPACT_FLOOR)):
            peaks = _pick_peaks(novelty, period, sensitivity, floor)
            scale = float(novelty.max()) or 1.0
            for index in peaks:
                scores[int(index)] = max(scores.get(int(index), 0.0), float(novelty[index]) / scale)
        for index in cuts:
            scores[index] = 1.0  # a cut is as strong a visual beat as there is
        return _merge_adjacent(scores, cuts)


@dataclass
class RhythmResult:
    frame_times: np.ndarray  # (N,) seconds
    curve: np.ndarray  # (N,) visual rhythm curve
    event_times: np.ndarray  # (K,) seconds
    event_strengths: np.ndarray  # (K,) 0..1
    visual_beat: np.ndarray  # (T,) strongest event per step
    motion: np.ndarray  # (T,) mean frame difference per step


def _reversal(velocity: np.ndarray) -> np.ndarray:
    """Impact score per frame: the momentum change across it, where motion turns back.

    |v_after - v_before| is the impulse of an impact; at the top of a throw the
    motion also turns, but smoothly, so across a frame or two it changes little.
    """

    def turned(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        speed_a, speed_b = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
        cosine = (a * b).sum(axis=1) / np.maximum(speed_a * speed_b, 1e-12)
        return np.linalg.norm(b - a, axis=1) * np.maximum(-cosine, 0.0)

    before = np.vstack([velocity[:1], velocity[:-1]])
    after = np.vstack([velocity[1:], velocity[-1:]])
    # The frame straddling an impact can show almost no net motion: compare across it too.
    return np.maximum(turned(before, velocity), turned(before, after))


def _pick_peaks(novelty: np.ndarray, period: float, sensitivity: float, floor: float) -> np.ndarray:
    def window(seconds: float) -> int:
        return max(3, round(seconds / period) | 1)

    padded = np.concatenate([[-np.inf], novelty, [-np.inf]])
    is_peak = (novelty > padded[:-2]) & (novelty >= padded[2:])
    threshold = uniform_filter1d(novelty, window(1.0)) + sensitivity * maximum_filter1d(novelty, window(10.0))
    return np.flatnonzero(is_peak & (novelty >= threshold) & (novelty >= floor))


def _merge_adjacent(scores: dict[int, float], cuts: set[int]) -> tuple[np.ndarray, np.ndarray]:
    """One event per moment: of peaks on neighbouring frames keep the stronger (a bounce shows as an
    impact on one frame and an onset on the next), unless one of them is a cut: then both happened."""
    kept: list[int] = []
    for index in sorted(scores):
        if kept and index - kept[-1] <= 1 and index not in cuts and kept[-1] not in cuts:
            if scores[index] > scores[kept[-1]]:
                kept[-1] = index
            continue
        kept.append(index)
    return np.asarray(kept, np.int64), np.asarray([min(scores[i], 1.0) for i in kept], np.float32)
