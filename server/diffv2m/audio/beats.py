"""Beats, downbeats and onsets of generated music, measured on the audio.

The embedded composer knows its beats exactly; Diff-V2M does not, so its audio
is tracked here with librosa (dynamic-programming beat tracker on the onset
strength envelope). librosa has no downbeat tracker, and the packages that do
either download their weights (beat-this) or ship them under a non-commercial
licence (madmom), so downbeats are estimated: assuming 4/4, the bar phase is the
one whose beats carry the most low-frequency (kick/bass) onset energy and the
most harmonic change — where bars start in almost all popular and film music.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .onsets import ANALYSIS_RATE, HOP, AudioEvents, analysis_signal, detect_events

BEATS_PER_BAR = 4


@dataclass
class BeatAnalysis:
    tempo: float  # BPM (0 when no pulse was found)
    beats: np.ndarray  # seconds
    downbeats: np.ndarray  # seconds, a subset of beats
    onsets: np.ndarray  # seconds


def track_beats(audio: np.ndarray, sample_rate: int, events: AudioEvents | None = None) -> BeatAnalysis:
    """Tempo, beats, estimated downbeats and onsets of ``audio`` ((2, N) or (N,)).

    Onsets and beats are those of the shared detector (:mod:`diffv2m.audio.onsets`),
    the same the evaluation scores; pass its ``events`` when already computed.
    """
    import librosa

    y = analysis_signal(audio, sample_rate)
    events = events if events is not None else detect_events(y, ANALYSIS_RATE)
    beats = events.beats
    if beats.size == 0:
        return BeatAnalysis(0.0, beats, beats, events.onsets)
    if beats.size >= 2:
        # The tempo of the beats actually placed: a line through them is finer than the
        # hop-quantised tempo estimate, and not thrown by one odd beat.
        tempo_value = float(60.0 / np.polyfit(np.arange(beats.size), beats, 1)[0])
    else:
        tempo_value = events.tempo
    beat_frames = librosa.time_to_frames(beats, sr=ANALYSIS_RATE, hop_length=HOP)
    phase = downbeat_phase(y, beat_frames)
    return BeatAnalysis(tempo_value, beats, beats[phase::BEATS_PER_BAR], events.onsets)


def downbeat_phase(y: np.ndarray, beat_frames: np.ndarray) -> int:
    """Which of the first ``BEATS_PER_BAR`` beats starts a bar (0..3)."""
    import librosa

    if beat_frames.size < BEATS_PER_BAR * 2:
        return 0
    # Kick and bass: onset strength of the band below ~200 Hz.
    low = librosa.onset.onset_strength(y=y, sr=ANALYSIS_RATE, hop_length=HOP, n_mels=8, fmax=200.0)
    # Harmony: how much the chroma changes from one beat to the next.
    chroma = librosa.feature.chroma_stft(y=y, sr=ANALYSIS_RATE, hop_length=HOP)
    frames = np.clip(beat_frames, 0, min(low.size, chroma.shape[1]) - 1)
    low_at_beats = np.array([low[max(f - 2, 0) : f + 3].max() for f in frames])
    beat_chroma = librosa.util.sync(chroma, np.concatenate([[0], frames]), aggregate=np.median)[:, 1:]
    change = np.r_[0.0, np.linalg.norm(np.diff(beat_chroma, axis=1), axis=0)]
    score = _unit(low_at_beats) + 0.5 * _unit(change[: frames.size])
    by_phase = [score[p::BEATS_PER_BAR].mean() for p in range(BEATS_PER_BAR)]
    return int(np.argmax(by_phase))


def estimate_downbeats(audio: np.ndarray, sample_rate: int, beats: np.ndarray) -> np.ndarray:
    """Bar starts among given beat times (seconds), by the same estimate as ``track_beats``."""
    import librosa

    beats = np.asarray(beats, np.float64)
    frames = librosa.time_to_frames(beats, sr=ANALYSIS_RATE, hop_length=HOP)
    return beats[downbeat_phase(analysis_signal(audio, sample_rate), frames) :: BEATS_PER_BAR]


def _unit(values: np.ndarray) -> np.ndarray:
    spread = values.max() - values.min() if values.size else 0.0
    return (values - values.min()) / spread if spread > 0 else np.zeros_like(values, dtype=np.float64)


def per_second_odf(strength: np.ndarray, frame_rate: float, seconds: int) -> np.ndarray:
    """Peak of an onset-strength curve in each second, scaled to [0, 1] (for engines with no rhythm curve)."""
    odf = np.zeros(max(seconds, 0), np.float32)
    for k in range(odf.size):
        window = strength[int(k * frame_rate) : int((k + 1) * frame_rate)]
        odf[k] = window.max() if window.size else 0.0
    peak = odf.max() if odf.size else 0.0
    return odf / peak if peak > 0 else odf
