"""Signal sanity of a track: loudness, true peak, clipping, silence, DC, tempo steadiness."""

from __future__ import annotations

import math

import numpy as np

from ..audio import loudness
from ..audio.onsets import ANALYSIS_RATE, HOP, AudioEvents

CLIP_LEVEL = 0.999  # |sample| at or above this counts as clipped (16-bit full scale is 32767/32768)
SILENCE_DBFS = -60.0
SILENCE_FRAME_S = 0.050


def _db(value: float) -> float:
    return 20.0 * math.log10(value) if value > 0 else float("-inf")


def integrated_loudness(audio: np.ndarray, rate: int) -> float:
    """ITU-R BS.1770-4 integrated loudness in LUFS (-inf for silence): the meter the server normalises with."""
    return loudness.integrated_loudness(audio, rate)


def true_peak_db(audio: np.ndarray, rate: int) -> float:
    """Peak of the 4x oversampled signal in dBTP (BS.1770 annex 2), which sees inter-sample overs."""
    return loudness.to_db(loudness.true_peak(audio))


def clipping_ratio(audio: np.ndarray) -> float:
    """Fraction of sample instants where any channel sits at full scale."""
    if audio.size == 0:
        return 0.0
    return float(np.mean(np.any(np.abs(audio) >= CLIP_LEVEL, axis=0)))


def silence_ratio(audio: np.ndarray, rate: int) -> float:
    """Fraction of 50 ms frames whose RMS is below -60 dBFS."""
    mono = np.asarray(audio, np.float64).mean(axis=0)
    frame = max(1, int(SILENCE_FRAME_S * rate))
    count = mono.size // frame
    if count == 0:
        return 1.0
    rms = np.sqrt(np.mean(mono[: count * frame].reshape(count, frame) ** 2, axis=1))
    return float(np.mean(rms < 10.0 ** (SILENCE_DBFS / 20.0)))


def dc_offset(audio: np.ndarray) -> float:
    """Largest absolute per-channel mean."""
    return float(np.max(np.abs(np.mean(audio, axis=-1)))) if audio.size else 0.0


def tempo_steadiness(events: AudioEvents) -> dict[str, float]:
    """Beat-interval spread and drift of the local tempo (lower = steadier)."""
    import librosa

    intervals = np.diff(events.beats)
    interval_cv = float(np.std(intervals) / np.mean(intervals)) if intervals.size >= 2 else float("nan")
    local_std = float("nan")
    if events.onset_strength.size > events.frame_rate * 4 and np.any(events.onset_strength):
        strength = events.onset_strength
        local = librosa.feature.tempo(onset_envelope=strength, sr=ANALYSIS_RATE, hop_length=HOP, aggregate=None)
        local_std = float(np.std(local))
    return {"tempo_bpm": events.tempo, "beat_interval_cv": interval_cv, "local_tempo_std_bpm": local_std}


def signal_quality(audio: np.ndarray, rate: int) -> dict[str, float]:
    return {
        "duration_s": audio.shape[-1] / rate,
        "lufs": integrated_loudness(audio, rate),
        "true_peak_dbtp": true_peak_db(audio, rate),
        "sample_peak_dbfs": _db(float(np.max(np.abs(audio)))) if audio.size else float("-inf"),
        "clipping_ratio": clipping_ratio(audio),
        "silence_ratio": silence_ratio(audio, rate),
        "dc_offset": dc_offset(audio),
    }
