"""How well audio events line up with visual events, corrected for chance.

Every score compares *reference* visual events (flashes, impacts, cuts) with
*estimated* audio events (detected onsets or tracked beats):

- onset F-measure / precision / recall with ``mir_eval.onset.f_measure`` at
  +-70 ms (mir_eval's default is 50 ms, so the window is always passed);
- a Gaussian beat-alignment score (BAS): mean over visual events of
  exp(-d^2 / 2 sigma^2), d = distance to the nearest audio event, sigma 50 ms;
- an **alignment gain** for each: the score on the true events minus its mean
  over copies of the events circularly shifted through the clip. Raw recall
  and BAS reward dense onsets (random onsets score BAS ~0.3 against two events
  a second); the gain is ~0 for music unrelated to the picture and negative
  for music that is consistently off the events;
- the lag of the cross-correlation peak between a visual novelty curve and the
  audio onset strength (positive = audio late).

Deliberately absent: 1-second-bin beat coverage/hit scores (BCS/BHS), which
score music 250 ms off every event as perfect.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import mir_eval
import numpy as np

WINDOW_S = 0.070  # onset F-measure tolerance (the issue's +-70 ms)
SIGMA_S = 0.050  # Gaussian BAS width: 3 frames at 60 fps, as in Bailando/AIST++
NUM_SHIFTS = 48  # circular shifts averaged for the chance level (enough to cover every phase of a pulse)
MAX_LAG_S = 0.25  # cross-correlation search range

Score = Callable[[np.ndarray, np.ndarray], float]


def _clean(times: np.ndarray) -> np.ndarray:
    """Sorted, unique, finite, 1-D: what mir_eval insists on (it raises on unsorted input)."""
    times = np.asarray(times, np.float64).ravel()
    return np.unique(times[np.isfinite(times)])


def onset_prf(visual: np.ndarray, audio: np.ndarray, window: float = WINDOW_S) -> tuple[float, float, float]:
    """(F, precision, recall) of audio events against visual events within ``window`` seconds."""
    visual, audio = _clean(visual), _clean(audio)
    if visual.size == 0 or audio.size == 0:
        return 0.0, 0.0, 0.0  # mir_eval would warn and return zeros; say it without the noise
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f, p, r = mir_eval.onset.f_measure(visual, audio, window=window)
    return float(f), float(p), float(r)


def beat_alignment_score(visual: np.ndarray, audio: np.ndarray, sigma: float = SIGMA_S) -> float:
    """Mean Gaussian closeness of each visual event to its nearest audio event (0..1)."""
    visual, audio = _clean(visual), _clean(audio)
    if visual.size == 0 or audio.size == 0:
        return 0.0
    index = np.clip(np.searchsorted(audio, visual), 1, audio.size - 1) if audio.size > 1 else np.zeros(visual.size, int)
    nearest = np.minimum(np.abs(audio[index] - visual), np.abs(audio[np.maximum(index - 1, 0)] - visual))
    return float(np.mean(np.exp(-(nearest**2) / (2.0 * sigma**2))))


def shift_offsets(duration: float, count: int = NUM_SHIFTS) -> np.ndarray:
    """Evenly spread circular shifts that never come near zero (nearest is duration / 2count)."""
    return duration * (np.arange(count) + 0.5) / count


def chance_level(score: Score, visual: np.ndarray, audio: np.ndarray, duration: float) -> float:
    """Mean ``score`` over the visual events circularly shifted through the clip."""
    visual = _clean(visual)
    if visual.size == 0 or duration <= 0:
        return 0.0
    values = [score(np.sort((visual + offset) % duration), audio) for offset in shift_offsets(duration)]
    return float(np.mean(values))


@dataclass
class AlignmentScores:
    onset_f: float
    onset_precision: float
    onset_recall: float
    onset_f_chance: float
    onset_bas: float
    onset_bas_chance: float
    beat_f: float
    beat_bas: float
    beat_bas_chance: float

    @property
    def onset_f_gain(self) -> float:
        return self.onset_f - self.onset_f_chance

    @property
    def onset_bas_gain(self) -> float:
        return self.onset_bas - self.onset_bas_chance

    @property
    def beat_bas_gain(self) -> float:
        return self.beat_bas - self.beat_bas_chance

    def as_dict(self) -> dict[str, float]:
        values = dict(self.__dict__)
        values.update(onset_f_gain=self.onset_f_gain, onset_bas_gain=self.onset_bas_gain)
        values.update(beat_bas_gain=self.beat_bas_gain)
        return values


def alignment_scores(visual: np.ndarray, onsets: np.ndarray, beats: np.ndarray, duration: float) -> AlignmentScores:
    """Every event-based alignment score of one track against one video."""

    def f_only(v: np.ndarray, a: np.ndarray) -> float:
        return onset_prf(v, a)[0]

    f, p, r = onset_prf(visual, onsets)
    return AlignmentScores(
        onset_f=f,
        onset_precision=p,
        onset_recall=r,
        onset_f_chance=chance_level(f_only, visual, onsets, duration),
        onset_bas=beat_alignment_score(visual, onsets),
        onset_bas_chance=chance_level(beat_alignment_score, visual, onsets, duration),
        beat_f=onset_prf(visual, beats)[0],
        beat_bas=beat_alignment_score(visual, beats),
        beat_bas_chance=chance_level(beat_alignment_score, visual, beats, duration),
    )


def impulse_curve(times: np.ndarray, rate: float, length: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Events as unit impulses on a ``rate`` Hz grid (linear split between the two nearest bins)."""
    curve = np.zeros(length, np.float64)
    times = np.asarray(times, np.float64)
    weights = np.ones_like(times) if weights is None else np.asarray(weights, np.float64)
    position = times * rate
    low = np.floor(position).astype(int)
    frac = position - low
    for index, share in ((low, 1.0 - frac), (low + 1, frac)):
        keep = (index >= 0) & (index < length)
        np.add.at(curve, index[keep], (weights * share)[keep])
    return curve


def odf_lag(
    visual_novelty: np.ndarray, onset_strength: np.ndarray, rate: float, max_lag: float = MAX_LAG_S
) -> tuple[float, float]:
    """(lag in seconds, peak normalised correlation) of audio onset strength behind visual novelty.

    Both curves share the grid ``rate``. The search is limited to +-``max_lag``
    (callers pass less than half the visual event period so a periodic clip
    cannot alias to the neighbouring event); the peak is refined to sub-frame
    precision by a parabola through its neighbours.
    """
    length = min(visual_novelty.size, onset_strength.size)
    v = np.asarray(visual_novelty[:length], np.float64)
    a = np.asarray(onset_strength[:length], np.float64)
    v, a = v - v.mean(), a - a.mean()
    norm = float(np.linalg.norm(v) * np.linalg.norm(a))
    if length < 3 or norm == 0.0:
        return 0.0, 0.0
    max_shift = max(1, min(round(max_lag * rate), length - 2))
    lags = np.arange(-max_shift, max_shift + 1)
    corr = np.array([np.dot(v[max(0, -k) : length - max(0, k)], a[max(0, k) : length - max(0, -k)]) for k in lags])
    corr /= norm
    best = int(np.argmax(corr))
    offset = 0.0
    if 0 < best < corr.size - 1:
        left, centre, right = corr[best - 1], corr[best], corr[best + 1]
        denominator = left - 2.0 * centre + right
        offset = 0.5 * (left - right) / denominator if denominator < 0 else 0.0
    return float((lags[best] + offset) / rate), float(corr[best])
