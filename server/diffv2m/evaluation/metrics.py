"""The weight-free metric suite for one track against one video's visual events.

``evaluate_track(audio, rate, visual)`` returns a flat ``{name: float}`` dict
(see ``METRIC_DOCS`` for every name) plus the detected audio events, which the
report plots. Nothing here needs model weights or a network.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..audio.onsets import AudioEvents, detect_events
from .alignment import MAX_LAG_S, alignment_scores, impulse_curve, odf_lag
from .quality import signal_quality, tempo_steadiness

TEMPO_TOLERANCE = 0.08  # mir_eval.tempo's 8 %
NOVELTY_SMOOTHING_FRAMES = 2.0  # Gaussian sigma on the 11.6 ms grid, about the onset curve's own width
# Below this peak correlation there is no consistent lag to report (unrelated music
# peaks around 0.1 on the benchmark, aligned notes around 0.8).
ODF_MIN_CORR = 0.3


@dataclass
class VisualEvents:
    """What the picture does: event times (flashes, impacts, cuts) over ``duration`` seconds."""

    times: np.ndarray
    duration: float
    strengths: np.ndarray | None = None  # per event, for the novelty curve; None = all equal
    bpm: float | None = None  # the clip's pulse when it is known to be periodic
    source: str = "manifest"  # "manifest" (ground truth) or "detected" (diffv2m.features)


@dataclass
class TrackEvaluation:
    metrics: dict[str, float]
    audio_events: AudioEvents


METRIC_DOCS: dict[str, str] = {
    "onset_f": "onset F-measure, visual events vs audio onsets, +-70 ms (mir_eval)",
    "onset_precision": "share of audio onsets within 70 ms of a visual event",
    "onset_recall": "share of visual events with an audio onset within 70 ms",
    "onset_f_gain": "onset F-measure minus its mean over circularly shifted events (0 = chance)",
    "onset_bas": "Gaussian beat-alignment score (sigma 50 ms) of visual events to audio onsets",
    "onset_bas_gain": "onset BAS minus its chance level from circularly shifted events",
    "beat_f": "F-measure of tracked audio beats against visual events, +-70 ms",
    "beat_bas": "Gaussian beat-alignment score of visual events to tracked audio beats",
    "beat_bas_gain": "beat BAS minus its chance level",
    "odf_lag_ms": "lag of audio onset strength behind visual novelty at the correlation peak (none when corr < 0.3)",
    "odf_corr": "peak normalised cross-correlation of visual novelty and audio onset strength",
    "tempo_bpm": "tempo from librosa's beat tracker",
    "tempo_match": "1 when the tempo is within 8 % of the clip's pulse, its double or half (periodic clips)",
    "beat_interval_cv": "coefficient of variation of beat intervals (lower = steadier)",
    "local_tempo_std_bpm": "standard deviation of the local tempo over the track",
    "lufs": "integrated loudness, ITU-R BS.1770-4",
    "true_peak_dbtp": "4x-oversampled true peak",
    "sample_peak_dbfs": "largest sample",
    "clipping_ratio": "share of samples at full scale",
    "silence_ratio": "share of 50 ms frames below -60 dBFS",
    "dc_offset": "largest per-channel mean",
    "duration_s": "track length",
}


def visual_novelty(visual: VisualEvents, frame_rate: float, length: int) -> np.ndarray:
    """Visual events as a smoothed impulse curve on the audio onset-strength grid.

    Impulses, not raw frame differences: motion energy of a bouncing object
    peaks between impacts, so it would correlate at the wrong lag.
    """
    curve = impulse_curve(visual.times, frame_rate, length, visual.strengths)
    return gaussian_filter1d(curve, NOVELTY_SMOOTHING_FRAMES)


def _max_lag(times: np.ndarray) -> float:
    """Less than half the typical gap between events, so periodic clips cannot alias."""
    gaps = np.diff(np.unique(times))
    return min(MAX_LAG_S, 0.45 * float(np.median(gaps))) if gaps.size else MAX_LAG_S


def _tempo_match(tempo: float, bpm: float | None) -> float:
    if not bpm or tempo <= 0:
        return float("nan")
    return float(any(abs(tempo / (bpm * factor) - 1.0) <= TEMPO_TOLERANCE for factor in (0.5, 1.0, 2.0)))


def evaluate_track(audio: np.ndarray, rate: int, visual: VisualEvents) -> TrackEvaluation:
    """Every weight-free metric of ``audio`` (channels, samples) as the score of ``visual``."""
    audio = np.atleast_2d(np.asarray(audio, np.float32))
    events = detect_events(audio, rate)
    times = np.asarray(visual.times, np.float64)
    in_clip = times[(times >= 0) & (times < visual.duration)]
    metrics: dict[str, float] = {}
    metrics.update(alignment_scores(in_clip, events.onsets, events.beats, visual.duration).as_dict())
    novelty = visual_novelty(visual, events.frame_rate, events.onset_strength.size)
    lag, corr = odf_lag(novelty, events.onset_strength, events.frame_rate, _max_lag(in_clip))
    metrics.update(odf_lag_ms=1000.0 * lag if corr >= ODF_MIN_CORR else float("nan"), odf_corr=corr)
    metrics.update(tempo_steadiness(events))
    metrics["tempo_match"] = _tempo_match(events.tempo, visual.bpm)
    metrics.update(signal_quality(audio, rate))
    return TrackEvaluation(metrics, events)
