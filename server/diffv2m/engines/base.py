"""What every engine takes and gives back.

The job runner (``api/jobs.py``) and the CLI talk to engines only through these
types, so an engine can be swapped without touching either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..emotion import EmotionPreset
from ..features.types import VideoFeatures
from ..progress import ProgressFn, no_progress

SAMPLE_RATE = 44_100


@dataclass
class GenerationRequest:
    features: VideoFeatures
    emotion: EmotionPreset
    seed: int
    duration: float  # seconds of audio to produce (exact, to the sample)
    steps: int | None = None  # sampler steps; None = the preset's, else the engine's default
    preset: str | None = None  # a step preset (model/choices.py: sampler + steps); None = the engine's sampler
    guidance: float | None = None  # CFG scale; None = the engine's default
    progress: ProgressFn = no_progress

    @property
    def num_samples(self) -> int:
        return round(self.duration * SAMPLE_RATE)


@dataclass
class GenerationResult:
    audio: np.ndarray  # (2, num_samples) float32, 44.1 kHz stereo
    engine: str  # "default" or "diffv2m"
    weights: str  # which weights made it ("none (embedded composer)", a path, a hub id)
    sampler: str  # "composer" or e.g. "dpmpp-2m"
    steps: int
    seed: int
    emotion: str
    preset: str | None = None  # the step preset this run is (same sampler and steps), if any
    # Known exactly by the composer; None means "track them on the audio".
    beats: np.ndarray | None = None  # seconds from range start
    downbeats: np.ndarray | None = None
    tempo: float | None = None
    predicted_odf: np.ndarray | None = None  # (T,) the engine's own rhythm curve, when it has one
    predicted_odf_rate: float = 1.0  # rows of predicted_odf per second (both engines predict per second)
    midi: bytes | None = None  # the score as a standard MIDI file, when the engine writes notes (the composer)
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def sample_rate(self) -> int:
        return SAMPLE_RATE


class Engine(Protocol):
    name: str  # "default" | "diffv2m"

    def describe(self) -> dict[str, object]:
        """Static facts for /health: weights found, device, default steps."""
        ...

    def generate(self, request: GenerationRequest) -> GenerationResult: ...
