"""Measurements the composer tests make on rendered audio (never on the engine's note list)."""

from __future__ import annotations

import math

import librosa
import numpy as np

from diffv2m.engines.base import SAMPLE_RATE
from diffv2m.features.types import VideoFeatures

WINDOW = 0.07  # seconds: an event is "met" by an onset this close


def make_features(
    events: np.ndarray | list[float],
    duration: float,
    cuts: list[float] | tuple[float, ...] = (),
    strengths: np.ndarray | None = None,
    motion: np.ndarray | None = None,
    valence: float = 0.0,
    arousal: float = 0.0,
    fps: float = 25.0,
) -> VideoFeatures:
    """VideoFeatures as the analysis would give them, built directly (for engine-level tests)."""
    events = np.asarray(events, np.float64)
    seconds = max(1, math.ceil(duration - 1e-9))
    scene_cut = np.zeros(seconds, np.int64)
    for cut in cuts:
        scene_cut[min(seconds - 1, int(cut))] = 1
    return VideoFeatures(
        source="synthetic",
        content_hash="synthetic",
        start=0.0,
        duration=duration,
        native_fps=fps,
        event_times=events,
        event_strengths=np.ones(events.size, np.float32) if strengths is None else np.asarray(strengths, np.float32),
        cut_times=np.asarray(cuts, np.float64),
        motion=np.ones(seconds, np.float32) if motion is None else np.asarray(motion, np.float32),
        visual_beat=np.ones(seconds, np.float32),
        scene_cut=scene_cut,
        valence=np.full(seconds, valence, np.float32),
        arousal=np.full(seconds, arousal, np.float32),
        frame_times=np.arange(0.0, duration, 1.0 / fps),
    )


def frame_quantised_pulse(bpm: float, duration: float, phase: float, fps: float) -> np.ndarray:
    """A steady pulse as a video shows it: each event at the first frame at or after it."""
    times = np.arange(phase, duration, 60.0 / bpm)
    times = np.ceil(times * fps - 1e-9) / fps
    return times[(times > 0.05) & (times < duration - 0.05)]


def detect_onsets(audio: np.ndarray) -> np.ndarray:
    """librosa's default onset detector on the mono mix, in seconds."""
    mono = np.asarray(audio, np.float32).mean(axis=0) if np.ndim(audio) == 2 else np.asarray(audio, np.float32)
    return librosa.onset.onset_detect(y=mono, sr=SAMPLE_RATE, units="time")


def recall(events: np.ndarray, onsets: np.ndarray, window: float = WINDOW) -> float:
    """Share of events with an onset within +-window."""
    events = np.asarray(events, np.float64)
    onsets = np.sort(np.asarray(onsets, np.float64))
    if events.size == 0:
        return 1.0
    if onsets.size == 0:
        return 0.0
    index = (
        np.clip(np.searchsorted(onsets, events), 1, onsets.size - 1) if onsets.size > 1 else np.zeros(events.size, int)
    )
    nearest = np.minimum(np.abs(onsets[index] - events), np.abs(onsets[np.maximum(index - 1, 0)] - events))
    return float(np.mean(nearest <= window))


def alignment_gain(events: np.ndarray, onsets: np.ndarray, period: float) -> tuple[float, float]:
    """(recall on the events, recall minus mean recall on the events shifted by 1/4, 1/2, 3/4 period)."""
    hit = recall(events, onsets)
    shifted = [recall(np.asarray(events) + f * period, onsets) for f in (0.25, 0.5, 0.75)]
    return hit, hit - float(np.mean(shifted))


def short_term_loudness(audio: np.ndarray, window: float = 3.0, hop: float = 0.5) -> np.ndarray:
    """pyloudnorm loudness (LUFS) of each 3 s window, every 0.5 s (EBU R 128's short-term loudness)."""
    import pyloudnorm

    meter = pyloudnorm.Meter(SAMPLE_RATE)
    data = np.asarray(audio, np.float64).T
    size, step = round(window * SAMPLE_RATE), round(hop * SAMPLE_RATE)
    values = [meter.integrated_loudness(data[s : s + size]) for s in range(0, data.shape[0] - size + 1, step)]
    return np.asarray([v for v in values if np.isfinite(v)])


def loudness_range(audio: np.ndarray) -> float:
    """10th to 95th percentile of the short-term loudness, LU."""
    values = short_term_loudness(audio)
    return float(np.percentile(values, 95) - np.percentile(values, 10))


def ending_drop(audio: np.ndarray, tail: float = 0.05, frame: float = 0.05) -> float:
    """dB by which the last ``tail`` seconds lie below the median level of 50 ms frames."""
    mono = np.asarray(audio, np.float64).mean(axis=0)
    size = round(frame * SAMPLE_RATE)
    frames = mono[: mono.size // size * size].reshape(-1, size)
    levels = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-20)
    last = 10 * np.log10(np.mean(mono[-round(tail * SAMPLE_RATE) :] ** 2) + 1e-20)
    return float(np.median(levels) - last)


def shared_onsets(first: np.ndarray, second: np.ndarray, cuts: np.ndarray, window: float = 0.03) -> float:
    """Share of the two takes' onsets (off the cuts) that both have within ``window``: matched / union."""

    def off_cuts(onsets: np.ndarray) -> np.ndarray:
        onsets = np.asarray(onsets, np.float64)
        if np.asarray(cuts).size == 0 or onsets.size == 0:
            return onsets
        return onsets[np.min(np.abs(onsets[:, None] - np.asarray(cuts)[None, :]), axis=1) > WINDOW]

    a, b = off_cuts(first), off_cuts(second)
    if a.size == 0 or b.size == 0:
        return 0.0
    matched = int(np.count_nonzero(np.min(np.abs(a[:, None] - b[None, :]), axis=1) <= window))
    return matched / (a.size + b.size - matched)
