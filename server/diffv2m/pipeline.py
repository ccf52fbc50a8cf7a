"""The one job path, shared by the server's worker and ``diffv2m generate``.

    video range -> features (cached) -> emotion -> engine.generate per take
    -> beats (the engine's own, else tracked on the audio) -> loudness -> takes

Progress goes to one callback as (stage, overall fraction); the stages are the
ones docs/api.md lists. The callback raises ``errors.Cancelled`` to stop a job.
"""

from __future__ import annotations

import io
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .emotion import resolve_emotion
from .engines.base import SAMPLE_RATE, GenerationRequest, GenerationResult, ProgressFn, no_progress
from .engines.registry import EngineRegistry
from .features.types import VideoFeatures
from .job_request import JobRequest, feature_source
from .settings import Settings

# Share of the overall progress bar each phase takes.
FEATURES_SHARE = 0.25  # video analysis; the takes share the rest equally
GENERATION_PART = 0.8  # of each take's share; beat tracking and loudness take the remainder
TARGET_LUFS, LUFS_TOLERANCE, PEAK_CEILING_DB = -14.0, 0.5, -1.0
TIME_DECIMALS = 4  # 0.1 ms is finer than any frame or sample grid an editor uses


@dataclass
class Take:
    seed: int
    audio: np.ndarray  # (2, num_samples) float32, 44.1 kHz
    beats: dict[str, Any]  # the GET /jobs/{id}/beats document
    lufs: float | None  # None for silence (no loudness to measure)
    true_peak_db: float | None
    midi: bytes | None = None  # the score as a standard MIDI file (engines that write notes)


@dataclass
class PipelineOutput:
    takes: list[Take]
    metadata: dict[str, Any] = field(default_factory=dict)


def _scaled(progress: ProgressFn, low: float, high: float, stage: str | None = None) -> ProgressFn:
    """A callback for one phase that maps its [0, 1] onto [low, high] of the whole job."""

    def scaled(name: str, fraction: float) -> None:
        progress(stage or name, low + (high - low) * min(max(fraction, 0.0), 1.0))

    return scaled


def _times(values: np.ndarray | None, duration: float) -> list[float]:
    if values is None:
        return []
    array = np.asarray(values, np.float64).ravel()
    array = array[(array >= 0.0) & (array < duration)]
    return [round(float(t), TIME_DECIMALS) for t in np.sort(array)]


def fit_length(audio: np.ndarray, num_samples: int) -> np.ndarray:
    """(2, num_samples) float32: trims or pads with silence, never resamples."""
    audio = np.asarray(audio, np.float32)
    if audio.ndim == 1:
        audio = np.stack([audio, audio])
    if audio.shape[0] == 1:
        audio = np.concatenate([audio, audio])
    if audio.shape[1] >= num_samples:
        return np.ascontiguousarray(audio[:2, :num_samples])
    return np.pad(audio[:2], ((0, 0), (0, num_samples - audio.shape[1])))


def feature_cache(settings: Settings) -> Any:
    """The on-disk feature cache under ``settings.cache_dir`` (regenerating does not decode again)."""
    from .features.cache import FeatureCache

    return FeatureCache.from_settings(settings)


def extract(request: JobRequest, cache: Any, progress: ProgressFn, clip: Any) -> VideoFeatures:
    """Features for the request's range (one file, or a timeline of segments) at the paper's settings."""
    from .features.extract import extract_features

    source, start, end = feature_source(request)
    return extract_features(source, start, end, clip=clip, progress=progress, cache=cache)


def loudness_to_spec(audio: np.ndarray, reported: tuple[float, float] | None = None) -> tuple[np.ndarray, float, float]:
    """-14 LUFS integrated, true peak <= -1 dBTP; audio already there (the composer's) is left untouched.

    ``reported`` is the (LUFS, dBTP) an engine measured on exactly this audio: trusted
    instead of measuring the whole file again. Audio that needs normalising is measured
    on the way (:func:`normalise_and_measure`), not in a second pass.
    """
    from .audio.loudness import measure_loudness, normalise_and_measure

    lufs, true_peak = reported if reported is not None else measure_loudness(audio, SAMPLE_RATE)
    if abs(lufs - TARGET_LUFS) <= LUFS_TOLERANCE and true_peak <= PEAK_CEILING_DB:
        return audio, lufs, true_peak
    normalised, lufs, true_peak = normalise_and_measure(audio, SAMPLE_RATE, TARGET_LUFS, PEAK_CEILING_DB)
    return fit_length(normalised, audio.shape[1]), lufs, true_peak


def reported_loudness(result: GenerationResult, audio: np.ndarray) -> tuple[float, float] | None:
    """The engine's own (LUFS, dBTP) from ``result.extra``, when they describe ``audio``.

    Only when fit_length left the engine's samples as they were (same shape): a trimmed,
    padded or mono-to-stereo take is measured again.
    """
    lufs, peak = result.extra.get("lufs"), result.extra.get("true_peak_db")
    if lufs is None or peak is None or np.shape(result.audio) != audio.shape:
        return None
    return float(lufs), float(peak)


