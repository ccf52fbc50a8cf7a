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

ANALYSIS_RATE = 22_050
HOP = 512
BEATS_PER_BAR = 4


@dataclass
class BeatAnalysis:
    tempo: float  # BPM (0 when no pulse was found)
    beats: np.ndarray  # seconds
    downbeats: np.ndarray  # seconds, a subset of beats
    onsets: np.ndarray  # seconds


def _mono(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    import librosa

    signal = np.asarray(audio, np.float32)
    if signal.ndim == 2:
        signal = signal.mean(axis=0)
    if sample_rate != ANALYSIS_RATE:
        signal = librosa.resample(signal, orig_sr=sample_rate, target_sr=ANALYSIS_RATE, res_type="soxr_hq")
    return signal


def detect_onsets(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Onset times in seconds (librosa peak picking on spectral flux)."""
    import librosa

    y = _mono(audio, sample_rate)
    if not np.any(y):
        return np.zeros(0)
    envelope = librosa.onset.onset_strength(y=y, sr=ANALYSIS_RATE, hop_length=HOP)
    return _onset_times(envelope)


def _onset_times(envelope: np.ndarray) -> np.ndarray:
    import librosa

    frames = librosa.onset.onset_detect(onset_envelope=envelope, sr=ANALYSIS_RATE, hop_length=HOP, units="frames")
    return librosa.frames_to_time(frames, sr=ANALYSIS_RATE, hop_length=HOP)


def track_beats(audio: np.ndarray, sample_rate: int) -> BeatAnalysis:
    """Tempo, beats, estimated downbeats and onsets of ``audio`` ((2, N) or (N,))."""
    import librosa

    y = _mono(audio, sample_rate)
    if y.size < HOP * 4 or not np.any(y):
        return BeatAnalysis(0.0, np.zeros(0), np.zeros(0), np.zeros(0))
    envelope = librosa.onset.onset_strength(y=y, sr=ANALYSIS_RATE, hop_length=HOP)
    tempo, beat_frames = librosa.beat.beat_track(
        onset_envelope=envelope, sr=ANALYSIS_RATE, hop_length=HOP, units="frames"
    )
    beat_frames = np.asarray(beat_frames, np.int64)
    beats = librosa.frames_to_time(beat_frames, sr=ANALYSIS_RATE, hop_length=HOP)
    if beats.size >= 2:
        # The tempo of the beats actually placed: a line through them is finer than the
        # hop-quantised tempo estimate (a 23 ms grid), and not thrown by one odd beat.
        tempo_value = float(60.0 / np.polyfit(np.arange(beats.size), beats, 1)[0])
    else:
        tempo_value = float(np.atleast_1d(tempo)[0]) if beats.size else 0.0
    phase = downbeat_phase(y, beat_frames)
    return BeatAnalysis(tempo_value, beats, beats[phase::BEATS_PER_BAR], _onset_times(envelope))


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
    return beats[downbeat_phase(_mono(audio, sample_rate), frames) :: BEATS_PER_BAR]


def _unit(values: np.ndarray) -> np.ndarray:
    spread = values.max() - values.min() if values.size else 0.0
    return (values - values.min()) / spread if spread > 0 else np.zeros_like(values, dtype=np.float64)


def per_second_odf(audio: np.ndarray, sample_rate: int, seconds: int) -> np.ndarray:
    """Peak onset strength in each second, scaled to [0, 1] (for engines with no rhythm curve of their own)."""
    import librosa

    y = _mono(audio, sample_rate)
    if not np.any(y) or seconds <= 0:
        return np.zeros(max(seconds, 0), np.float32)
    envelope = librosa.onset.onset_strength(y=y, sr=ANALYSIS_RATE, hop_length=HOP)
    frames_per_second = ANALYSIS_RATE / HOP
    odf = np.zeros(seconds, np.float32)
    for k in range(seconds):
        window = envelope[int(k * frames_per_second) : int((k + 1) * frames_per_second)]
        odf[k] = window.max() if window.size else 0.0
    peak = odf.max()
    return odf / peak if peak > 0 else odf
