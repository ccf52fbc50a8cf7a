"""One frame per step for CLIP: the frame on screen at the middle of each step."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..video.decode import DecodedFrame

if TYPE_CHECKING:  # the encoder module loads torch: only jobs that use CLIP should pay for it
    from .semantic import ClipEncoder


class ClipFramePicker:
    """Feed every frame in time order; embeds the frame shown at each step's centre.

    Crops are encoded in batches as they fill, so memory stays flat however long
    the clip. The frame shown at time c is the last one starting at or before c,
    so the previous frame is kept (one reference) until the next one arrives.
    """

    def __init__(self, encoder: ClipEncoder, steps: int, rate: float) -> None:
        self.encoder, self.steps, self.rate = encoder, steps, rate
        self._next = 0
        self._previous: DecodedFrame | None = None
        self._batch: list[np.ndarray] = []
        self._embeddings: list[np.ndarray] = []

    def _centre(self, step: int) -> float:
        return (step + 0.5) / self.rate

    def add(self, frame: DecodedFrame) -> None:
        tolerance = 1e-6
        while self._next < self.steps and self._centre(self._next) < frame.time - tolerance:
            self._take(self._previous or frame)
        if self._next < self.steps and self._centre(self._next) <= frame.time + tolerance:
            self._take(frame)
        self._previous = frame

    def _take(self, frame: DecodedFrame) -> None:
        size = self.encoder.image_size
        self._batch.append(centre_crop(frame.render(*centre_crop_size(*frame.display_size(), size)), size))
        self._next += 1
        if len(self._batch) >= self.encoder.batch_size:
            self._flush()

    def _flush(self) -> None:
        if self._batch:
            self._embeddings.append(self.encoder.encode(np.stack(self._batch)))
            self._batch = []

    def result(self) -> np.ndarray:
        """(steps, D) embeddings; steps after the last frame repeat it (it stays on screen)."""
        while self._next < self.steps and self._previous is not None:
            self._take(self._previous)
        self._flush()
        self._previous = None
        if not self._embeddings:
            return np.zeros((0, self.encoder.embedding_dim), np.float32)
        return np.concatenate(self._embeddings)


def centre_crop_size(width: int, height: int, size: int) -> tuple[int, int]:
    """(w, h) that scales the shorter side to ``size`` (what CLIP's processor does before cropping)."""
    if width <= height:
        return size, max(size, round(height * size / width))
    return max(size, round(width * size / height)), size


def centre_crop(image: np.ndarray, size: int) -> np.ndarray:
    top = (image.shape[0] - size) // 2
    left = (image.shape[1] - size) // 2
    return image[top : top + size, left : left + size]
