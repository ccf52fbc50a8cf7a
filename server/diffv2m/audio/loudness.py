"""Loudness normalisation: -14 LUFS integrated, true peak <= -1 dBTP, no DC.

Every engine's output goes through :func:`normalise_loudness` before it is
written, so a score from the composer and one from Diff-V2M sit at the same
level on the timeline. Integrated loudness is ITU-R BS.1770-4 as implemented by
pyloudnorm; the true peak is measured on a 4x oversampled signal (the BS.1770
annex-2 method) and held under the ceiling by a look-ahead peak limiter, so
hitting the loudness target never costs clipping.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pyloudnorm
import scipy.fft
from scipy import ndimage, signal

OVERSAMPLE = 4
# BS.1770-4 annex 2 oversamples 4x through a 48-tap low-pass. An even length
# delays the output by half an oversampled step (it under-reads a crest by up to
# 0.17 dB); 97 taps have an integer delay, and a Kaiser window cut at the
# original Nyquist frequency keeps the passband flat to 18 kHz (+-0.03 dB).
_INTERPOLATOR = np.pad(signal.firwin(97, 1.0 / OVERSAMPLE, window=("kaiser", 8.0)) * OVERSAMPLE, (0, 3))
# Largest gain any polyphase branch of the interpolator can apply: lets
# true_peak skip blocks that cannot possibly hold the peak.
_BRANCH_GAIN = max(float(np.abs(_INTERPOLATOR[k::OVERSAMPLE]).sum()) for k in range(OVERSAMPLE))
# Branch 0 passes the original samples (the centre tap lands on it, the others on
# zeros of the sinc), so only branches 1..3 need computing.
_BRANCHES = [_INTERPOLATOR[k::OVERSAMPLE].astype(np.float32) for k in range(1, OVERSAMPLE)]
_BLOCK = 4096
_WORKERS = min(4, os.cpu_count() or 1)  # FFT threads for the long convolutions
_MIN_BLOCK_SECONDS = 0.4  # one BS.1770 gating block


def _as_channels(audio: np.ndarray) -> np.ndarray:
    """View any (N,) or (C, N) signal as (C, N)."""
    audio = np.asarray(audio)
    return audio[None, :] if audio.ndim == 1 else audio


def integrated_loudness(audio: np.ndarray, sr: int) -> float:
    """BS.1770 integrated loudness in LUFS (-inf for silence).

    Clips shorter than one 400 ms gating block are looped to that length: the
    loudness of a looped signal equals its own mean-square loudness. The meter
    gets float32 samples (it filters in float64 either way): half the memory
    of a float64 copy on a 10-minute score, same reading to 0.001 LU.
    """
    channels = _as_channels(audio)
    if channels.shape[-1] == 0:
        return -math.inf
    shortest = math.ceil(_MIN_BLOCK_SECONDS * sr) + 1
    if channels.shape[-1] < shortest:
        channels = np.tile(channels, (1, math.ceil(shortest / channels.shape[-1])))
    # A transposed view: the meter makes its own C-ordered copy anyway.
    frames = channels.T if channels.dtype == np.float32 else channels.T.astype(np.float32)
    with np.errstate(divide="ignore"):
        return float(pyloudnorm.Meter(sr).integrated_loudness(frames))


def true_peak(audio: np.ndarray) -> float:
    """Largest absolute value of the 4x oversampled signal (linear).

    Exact with respect to full oversampling, but only interpolates where the
    peak can be: an interpolated value is at most ``_BRANCH_GAIN`` times the
    largest sample under the filter, so blocks whose neighbourhood stays below
    ``sample peak / _BRANCH_GAIN`` cannot exceed the sample peak and are skipped.
    """
    channels = _as_channels(audio)
    length = channels.shape[-1]
    if length == 0:
        return 0.0
    magnitude = np.abs(channels).max(axis=0)
    best = float(magnitude.max())
    if best == 0.0:
        return 0.0
    blocks = math.ceil(length / _BLOCK)
    block_peak = np.zeros(blocks * _BLOCK, np.float32)
    block_peak[:length] = magnitude
    block_peak = block_peak.reshape(blocks, _BLOCK).max(axis=1)
    # The filter reaches less than a block either side: widen each block by its neighbours.
    reach = np.maximum(block_peak, np.maximum(np.r_[block_peak[1:], 0.0], np.r_[0.0, block_peak[:-1]]))
    selected = reach * _BRANCH_GAIN > best
    # Runs of consecutive selected blocks are filtered in one go (few, long C calls).
    edges = np.flatnonzero(np.diff(np.r_[0, selected.astype(np.int8), 0]))
    half = len(_INTERPOLATOR) // 2
    with scipy.fft.set_workers(_WORKERS):
        for first, stop in zip(edges[::2], edges[1::2], strict=True):
            # Long runs go in pieces of 512 blocks (48 s): bounded memory for the spectra.
            for piece in range(first, stop, 512):
                lo, hi = max(0, piece * _BLOCK - half), min(length, min(stop, piece + 512) * _BLOCK + half)
                for channel in channels[:, lo:hi]:
                    channel = channel.astype(np.float32, copy=False)
                    for branch in _BRANCHES:
                        best = max(best, float(np.abs(signal.oaconvolve(channel, branch)).max()))
    return best


def to_db(value: float) -> float:
    return 20.0 * math.log10(value) if value > 0 else -math.inf


def measure_loudness(audio: np.ndarray, sr: int) -> tuple[float, float]:
    """(integrated loudness in LUFS, true peak in dBTP) of a (C, N) or (N,) signal."""
    return integrated_loudness(audio, sr), to_db(true_peak(audio))


def remove_dc(audio: np.ndarray, sr: int, overwrite: bool = False) -> np.ndarray:
    """A float32 copy with each channel's mean removed, then high-passed at 10 Hz for slow drifts.

    ``overwrite``: work in ``audio`` itself when it is float32 already (its owner needs it no more).
    """
    channels = np.array(_as_channels(audio), dtype=np.float32, copy=None if overwrite else True)
    channels -= channels.mean(axis=-1, keepdims=True, dtype=np.float64).astype(np.float32)
    if channels.shape[-1] > 3 * sr // 10:
        sos = signal.butter(2, 10.0, btype="highpass", fs=sr, output="sos")
        for index in range(channels.shape[0]):  # one channel at a time: float64 temporaries stay small
            channels[index] = signal.sosfilt(sos, channels[index])
    return channels


def fade_edges(audio: np.ndarray, sr: int, seconds: float = 0.002) -> np.ndarray:
    """Raised-cosine fade-in/out of ``seconds``, in place: a file must not start or stop on a step (a click)."""
    channels = _as_channels(audio)
    n = min(channels.shape[-1] // 2, round(seconds * sr))
    if n > 0:
        ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)).astype(channels.dtype)
        channels[:, :n] *= ramp
        channels[:, -n:] *= ramp[::-1]
    return channels


def limit_peaks(
    audio: np.ndarray,
    sr: int,
    ceiling: float,
    gain: float = 1.0,
    lookahead_s: float = 0.005,
    hold_s: float = 0.04,
) -> np.ndarray:
    """``audio * gain`` through a look-ahead brick-wall limiter: no sample above ``ceiling`` (linear).

    The needed gain (ceiling / |x|, at most 1) is min-filtered over a window that
    reaches ``lookahead_s`` ahead and ``lookahead_s + hold_s`` behind, then
    averaged over +-``lookahead_s``. Every sample of that average window has the
    peak inside its min window, so the smoothed gain never exceeds the needed
    gain (no overshoot), while ramping over 2 x lookahead instead of jumping.
    """
    channels = _as_channels(audio)
    magnitude = np.abs(channels[0]) if channels.shape[0] == 1 else np.maximum(*np.abs(channels[:2]))
    for extra in channels[2:]:
        np.maximum(magnitude, np.abs(extra), out=magnitude)
    magnitude *= np.float32(gain)
    if magnitude.size == 0 or float(magnitude.max()) <= ceiling:
        return (channels * np.float32(gain)).astype(np.float32, copy=False)
    needed = np.minimum(1.0, ceiling / np.maximum(magnitude, 1e-12)).astype(np.float32)
    del magnitude
    ahead = max(1, round(lookahead_s * sr))
    shift = max(1, round(hold_s * sr / 2))  # the window reaches ahead + 2 * shift samples behind
    centred = ndimage.minimum_filter1d(needed, size=2 * (ahead + shift) + 1, mode="nearest")
    # centred[m] covers [m - ahead - shift, m + ahead + shift]; delaying it by
    # ``shift`` gives held[n] over [n - ahead - 2 * shift, n + ahead].
    held = np.concatenate([np.full(shift, centred[0], np.float32), centred[:-shift]])
    del centred
    smooth = ndimage.uniform_filter1d(held, size=2 * ahead + 1, mode="nearest")
    del held
    np.minimum(smooth, needed, out=smooth)  # guard against float rounding
    smooth *= np.float32(gain)
    return (channels * smooth[None, :]).astype(np.float32, copy=False)


def normalise_loudness(
    audio: np.ndarray, sr: int, target_lufs: float = -14.0, true_peak_db: float = -1.0
) -> np.ndarray:
    """Remove DC, bring integrated loudness to ``target_lufs`` and keep the true peak under ``true_peak_db``.

    The first and last 2 ms are faded so the file cannot start or end on a click.
    Returns float32 with the input's shape. Silence is returned as silence.
    """
    return normalise_and_measure(audio, sr, target_lufs, true_peak_db)[0]


def normalise_and_measure(
    audio: np.ndarray, sr: int, target_lufs: float = -14.0, true_peak_db: float = -1.0, overwrite: bool = False
) -> tuple[np.ndarray, float, float]:
    """:func:`normalise_loudness` plus the result's (LUFS, dBTP), measured on the way (no extra pass).

    ``overwrite``: ``audio`` may be changed in place (a renderer's own mix): one full-length copy
    fewer, 212 MB on a 10-minute stereo score.
    """
    squeeze = np.asarray(audio).ndim == 1
    channels = fade_edges(remove_dc(audio, sr, overwrite), sr)
    loudness = integrated_loudness(channels, sr)
    if not math.isfinite(loudness):
        silent = np.zeros_like(channels)
        return (silent[0] if squeeze else silent), -math.inf, -math.inf
    limit = 10.0 ** (true_peak_db / 20.0)
    ceiling = limit * 10.0 ** (-0.4 / 20.0)  # sample-domain ceiling; inter-sample overs need headroom
    measured = loudness  # of ``channels`` itself
    gain_db = target_lufs - measured
    sample_peak = float(np.abs(channels).max())
    result, peak = channels, 0.0
    for _ in range(4):
        gain = 10.0 ** (gain_db / 20.0)
        result = limit_peaks(channels, sr, ceiling, gain)
        peak = true_peak(result)
        if peak > limit:  # inter-sample peak still over: lower the ceiling by the excess and retry
            ceiling /= peak / limit * 1.001
            del result
            result = limit_peaks(channels, sr, ceiling, gain)
            peak = true_peak(result)
        if sample_peak * gain <= ceiling:
            # The limiter left it alone: a pure gain, whose loudness BS.1770 gives exactly.
            loudness = measured + gain_db
            break
        loudness = integrated_loudness(result, sr)
        if abs(target_lufs - loudness) < 0.15 or peak > limit:
            break
        gain_db += target_lufs - loudness  # limiting cost some loudness: push the gain up by the shortfall
    if peak > limit:  # last resort: never ship overs, even at the cost of loudness
        scale = limit / peak * 0.999
        result = result * np.float32(scale)
        loudness += to_db(scale)
        peak *= scale
    return (result[0] if squeeze else result), loudness, to_db(peak)