def beats_document(result: GenerationResult, audio: np.ndarray, duration: float) -> dict[str, Any]:
    """Beats, downbeats, tempo, onsets and the per-second ODF, relative to the range start."""
    from .audio import beats as beat_tracking
    from .audio.onsets import detect_events

    events = detect_events(audio, SAMPLE_RATE)  # the detector diffv2m eval scores with
    if result.beats is not None and len(result.beats) > 0:
        beats, downbeats, tempo, source = result.beats, result.downbeats, result.tempo, "engine"
        if downbeats is None:
            downbeats = beat_tracking.estimate_downbeats(audio, SAMPLE_RATE, np.asarray(beats))
    else:
        tracked = beat_tracking.track_beats(audio, SAMPLE_RATE, events)
        beats, downbeats, tempo, source = tracked.beats, tracked.downbeats, tracked.tempo, "tracked"
    if result.predicted_odf is not None:
        odf, odf_rate = np.asarray(result.predicted_odf, np.float64), result.predicted_odf_rate
    else:
        seconds = max(1, math.ceil(duration - 1e-9))
        odf, odf_rate = beat_tracking.per_second_odf(events.onset_strength, events.frame_rate, seconds), 1.0
    return {
        "duration": duration,
        "tempo": round(float(tempo or 0.0), 3),
        "beats": _times(beats, duration),
        "downbeats": _times(downbeats, duration),
        "onsets": _times(events.onsets, duration),
        "odf": [round(float(v), 4) for v in odf],
        "odf_rate": odf_rate,
        "engine": result.engine,
        "seed": result.seed,
        "beats_from": source,  # "engine": exact, from the composer's score; "tracked": measured on the audio
    }


def run(
    request: JobRequest,
    *,
    registry: EngineRegistry,
    cache: Any = None,
    progress: ProgressFn = no_progress,
) -> PipelineOutput:
    """Run a validated, source-checked request to finished takes (in memory)."""
    began = time.perf_counter()
    engine_name = registry.resolve(request.engine)
    engine = registry.get(engine_name)
    features = extract(request, cache, _scaled(progress, 0.0, FEATURES_SHARE), clip=registry.clip_for(engine_name))
    features_s = time.perf_counter() - began
    emotion = resolve_emotion(request.emotion, features.clip_valence, features.clip_arousal)
    duration = request.music_duration
    num_samples = round(duration * SAMPLE_RATE)
    takes: list[Take] = []
    first: GenerationResult | None = None
    take_share = (1.0 - FEATURES_SHARE) / request.takes
    for index, seed in enumerate(request.seeds):
        low = FEATURES_SHARE + index * take_share
        generated = low + take_share * GENERATION_PART
        generation = GenerationRequest(
            features=features,
            emotion=emotion,
            seed=seed,
            duration=duration,
            steps=request.steps,
            preset=request.preset,
            guidance=request.guidance,
            progress=_scaled(progress, low, generated, "generating"),
        )
        result = engine.generate(generation)
        first = first or result
        audio = fit_length(result.audio, num_samples)
        progress("tracking beats", generated)
        beats = beats_document(result, audio, duration)
        progress("normalising", (generated + low + take_share) / 2)
        audio, lufs, true_peak = loudness_to_spec(audio, reported_loudness(result, audio))
        takes.append(Take(seed, audio, beats, _finite_or_none(lufs), _finite_or_none(true_peak), result.midi))
    progress("done", 1.0)
    assert first is not None
    metadata = {
        "engine": first.engine,
        "weights": first.weights,
        "sampler": first.sampler,
        "steps": first.steps,
        "preset": first.preset,
        "guidance": first.extra.get("guidance", request.guidance),
        "seed": request.seed,
        "seeds": request.seeds,
        "emotion": emotion.name,
        "emotion_description": emotion.description,
        "valence": round(float(emotion.valence), 3),
        "arousal": round(float(emotion.arousal), 3),
        "start": request.start,
        "end": request.end,
        "duration": duration,
        "sample_rate": SAMPLE_RATE,
        "tempo": takes[0].beats["tempo"],
        "lufs": takes[0].lufs,
        "true_peak_db": takes[0].true_peak_db,
        # What rendered the sound: a General-MIDI bank (name, licence, path) or the numpy synthesis;
        # None for engines that make audio directly (Diff-V2M).
        "sound_bank": _json_safe(first.extra.get("sound_bank")),
        "timings": {"features_s": round(features_s, 3), "total_s": round(time.perf_counter() - began, 3)},
        "details": _json_safe(first.extra),  # what the engine reports about how it made take 1
    }
    return PipelineOutput(takes, metadata)


def _finite_or_none(value: float) -> float | None:
    return round(float(value), 2) if math.isfinite(value) else None


def _json_safe(value: Any) -> Any:
    """Engine extras as plain JSON (numpy scalars and arrays become numbers and lists)."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def wav_bytes(audio: np.ndarray) -> bytes:
    """16-bit PCM WAV, 44.1 kHz stereo: what every editor imports."""
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, np.ascontiguousarray(audio.T), SAMPLE_RATE, subtype="PCM_16", format="WAV")
    return buffer.getvalue()
