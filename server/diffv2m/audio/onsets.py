"""The one onset detector and beat tracker, shared by the beats document and the evaluation.

librosa's mel spectral flux (``librosa.onset.onset_strength``) on mono audio at
22.05 kHz, hop 256 (11.6 ms frames: fine enough for the evaluation's 50 ms
Gaussian), n_fft 2048 (librosa's default; shorter windows add spurious onsets on
pads), peaks picked by ``librosa.onset.onset_detect`` and beats by
``librosa.beat.beat_track`` on the same curve. The flux peaks about one hop after
a sharp attack (measured +9..+15 ms on clicks, kicks and plucked notes at this
hop/n_fft), so detected times and the curve are moved one hop earlier. The
settings and their effect on the benchmark are in docs/evaluation.md.

Training's ODF target (``features.audio_rhythm``) is a different quantity: the
paper's second-level, z-scored peak ODF at 44.1 kHz, hop 512, as the released
Diff-V2M data pipeline computes it, and keeps that definition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .io import to_mono

ANALYSIS_RATE = 22_050
HOP = 256
N_FFT = 2048
LATENCY_S = HOP / ANALYSIS_RATE
FRAME_RATE = ANALYSIS_RATE / HOP


@dataclass
class AudioEvents:
    onsets: np.ndarray  # seconds
    beats: np.ndarray  # seconds
    tempo: float  # BPM from librosa's beat tracker (0 when none)
    onset_strength: np.ndarray  # per frame, frame k at k / frame_rate seconds
    frame_rate: float


def analysis_signal(audio: np.ndarray, rate: int) -> np.ndarray:
    """Mono float32 at ``ANALYSIS_RATE`` (soxr high quality, librosa's default resampler)."""
    import librosa

    mono = to_mono(audio)
    return librosa.resample(mono, orig_sr=rate, target_sr=ANALYSIS_RATE) if rate != ANALYSIS_RATE else mono


def detect_events(audio: np.ndarray, rate: int) -> AudioEvents:
    """Onsets, beats, tempo and the onset-strength curve of ``audio`` ((channels, N) or (N,))."""
    import librosa

    mono = analysis_signal(audio, rate)
    shift = round(LATENCY_S * FRAME_RATE)
    if mono.size < N_FFT or not np.any(mono):
        empty = np.zeros(0)
        return AudioEvents(empty, empty, 0.0, np.zeros(max(1, mono.size // HOP)), FRAME_RATE)
    strength = librosa.onset.onset_strength(y=mono, sr=ANALYSIS_RATE, hop_length=HOP, n_fft=N_FFT)
    onset_frames = librosa.onset.onset_detect(onset_envelope=strength, sr=ANALYSIS_RATE, hop_length=HOP)
    tempo, beat_frames = librosa.beat.beat_track(onset_envelope=strength, sr=ANALYSIS_RATE, hop_length=HOP)
    strength = np.concatenate([strength[shift:], np.zeros(shift)])  # latency compensation, same length
    return AudioEvents(
        onsets=np.maximum(onset_frames / FRAME_RATE - LATENCY_S, 0.0),
        beats=np.maximum(beat_frames / FRAME_RATE - LATENCY_S, 0.0),
        tempo=float(np.atleast_1d(tempo)[0]),
        onset_strength=strength.astype(np.float64),
        frame_rate=FRAME_RATE,
    )


def detect_onsets(audio: np.ndarray, rate: int) -> np.ndarray:
    """Onset times in seconds (the onsets of :func:`detect_events`)."""
    return detect_events(audio, rate).onsets
