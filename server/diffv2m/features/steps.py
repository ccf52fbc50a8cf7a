"""Per-step aggregation: frames at their own times into bins of 1 / rate seconds."""

from __future__ import annotations

import math

import numpy as np


def num_steps(duration: float, rate: float) -> int:
    """Rows of a per-step stream: ceil(duration * rate), at least 1 (as ``VideoFeatures.num_seconds``)."""
    return max(1, math.ceil(duration * rate - 1e-9))


def step_of(time: float, rate: float, steps: int) -> int:
    return min(max(math.floor(time * rate + 1e-9), 0), steps - 1)


class StepMeans:
    """Running mean of a per-frame vector in each step; empty steps show the frame on screen.

    A step with no frame starting in it (long frames of a variable-rate or very
    low-rate video) takes the value of the step before: that frame is still shown.
    """

    def __init__(self, steps: int, rate: float, width: int = 1) -> None:
        self.rate, self.steps = rate, steps
        self.sums = np.zeros((steps, width), np.float32)
        self.counts = np.zeros(steps, np.int64)

    def add(self, time: float, value: np.ndarray | float) -> None:
        step = step_of(time, self.rate, self.steps)
        self.sums[step] += value
        self.counts[step] += 1

    def means(self) -> np.ndarray:
        filled = np.flatnonzero(self.counts)
        if filled.size == 0:
            return np.zeros_like(self.sums)
        means = self.sums / np.maximum(self.counts, 1)[:, None]
        # Index of the last filled step at or before each step (the first filled one before any).
        source = filled[np.clip(np.searchsorted(filled, np.arange(self.steps), side="right") - 1, 0, None)]
        return means[source]


def max_per_step(times: np.ndarray, values: np.ndarray, rate: float, steps: int) -> np.ndarray:
    """Largest value whose time falls in each step (0 where none)."""
    out = np.zeros(steps, np.float32)
    for time, value in zip(times, values, strict=True):
        step = step_of(float(time), rate, steps)
        out[step] = max(out[step], float(value))
    return out
