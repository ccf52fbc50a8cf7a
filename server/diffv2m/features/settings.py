"""What the video analysis computes and how finely: part of every cache key."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from ..errors import InputError


@dataclass(frozen=True)
class FeatureSettings:
    rate: float = 1.0  # per-step streams have this many rows per second (1 in the paper)
    analysis_width: int = 160  # frames are scaled to this width (display aspect kept) for analysis
    semantic: bool = True  # compute CLIP embeddings when an encoder is given
    cut_min_content: float = 15.0  # PySceneDetect AdaptiveDetector min_content_val (its default)
    cut_persistence: float = 0.3  # s: a cut must still differ this long after, else it was a flash
    event_sensitivity: float = 0.2  # peak must exceed the local mean by this fraction of the 10-s maximum

    def __post_init__(self) -> None:
        if not 0.05 <= self.rate <= 30:
            raise InputError(f"The feature rate {self.rate} must be between 0.05 and 30 per second.")
        if not 32 <= self.analysis_width <= 1920:
            raise InputError(f"The analysis width {self.analysis_width} must be between 32 and 1920 pixels.")
        if self.cut_min_content <= 0 or self.cut_persistence < 0 or not 0 < self.event_sensitivity < 1:
            raise InputError("Cut threshold, cut persistence and event sensitivity must be positive.")

    def key(self) -> str:
        """Stable text form for cache keys."""
        return json.dumps(asdict(self), sort_keys=True)
