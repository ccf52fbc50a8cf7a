"""The one result of video analysis that every engine consumes.

Times are seconds **relative to the range start** (``start`` in the source file),
so "second k" describes source time ``start + k``. Per-second streams have
``num_seconds = ceil(duration * rate)`` rows (``rate`` features per second; 1 in
the paper). Event lists keep full time resolution for beat alignment and markers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .steps import num_steps


@dataclass
class VideoFeatures:
    source: str  # path of the analysed file (for messages only)
    content_hash: str  # identifies file content + range + settings (cache key)
    start: float  # range start, seconds in the source file's time base
    duration: float  # range length in seconds
    native_fps: float  # average frame rate of the source
    rate: float = 1.0  # per-second streams have this many rows per second

    # --- per-step streams (num_seconds rows) ---
    semantic: np.ndarray | None = None  # (T, 512) CLIP image embeddings; None when CLIP is off
    colour_hist: np.ndarray = field(default_factory=lambda: np.zeros((0, 3072), np.float32))  # (T, 3072)
    valence: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # (T,) in [-1, 1]
    arousal: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # (T,) in [-1, 1]
    scene_cut: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # (T,) 0/1
    visual_beat: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # (T,) pseudo-beat strength
    motion: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # (T,) mean frame difference

    # --- full time resolution ---
    frame_times: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))  # (N,) decoded frame times
    rhythm_curve: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # (N,) visual rhythm curve
    event_times: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))  # (K,) visual beats, seconds
    event_strengths: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # (K,) in [0, 1]
    cut_times: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))  # (C,) scene cuts, seconds

    @property
    def num_seconds(self) -> int:
        return num_steps(self.duration, self.rate)

    @property
    def clip_valence(self) -> float:
        return float(np.mean(self.valence)) if self.valence.size else 0.0

    @property
    def clip_arousal(self) -> float:
        return float(np.mean(self.arousal)) if self.arousal.size else 0.0
