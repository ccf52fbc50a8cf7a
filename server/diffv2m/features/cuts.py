"""Scene cuts: PySceneDetect's AdaptiveDetector, fed our frames, plus a flash filter.

AdaptiveDetector (PySceneDetect, the tool Diff-V2M used) scores the HSV
difference between consecutive frames (ContentDetector's score) and reports a
cut where that score is both over ``min_content_val`` and several times the
score of the frames around it, which keeps camera motion from firing. A camera
flash, lightning or a muzzle flash passes too, then the picture returns to what
it was; a real cut does not. So every candidate is confirmed only if the picture
``persistence`` seconds later still differs from the frame before the candidate,
and the cut is placed on the frame where the old look ends: a flash just before
a cut, or on the cut frame itself, does not move it.
"""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np
from scenedetect import FrameTimecode
from scenedetect.detectors import AdaptiveDetector

from .steps import num_steps, step_of

_ADAPTIVE_RATIO = 3.0  # PySceneDetect's default: score / mean score of 2 frames either side
_WINDOW = 2
_CONFIRM_FRACTION = 0.5  # of min_content_val: how different the picture must stay
_DRIFT_FACTOR = 1.0  # ...beyond the change motion made over as long a span before it


def _hsv(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2HSV)


def content_distance(hsv_a: np.ndarray, hsv_b: np.ndarray) -> float:
    """ContentDetector's score between two HSV frames: mean |difference| of H, S and V, averaged."""
    return sum(cv2.mean(cv2.absdiff(hsv_a, hsv_b))[:3]) / 3.0


class _Transition:
    """A candidate cut: the frame before it and the frames from it until it is judged."""

    def __init__(self, before: np.ndarray, frames: list[tuple[float, np.ndarray]], drift: float) -> None:
        self.before, self.frames = before, frames
        self.start = frames[0][0]
        self.drift = drift  # how much the look changed over the same span before it (motion)

    def late_frames(self) -> list[np.ndarray]:
        """The second half of the frames: by then a flash has faded, a cut has not."""
        middle = self.start + 0.5 * (self.frames[-1][0] - self.start)
        return [hsv for time, hsv in self.frames if time >= middle]

    def persists(self, distance: float) -> bool:
        """A cut if no late frame looks like the frame before the transition, beyond what motion
        alone changed over as long a time just before it."""
        closest = min(content_distance(self.before, hsv) for hsv in self.late_frames())
        return closest >= distance + _DRIFT_FACTOR * self.drift

    def cut_time(self, distance: float) -> float:
        """The frame where the old look ends: before it frames resemble the old shot, from it the new.

        A flash just before a cut, or on the cut frame itself, makes one transition;
        this finds the cut inside it. The new look is every late frame unlike the old
        shot (a late frame may be the start of the next flash, so each frame is
        compared with the late frame most like it).
        """
        late = self.late_frames()
        new_look = [hsv for hsv in late if content_distance(self.before, hsv) >= distance] or late
        to_before = np.array([content_distance(hsv, self.before) for _, hsv in self.frames])
        to_after = np.array([min(content_distance(hsv, new) for new in new_look) for _, hsv in self.frames])
        costs = [to_before[:split].sum() + to_after[split:].sum() for split in range(len(self.frames))]
        return self.frames[int(np.argmin(costs))][0]

    def reopened_at(self, time: float) -> _Transition | None:
        """The transition of a later candidate inside this one's frames."""
        index = next((i for i, (t, _) in enumerate(self.frames) if t >= time), None)
        before = self.before if index == 0 else self.frames[index - 1][1] if index else None
        return _Transition(before, self.frames[index:], self.drift) if index is not None else None


class CutDetector:
    """Feed frames in time order; ``cut_times`` are the first frames of new shots."""

    def __init__(self, min_content: float = 15.0, persistence: float = 0.3, fps: float = 25.0) -> None:
        self._detector = AdaptiveDetector(
            adaptive_threshold=_ADAPTIVE_RATIO, min_scene_len=0, window_width=_WINDOW, min_content_val=min_content
        )
        self._fps = float(fps)
        self._confirm_distance = _CONFIRM_FRACTION * min_content
        self._persistence = persistence
        self._index = 0
        # Recent frames by index: the detector answers about the frame _WINDOW frames back, and
        # the look ``persistence`` seconds before a candidate measures the motion.
        self._recent: deque[tuple[int, float, np.ndarray]] = deque()
        self._open: _Transition | None = None
        self._queued: list[float] = []  # candidates found while a transition was being watched
        self._cuts: list[float] = []

    def add(self, time: float, image: np.ndarray) -> None:
        hsv = _hsv(image)
        self._recent.append((self._index, time, hsv))
        while (
            len(self._recent) > _WINDOW + 2
            and self._recent[1][1] < time - 2 * self._persistence - 4 * _WINDOW / self._fps
        ):
            self._recent.popleft()
        bgr = np.ascontiguousarray(image[:, :, ::-1])
        for found in self._detector.process_frame(FrameTimecode(self._index, self._fps), bgr):
            self._candidate(found.frame_num)
        if self._open is not None and self._open.frames[-1][0] < time:
            self._open.frames.append((time, hsv))
        while self._open is not None and time >= self._open.start + self._persistence:
            self._judge()
        self._index += 1

    def _candidate(self, index: int) -> None:
        frames = [(time, hsv) for i, time, hsv in self._recent if i >= index]
        before = [(time, hsv) for i, time, hsv in self._recent if i == index - 1]
        if self._open is not None:
            self._queued.append(frames[0][0])
        elif before and frames:
            before_time, before_hsv = before[0]
            # Motion: the smallest change from a frame half the persistence or more before it
            # (the late frames it is compared with are as far after); the smallest, so that a
            # flash among those frames does not count as motion.
            earlier = [hsv for _, time, hsv in self._recent if time <= before_time - 0.5 * self._persistence]
            drift = min((content_distance(hsv, before_hsv) for hsv in earlier), default=0.0)
            self._open = _Transition(before_hsv, frames, drift)

    def _judge(self) -> None:
        transition, self._open = self._open, None
        settled = transition.start
        if transition.persists(self._confirm_distance):
            settled = transition.cut_time(self._confirm_distance)
            self._cuts.append(settled)
        # A candidate after the decision point (the cut, or the start of a flash) gets its own turn.
        later = [time for time in self._queued if time > settled]
        self._queued = later[1:]
        if later:
            self._open = transition.reopened_at(later[0])

    def cut_times(self) -> np.ndarray:
        """Call after the last frame: transitions still open are judged on the frames seen."""
        while self._open is not None:
            self._judge()
        return np.asarray(self._cuts, np.float64)


def cuts_per_step(cut_times: np.ndarray, duration: float, rate: float) -> np.ndarray:
    """(T,) 0/1: whether a cut happens in each step."""
    steps = num_steps(duration, rate)
    flags = np.zeros(steps, np.int64)
    for time in cut_times:
        flags[step_of(float(time), rate, steps)] = 1
    return flags
