"""The embedded default engine: beat-aligned music from the video features, no weights.

generate() = choose the mood's style (seeded) -> fit the beat grid to the visual
events -> arrange the layers -> render -> normalise loudness. Beats, downbeats
and tempo are exact (they are the grid), and the per-second accent curve plays
the part of Diff-V2M's predicted rhythm.
"""

from __future__ import annotations

import math

import numpy as np

from ...audio.loudness import normalise_and_measure
from ...errors import InputError
from ...features.types import VideoFeatures
from ..base import SAMPLE_RATE, GenerationRequest, GenerationResult, ProgressFn
from .arrangement import LAST_HIT, Score, arrange
from .grid import BeatGrid, fit_grid
from .midi import score_midi
from .orchestration import Orchestra, orchestrate
from .performance import release_tail
from .ramps import ramp_tempo_changes
from .render import render
from .sampled import render_sampled
from .soundfont import NUMPY_SYNTHESIS, load_bank
from .style import Style, choose_style
from .timeline import Note

ENGINE_NAME = "default"
WEIGHTS = "none (embedded composer)"
NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# How much each sound contributes to the accent curve (drums carry the rhythm).
ACCENT_WEIGHT = {
    "kick": 1.0,
    "taiko": 1.0,
    "snare": 0.9,
    "clap": 0.85,
    "tom_low": 0.7,
    "tom_mid": 0.7,
    "rim": 0.6,
    "crash": 0.8,
    "hat": 0.25,
    "hat_open": 0.3,
    "shaker": 0.15,
}
PITCHED_ACCENT = 0.2


def accent_curve(notes: list[Note], duration: float) -> np.ndarray:
    """Per-second rhythm: in each second, the strongest moment (summed accents of simultaneous onsets)."""
    seconds = max(1, math.ceil(duration - 1e-9))
    moments: dict[int, float] = {}
    for note in notes:
        if note.voice == "riser" or not 0.0 <= note.time < duration:
            continue
        key = round(note.time * SAMPLE_RATE)
        moments[key] = moments.get(key, 0.0) + note.velocity * ACCENT_WEIGHT.get(note.voice, PITCHED_ACCENT)
    curve = np.zeros(seconds, np.float32)
    for sample, value in moments.items():
        index = min(seconds - 1, sample // SAMPLE_RATE)
        curve[index] = max(curve[index], value)
    return curve


def compose(
    features: VideoFeatures, style: Style, seed: int, duration: float, progress: ProgressFn | None = None
) -> tuple[BeatGrid, Score]:
    """The grid (fitted to the picture's events and cuts, tempo changes ramped) and the score on it."""
    events = np.asarray(features.event_times, np.float64)
    strengths = np.asarray(features.event_strengths, np.float64)
    if strengths.size != events.size:
        strengths = np.ones(events.size)
    inside = (events >= 0.0) & (events < duration)
    grid = fit_grid(
        events[inside],
        strengths[inside],
        np.asarray(features.cut_times, np.float64),
        duration,
        (style.tempo_low, style.tempo_target, style.tempo_high),
        style.half_time,
    )
    ramp_tempo_changes(grid.sections, style.tempo_low, style.tempo_high)
    if progress is not None:
        progress("generating", 0.1)
    return grid, arrange(grid, features, style, seed, duration)


class ComposerEngine:
    """Engine protocol implementation (see engines/base.py)."""

    name = ENGINE_NAME

    def __init__(self, sound_bank: str | None = None) -> None:
        """``sound_bank``: a configured sf2/sf3 path, ``numpy``, or None to look one up (soundfont.py)."""
        self.bank = load_bank(sound_bank)
        self.bank_info = self.bank.info if self.bank is not None else NUMPY_SYNTHESIS

    def describe(self) -> dict[str, object]:
        return {
            "available": True,
            "weights": WEIGHTS,
            "sampler": "composer",
            "default_steps": 0,
            "device": "cpu",
            "sound_bank": self.bank_info.as_dict(),
            "description": "Embedded composer: drums, bass, harmony and melody synthesised on a beat grid "
            "fitted to the picture's visual events.",
        }

    def render_score(
        self, score: Score, grid: BeatGrid, style: Style, seed: int, num_samples: int, progress: ProgressFn
    ) -> tuple[np.ndarray, Orchestra]:
        """The score's stereo mix (before loudness normalisation) through the bank, or the numpy synthesis."""
        sections = [(float(s.start), level) for s, level in zip(grid.sections, score.levels, strict=True)]
        orchestra = orchestrate(style.preset, seed, sections)
        if self.bank is None:
            audio = render(
                score.notes, num_samples, style.brightness, style.reverb, style.balance, style.tonic, progress
            )
            return audio, orchestra
        audio = render_sampled(
            score.notes, num_samples, style.balance, style.brightness, style.reverb, orchestra, self.bank, progress
        )
        return audio, orchestra

    def generate(self, request: GenerationRequest) -> GenerationResult:
        duration = float(request.duration)
        if not math.isfinite(duration) or duration <= 0:
            raise InputError("The duration must be a positive number of seconds.")
        if request.seed < 0:
            raise InputError("The seed must be a whole number of 0 or more.")
        progress = request.progress
        progress("generating", 0.0)
        features = request.features
        style = choose_style(request.emotion, request.seed)
        grid, score = compose(features, style, request.seed, duration, progress)
        progress("generating", 0.2)
        audio, orchestra = self.render_score(score, grid, style, request.seed, request.num_samples, progress)
        release_tail(audio, LAST_HIT, SAMPLE_RATE)
        progress("normalising", 0.0)
        audio, lufs, peak = normalise_and_measure(audio, SAMPLE_RATE, overwrite=True)  # the mix is ours
        progress("normalising", 1.0)
        return GenerationResult(
            audio=np.ascontiguousarray(audio, dtype=np.float32),
            engine=ENGINE_NAME,
            weights=WEIGHTS,
            sampler="composer",
            steps=0,
            seed=request.seed,
            emotion=request.emotion.name,
            beats=grid.beats,
            downbeats=grid.downbeats,
            tempo=grid.tempo,
            predicted_odf=accent_curve(score.notes, duration),
            midi=score_midi(score.notes, grid.beats, features.cut_times, duration, orchestra),
            extra={
                "key": f"{NOTE_NAMES[style.tonic]} {style.mode}",
                "style": style.preset,
                "instruments": {
                    "drums": style.drums,
                    "bass": style.bass,
                    "harmony": style.harmony_voice,
                    "melody": style.melody_voice,
                    "texture": style.texture,
                },
                "sections": [
                    {"start": s.start, "end": s.end, "tempo": s.tempo, "level": level}
                    for s, level in zip(grid.sections, score.levels, strict=True)
                ],
                "sound_bank": self.bank_info.as_dict(),
                "gm_programs": orchestra.describe(),
                "lufs": lufs,
                "true_peak_db": peak,
            },
        )
