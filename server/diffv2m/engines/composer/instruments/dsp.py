"""Signal building blocks shared by the voices: band-limited wavetables, envelopes, filters.

Everything works on whole notes at once (vectorised numpy), so a voice costs a
few array operations per sample instead of a Python loop.
"""

from __future__ import annotations

import functools
import zlib

import numpy as np
from scipy import signal

SR = 44_100
TABLE_SIZE = 2048
NYQUIST_GUARD = 16_000.0  # highest partial a wavetable may contain (keeps aliasing out)


def stable_rng(*key: object) -> np.random.Generator:
    """A generator seeded by ``key`` identically in every process (unlike ``hash``)."""
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def midi_to_hz(pitch: float) -> float:
    return 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)


@functools.lru_cache(maxsize=512)
def wavetable(shape: str, partials: int) -> np.ndarray:
    """One cycle (+1 wrap sample) of a band-limited waveform with ``partials`` harmonics.

    shape: "saw" (all harmonics, 1/h), "square" (odd, 1/h), "triangle" (odd, 1/h^2, alternating).
    """
    harmonics = np.arange(1, max(1, min(partials, TABLE_SIZE // 2 - 1)) + 1)
    if shape == "saw":
        amps = 1.0 / harmonics
    elif shape == "square":
        amps = np.where(harmonics % 2 == 1, 1.0 / harmonics, 0.0)
    elif shape == "triangle":
        amps = np.where(harmonics % 2 == 1, (-1.0) ** ((harmonics - 1) // 2) / harmonics**2, 0.0)
    else:
        raise ValueError(f"unknown wavetable shape {shape!r}")
    # Lanczos sigma factors soften the Gibbs ripple of the truncated series.
    amps = amps * np.sinc(harmonics / (harmonics[-1] + 1))
    # sum_h a_h sin(2 pi h x) through one inverse FFT instead of a sine per harmonic and sample.
    spectrum = np.zeros(TABLE_SIZE // 2 + 1, np.complex128)
    spectrum[harmonics] = -0.5j * TABLE_SIZE * amps
    table = np.fft.irfft(spectrum, TABLE_SIZE)
    table /= np.abs(table).max()
    return np.append(table, table[0]).astype(np.float32)


def partials_for(freq: float, brightness: float = 1.0) -> int:
    """How many harmonics a note at ``freq`` can hold, scaled by ``brightness`` (0..1)."""
    limit = NYQUIST_GUARD * (0.15 + 0.85 * brightness)
    return int(max(1, min(TABLE_SIZE // 2 - 1, limit // max(freq, 1.0))))


@functools.lru_cache(maxsize=8)
def _seconds(n: int) -> np.ndarray:
    """Time axis of ``n`` samples (cached: the same lengths recur for every note of a tempo)."""
    return np.arange(n, dtype=np.float64) / SR


@functools.lru_cache(maxsize=64)
def _vibrato_shape(rate: float, delay: float, n: int) -> np.ndarray:
    """Phase offset (cycles per Hz of depth) of a sine vibrato that fades in after ``delay``."""
    t = _seconds(n)
    fade = np.clip((t - delay) / 0.3, 0.0, 1.0)
    return fade * (1.0 - np.cos(2 * np.pi * rate * t)) / (2 * np.pi * rate)


def phase_ramp(
    freq: float,
    n: int,
    start: float = 0.0,
    vibrato_hz: float = 0.0,
    vibrato_depth: float = 0.0,
    vibrato_delay: float = 0.0,
) -> np.ndarray:
    """Oscillator phase in cycles for ``n`` samples, with an optional delayed vibrato (depth as a frequency ratio)."""
    phase = _seconds(n) * freq + start
    if vibrato_hz > 0 and vibrato_depth > 0:
        phase += (freq * vibrato_depth) * _vibrato_shape(round(vibrato_hz, 3), vibrato_delay, n)
    return phase


def lookup(table: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """Linear-interpolated wavetable read at ``phase`` (cycles, >= 0; wraps)."""
    position = phase * TABLE_SIZE
    whole = position.astype(np.int64)  # phases are never negative: truncation is floor
    frac = (position - whole).astype(np.float32)
    whole &= TABLE_SIZE - 1  # TABLE_SIZE is a power of two: & wraps
    low = table[whole]
    return low + frac * (table[whole + 1] - low)


def envelope(n: int, attack: float, decay: float = 0.0, sustain: float = 1.0, curve: float = 0.0) -> np.ndarray:
    """Amplitude shape of a held note: linear attack, exponential decay to ``sustain``.

    ``curve`` > 0 adds a slow exponential fade (time constant in seconds) on top,
    for plucked or struck sounds. There is no release here: a note of any length
    is this shape cut by :func:`release_gate`, which is what lets one rendering
    serve every length of the same note.
    """
    t = _seconds(n).astype(np.float32)
    attack = max(attack, 0.002)
    env = np.minimum(t / attack, 1.0)
    if decay > 0:
        env *= sustain + (1.0 - sustain) * np.exp(-np.maximum(t - attack, 0.0) / decay)
    if curve > 0:
        env *= np.exp(-np.maximum(t - attack, 0.0) / curve)
    return env


@functools.lru_cache(maxsize=64)
def release_gate(n: int) -> np.ndarray:
    """Raised-cosine fall from 1 to 0 over ``n`` samples (the note-off): continuous, so no click."""
    ramp = (0.5 * (1.0 + np.cos(np.pi * (np.arange(n) + 1) / n))).astype(np.float32)
    ramp.setflags(write=False)  # cached and shared: no caller may write into it
    return ramp


def release_samples(seconds: float) -> int:
    return max(32, round(seconds * SR))


@functools.lru_cache(maxsize=256)
def _sos(kind: str, cutoff: float | tuple[float, float], order: int) -> np.ndarray:
    return signal.butter(order, cutoff, btype=kind, fs=SR, output="sos")


def filtered(x: np.ndarray, kind: str, cutoff: float | tuple[float, float], order: int = 2) -> np.ndarray:
    """Butterworth low/high/band-pass along the last axis (float32 in, float32 out).

    Filters whose lowest corner is at 100 Hz or more run in float32 (half the
    memory on long buses); lower corners keep float64, whose poles sit too close
    to the unit circle for single precision.
    """
    if isinstance(cutoff, tuple):
        cutoff = (max(20.0, cutoff[0]), min(SR * 0.45, cutoff[1]))
        lowest = cutoff[0]
    else:
        cutoff = float(np.clip(cutoff, 20.0, SR * 0.45))
        lowest = cutoff
    sos = _sos(kind, cutoff, order)
    if lowest >= 100.0:
        sos = sos.astype(np.float32)
        x = np.asarray(x, np.float32)
    return signal.sosfilt(sos, x, axis=-1).astype(np.float32, copy=False)


def noise(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.standard_normal(n).astype(np.float32)


def fade_edges(x: np.ndarray, fade_in: float = 0.001, fade_out: float = 0.005) -> np.ndarray:
    """Force a sample to start and end at zero with short raised-cosine ramps."""
    n = x.shape[-1]
    a, b = min(n // 2, max(1, round(fade_in * SR))), min(n // 2, max(1, round(fade_out * SR)))
    x = x.copy()
    x[..., :a] *= 0.5 - 0.5 * np.cos(np.pi * np.arange(a) / a)
    x[..., n - b :] *= 0.5 + 0.5 * np.cos(np.pi * np.arange(1, b + 1) / b)
    return x
