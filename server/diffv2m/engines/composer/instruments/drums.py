"""Drum one-shots synthesised from sine sweeps and filtered noise.

Each hit is rendered once per (sound, round-robin variant) and mixed many times;
three variants with different noise keep repeated hits from sounding like a
machine gun. Every one-shot starts and ends at zero (no clicks).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from .dsp import SR, fade_edges, filtered, noise, stable_rng

VARIANTS = 3
# Pitch of the cymbal-like metallic partials (the classic 6-oscillator ratios).
_METAL = np.array([205.3, 304.4, 369.6, 522.7, 540.0, 800.0])


def _time(seconds: float) -> np.ndarray:
    return np.arange(round(seconds * SR), dtype=np.float32) / SR


def _sweep(t: np.ndarray, f_start: float, f_end: float, tau: float) -> np.ndarray:
    """Sine whose pitch falls exponentially from f_start to f_end (a drum membrane)."""
    freq = f_end + (f_start - f_end) * np.exp(-t / tau)
    return np.sin(2 * np.pi * np.cumsum(freq) / SR).astype(np.float32)


def _metal(t: np.ndarray, scale: float) -> np.ndarray:
    squares = np.sign(np.sin(2 * np.pi * np.outer(_METAL * scale, t))).sum(axis=0)
    return (squares / len(_METAL)).astype(np.float32)


def tuned(key: int, low: float) -> float:
    """Frequency of pitch class ``key`` in the octave [low, 2 low): drums tuned to the key
    (an untuned 51 Hz kick reads as a loud G# to the ear and to any chroma analysis)."""
    freq = 440.0 * 2.0 ** ((key - 9) / 12.0)
    while freq >= 2 * low:
        freq /= 2
    while freq < low:
        freq *= 2
    return freq


def root_or_fifth(key: int, low: float) -> float:
    """The lower of the key's root and fifth above ``low``: deep membranes stay deep in every key."""
    return min(tuned(key, low), tuned(key + 7, low))


def kick(rng: np.random.Generator, tone: float, key: int) -> np.ndarray:
    t = _time(0.5)
    body = _sweep(t, 150 + 60 * tone, root_or_fifth(key, 42.0), 0.03) * np.exp(-t / (0.22 + 0.1 * (1 - tone)))
    click = filtered(noise(rng, t.size), "bandpass", (1500.0, 6000.0)) * np.exp(-t / 0.004) * 0.25
    return np.tanh(1.6 * (body + click)) / np.tanh(1.6)


def snare(rng: np.random.Generator, tone: float, key: int) -> np.ndarray:
    t = _time(0.4)
    pitch = tuned(key + 7, 170.0)  # the fifth of the key
    body = (0.7 * _sweep(t, pitch * 1.3, pitch, 0.02) + 0.3 * np.sin(2 * np.pi * pitch * 1.78 * t)) * np.exp(-t / 0.05)
    wires = filtered(noise(rng, t.size), "bandpass", (1400.0, 8000.0 + 3000 * tone)) * np.exp(-t / 0.13)
    return 0.55 * body + 0.9 * wires


def clap(rng: np.random.Generator, tone: float) -> np.ndarray:
    t = _time(0.35)
    source = filtered(noise(rng, t.size), "bandpass", (900.0, 2600.0 + 1500 * tone))
    bursts = sum(np.exp(-np.maximum(t - d, 0) / 0.006) * (t >= d) for d in (0.0, 0.011, 0.022))
    tail = np.exp(-np.maximum(t - 0.03, 0) / 0.11) * (t >= 0.03)
    return source * (0.8 * bursts + 0.6 * tail)


def hat(rng: np.random.Generator, tone: float, open_: bool = False) -> np.ndarray:
    t = _time(0.5 if open_ else 0.12)
    decay = 0.22 if open_ else 0.03
    sizzle = filtered(noise(rng, t.size) + 0.6 * _metal(t, 1.0 + 0.3 * tone), "highpass", 6500.0 + 1500 * tone)
    return sizzle * np.exp(-t / decay)


def shaker(rng: np.random.Generator, tone: float) -> np.ndarray:
    t = _time(0.12)
    grains = filtered(noise(rng, t.size), "bandpass", (4500.0, 11000.0))
    return grains * np.minimum(t / 0.006, 1.0) * np.exp(-t / 0.035)


def rim(rng: np.random.Generator, tone: float) -> np.ndarray:
    t = _time(0.08)
    knock = np.sin(2 * np.pi * 1650 * t) * np.exp(-t / 0.012)
    crack = filtered(noise(rng, t.size), "bandpass", (2000.0, 6000.0)) * np.exp(-t / 0.007)
    return 0.6 * knock + 0.7 * crack


def tom(rng: np.random.Generator, tone: float, pitch: float = 110.0) -> np.ndarray:
    t = _time(0.6)
    body = _sweep(t, pitch * 1.5, pitch, 0.05) * np.exp(-t / 0.3)
    # The stick on the skin: a short broadband crack that makes the hit cut through a busy mix.
    skin = filtered(noise(rng, t.size), "bandpass", (400.0, 6000.0)) * np.exp(-t / 0.012) * 0.7
    return np.tanh(1.3 * (body + skin))


def taiko(rng: np.random.Generator, tone: float, key: int) -> np.ndarray:
    t = _time(1.1)
    pitch = root_or_fifth(key, 48.0)
    body = _sweep(t, pitch * 1.6, pitch, 0.06) * np.exp(-t / 0.55)
    thump = filtered(noise(rng, t.size), "lowpass", 900.0) * np.exp(-t / 0.05) * 1.5
    return np.tanh(1.4 * (body + thump))


def crash(rng: np.random.Generator, tone: float) -> np.ndarray:
    t = _time(2.4)
    wash = filtered(noise(rng, t.size) + 0.5 * _metal(t, 1.9), "highpass", 3500.0)
    wash = filtered(wash, "lowpass", 9000.0 + 5000 * tone, order=1)
    return wash * (0.35 * np.exp(-t / 0.05) + 0.65 * np.exp(-t / 0.9))


_MAKERS: dict[str, Callable[[np.random.Generator, float, int], np.ndarray]] = {
    "kick": kick,
    "snare": snare,
    "clap": lambda rng, tone, key: clap(rng, tone),
    "hat": lambda rng, tone, key: hat(rng, tone),
    "hat_open": lambda rng, tone, key: hat(rng, tone, open_=True),
    "shaker": lambda rng, tone, key: shaker(rng, tone),
    "rim": lambda rng, tone, key: rim(rng, tone),
    "tom_low": lambda rng, tone, key: tom(rng, tone, tuned(key, 75.0)),  # the tonic
    "tom_mid": lambda rng, tone, key: tom(rng, tone, tuned(key + 7, 105.0)),  # the fifth
    "taiko": taiko,
    "crash": lambda rng, tone, key: crash(rng, tone),
}
DRUMS = frozenset(_MAKERS)


@functools.lru_cache(maxsize=128)
def drum_hit(name: str, variant: int, tone: float, key: int = 0) -> np.ndarray:
    """Peak-normalised one-shot ``name`` (mono float32); ``tone`` 0..1 darkens/brightens it,
    membranes are tuned to pitch class ``key`` (kick, low tom, taiko) or its fifth (snare, mid tom)."""
    rng = stable_rng("drum", name, variant)
    hit = np.asarray(_MAKERS[name](rng, tone, key % 12), np.float32)
    hit = fade_edges(hit, fade_in=0.0005, fade_out=0.02)
    return (hit / max(float(np.abs(hit).max()), 1e-9)).astype(np.float32)


def riser(length: int, rng_key: int) -> np.ndarray:
    """A noise swell of ``length`` samples that rises into a cut (no onset of its own)."""
    rng = stable_rng("riser", rng_key, length)
    t = np.arange(length, dtype=np.float32) / max(length, 1)
    dark = filtered(noise(rng, length), "bandpass", (300.0, 1500.0))
    bright = filtered(noise(rng, length), "bandpass", (2500.0, 9000.0))
    swell = (dark * (1.0 - t) + bright * t) * t**2.5
    return fade_edges(swell / max(float(np.abs(swell).max()), 1e-9), fade_in=0.01, fade_out=0.004)
