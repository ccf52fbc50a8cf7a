"""Pitched voices: pads, strings, keys, plucks, bells, leads and basses.

A voice renders a note *held*: ``render(pitch, n, velocity, brightness)``
returns ``n`` samples of float32 audio, (n,) mono or (2, n) stereo, with its
attack and decay but no note-off. Renders are prefix-consistent (the first k
samples do not depend on n), so one rendering of a pitch serves every length:
a note of any length is the held sound up to note-off plus ``Voice.release``
seconds faded by a raised cosine (:func:`render_voice`). Sounds are built from
band-limited wavetables (subtractive-style brightness by fading between a dark
and a bright table), two-operator FM (keys, bells) and filtered noise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .dsp import (
    SR,
    envelope,
    filtered,
    lookup,
    midi_to_hz,
    noise,
    partials_for,
    phase_ramp,
    release_gate,
    stable_rng,
    wavetable,
)


@dataclass(frozen=True)
class Voice:
    render: Callable[[float, int, float, float], np.ndarray]
    release: float  # seconds of tail after note-off
    stereo: bool = False

    @property
    def release_samples(self) -> int:
        return max(32, round(self.release * SR))


def _swept(shape: str, freq: float, n: int, bright_env: np.ndarray, brightness: float, **vibrato: float) -> np.ndarray:
    """Wavetable note whose brightness follows ``bright_env`` (a filter envelope without a filter)."""
    phase = phase_ramp(freq, n, **vibrato)
    dark = lookup(wavetable(shape, partials_for(freq, 0.08 + 0.2 * brightness)), phase)
    bright = lookup(wavetable(shape, partials_for(freq, 0.35 + 0.65 * brightness)), phase)
    return dark + (bright - dark) * bright_env


def _ensemble(
    shape: str,
    freq: float,
    n: int,
    detunes: tuple[float, ...],
    brightness: float,
    seed: object,
    vibrato_hz: float = 0.0,
    vibrato_depth: float = 0.0,
) -> np.ndarray:
    """Stereo stack of detuned copies (cents), alternately panned: chorus-like width for pads and strings."""
    rng = stable_rng("ensemble", seed)
    table = wavetable(shape, partials_for(freq, brightness))
    out = np.zeros((2, n), np.float32)
    for k, cents in enumerate(detunes):
        phase = phase_ramp(
            freq * 2 ** (cents / 1200), n, float(rng.random()), vibrato_hz * (1 + 0.07 * k), vibrato_depth, 0.15
        )
        wave = lookup(table, phase)
        side = k % 2 if len(detunes) > 1 else 0
        out[side] += wave * (0.8 if k < 2 else 0.6)
        out[1 - side] += wave * (0.25 if k < 2 else 0.45)
    return out / len(detunes) * 1.6


def _pad(
    pitch: float,
    n: int,
    velocity: float,
    brightness: float,
    shape: str = "saw",
    cutoff: float = 1.0,
    attack: float = 0.35,
    sub: float = 0.0,
) -> np.ndarray:
    freq = midi_to_hz(pitch)
    wave = _ensemble(shape, freq, n, (-8.0, 7.0, 0.0), brightness, ("pad", pitch, shape))
    wave = filtered(wave, "lowpass", (700.0 + 2600.0 * brightness) * cutoff)
    if sub:
        wave += sub * np.sin(2 * np.pi * freq / 2 * np.arange(n) / SR).astype(np.float32)
    return wave * envelope(n, attack, 0.8, 0.8)


def _strings(
    pitch: float, n: int, velocity: float, brightness: float, attack: float = 0.18, cutoff: float = 1.0
) -> np.ndarray:
    freq = midi_to_hz(pitch)
    wave = _ensemble(
        "saw",
        freq,
        n,
        (-7.0, 6.0, -12.0, 11.0),
        0.6 + 0.4 * brightness,
        ("str", pitch),
        vibrato_hz=5.2,
        vibrato_depth=0.003,
    )
    wave = filtered(wave, "bandpass", (180.0, (1500.0 + 3500.0 * brightness) * cutoff * (0.7 + 0.5 * velocity)))
    return wave * envelope(n, attack * (1.3 - 0.6 * velocity))


def _brass(pitch: float, n: int, velocity: float, brightness: float) -> np.ndarray:
    freq = midi_to_hz(pitch)
    t = np.arange(n, dtype=np.float32) / SR
    swell = np.clip(t / 0.09, 0, 1) * (0.55 + 0.45 * velocity) * (0.75 + 0.25 * np.exp(-t / 0.6))
    left = _swept(
        "saw", freq * 2 ** (-4 / 1200), n, swell, brightness, vibrato_hz=5.0, vibrato_depth=0.004, vibrato_delay=0.3
    )
    right = _swept(
        "saw", freq * 2 ** (4 / 1200), n, swell, brightness, vibrato_hz=5.3, vibrato_depth=0.004, vibrato_delay=0.3
    )
    env = envelope(n, 0.05, 0.4, 0.85)
    return np.stack([left * 0.8 + right * 0.3, right * 0.8 + left * 0.3]) * env


def _epiano(pitch: float, n: int, velocity: float, brightness: float) -> np.ndarray:
    """Two-operator FM electric piano: a bell-like 'tine' attack over a mellow sine body."""
    freq = midi_to_hz(pitch)
    t = np.arange(n) / SR
    index = (0.6 + 1.6 * velocity * (0.5 + brightness)) * np.exp(-t / 0.45)
    body = np.sin(2 * np.pi * freq * t + index * np.sin(2 * np.pi * freq * t))
    tine = np.sin(2 * np.pi * freq * 14.0 * t) * np.exp(-t / 0.012) * 0.15 * velocity
    env = envelope(n, 0.002, 0.0, 1.0, curve=1.6 + 120.0 / freq)
    return ((body + tine) * env).astype(np.float32)


def _piano(pitch: float, n: int, velocity: float, brightness: float) -> np.ndarray:
    """Piano-like: two slightly detuned strings whose brightness dies away faster than their loudness."""
    freq = midi_to_hz(pitch)
    t = np.arange(n, dtype=np.float32) / SR
    tone = 0.3 + 0.5 * velocity * (0.4 + 0.6 * brightness)
    bright_env = tone * np.exp(-t / (0.18 + 40.0 / freq))
    strings = _swept("saw", freq * 2 ** (-0.8 / 1200), n, bright_env, brightness, start=0.0) + _swept(
        "saw", freq * 2 ** (0.8 / 1200), n, bright_env, brightness, start=0.37
    )
    body = filtered(strings, "lowpass", min(8000.0, 900.0 + 14.0 * freq))
    hammer_n = min(n, round(0.04 * SR))
    hammer = np.zeros(n, np.float32)
    hammer[:hammer_n] = filtered(noise(stable_rng("hammer", pitch), hammer_n), "bandpass", (400.0, 3000.0)) * np.exp(
        -t[:hammer_n] / 0.008
    )
    env = envelope(n, 0.002, 0.35 + 50.0 / freq, 0.35, curve=2.5 + 150.0 / freq)
    return ((0.5 * body + 0.12 * velocity * hammer) * env).astype(np.float32)


def _pluck(pitch: float, n: int, velocity: float, brightness: float) -> np.ndarray:
    freq = midi_to_hz(pitch)
    t = np.arange(n, dtype=np.float32) / SR
    wave = _swept("saw", freq, n, np.exp(-t / (0.05 + 0.1 * velocity)), brightness)
    return wave * envelope(n, 0.002, 0.0, 1.0, curve=0.35 + 60.0 / freq)


def _bell(
    pitch: float,
    n: int,
    velocity: float,
    brightness: float,
    ratio: float = 3.5,
    decay: float = 1.4,
    depth: float = 1.0,
) -> np.ndarray:
    freq = midi_to_hz(pitch)
    t = np.arange(n) / SR
    index = depth * (1.0 + 2.0 * brightness) * velocity * np.exp(-t / (0.4 * decay))
    wave = np.sin(2 * np.pi * freq * t + index * np.sin(2 * np.pi * freq * ratio * t))
    return (wave * envelope(n, 0.003, 0.0, 1.0, curve=decay)).astype(np.float32)


def _flute(pitch: float, n: int, velocity: float, brightness: float) -> np.ndarray:
    freq = midi_to_hz(pitch)
    phase = phase_ramp(freq, n, vibrato_hz=5.0, vibrato_depth=0.004, vibrato_delay=0.2)
    tone = np.sin(2 * np.pi * phase) + 0.18 * np.sin(4 * np.pi * phase) + 0.06 * np.sin(6 * np.pi * phase)
    breath = filtered(noise(stable_rng("breath", pitch), n), "bandpass", (freq * 1.5, min(freq * 6, 12000.0)))
    env = envelope(n, 0.06, 0.2, 0.85)
    return ((tone + 0.12 * breath) * env).astype(np.float32)


def _lead(pitch: float, n: int, velocity: float, brightness: float, shape: str = "square") -> np.ndarray:
    freq = midi_to_hz(pitch)
    t = np.arange(n, dtype=np.float32) / SR
    bright_env = 0.4 + 0.6 * np.exp(-t / 0.25)
    wave = _swept(shape, freq, n, bright_env, brightness * 0.8, vibrato_hz=5.5, vibrato_depth=0.005, vibrato_delay=0.25)
    wave = filtered(wave, "lowpass", 2500.0 + 4000.0 * brightness)
    return wave * envelope(n, 0.012, 0.3, 0.8)


def _bass(pitch: float, n: int, velocity: float, brightness: float, kind: str = "synth") -> np.ndarray:
    freq = midi_to_hz(pitch)
    t = np.arange(n, dtype=np.float32) / SR
    sub = np.sin(2 * np.pi * freq * t)
    if kind == "sub":
        wave = np.tanh(1.4 * (sub + 0.3 * np.sin(4 * np.pi * freq * t))) / np.tanh(1.4)
        env = envelope(n, 0.008, 0.5, 0.8)
    else:
        shape = "square" if kind == "pulse" else "saw"
        grit = _swept(shape, freq, n, np.exp(-t / (0.06 + 0.08 * velocity)), 0.35 * brightness + 0.1)
        wave = filtered(0.7 * sub + 0.55 * grit, "lowpass", 900.0 + 1200.0 * brightness)
        env = envelope(n, 0.004, 0.35, 0.7)
    return (wave * env).astype(np.float32)


def _air_pad(pitch: float, n: int, velocity: float, brightness: float) -> np.ndarray:
    freq = midi_to_hz(pitch)
    wave = _ensemble("triangle", freq, n, (-6.0, 6.0), 0.5, ("air", pitch))
    air = filtered(noise(stable_rng("air", pitch), n), "bandpass", (freq * 2, min(freq * 8, 12000.0))) * 0.08
    return (wave + air[None, :]) * envelope(n, 0.8, 0.0, 1.0)


VOICES: dict[str, Voice] = {
    "pad_warm": Voice(lambda p, n, v, b: _pad(p, n, v, b, "saw", 0.7), 0.9, True),
    "pad_bright": Voice(lambda p, n, v, b: _pad(p, n, v, b, "saw", 1.3, attack=0.2), 0.9, True),
    "pad_dark": Voice(lambda p, n, v, b: _pad(p, n, v, b, "square", 0.45, attack=0.5, sub=0.25), 0.9, True),
    "pad_air": Voice(_air_pad, 1.2, True),
    "strings_soft": Voice(lambda p, n, v, b: _strings(p, n, v, b, 0.35, 0.7), 0.5, True),
    "strings_dark": Voice(lambda p, n, v, b: _strings(p, n, v, b, 0.25, 0.55), 0.5, True),
    "strings_ensemble": Voice(lambda p, n, v, b: _strings(p, n, v, b, 0.08, 1.0), 0.5, True),
    "brass": Voice(_brass, 0.25, True),
    "brass_lead": Voice(_brass, 0.25, True),
    "epiano": Voice(_epiano, 0.35),
    "piano": Voice(_piano, 0.3),
    "piano_lead": Voice(_piano, 0.3),
    "pluck": Voice(_pluck, 0.12),
    "bell_soft": Voice(lambda p, n, v, b: _bell(p, n, v, b, 2.0, 1.8, 0.6), 0.6),
    "bell_bright": Voice(lambda p, n, v, b: _bell(p, n, v, b, 3.5, 1.2, 1.0), 0.6),
    "bell_dark": Voice(lambda p, n, v, b: _bell(p, n, v, b, 1.41, 1.6, 0.8), 0.6),
    "flute": Voice(_flute, 0.15),
    "lead_square": Voice(lambda p, n, v, b: _lead(p, n, v, b, "square"), 0.12),
    "lead_saw": Voice(lambda p, n, v, b: _lead(p, n, v, b, "saw"), 0.12),
    "bass_sub": Voice(lambda p, n, v, b: _bass(p, n, v, b, "sub"), 0.06),
    "bass_synth": Voice(lambda p, n, v, b: _bass(p, n, v, b, "synth"), 0.06),
    "bass_pulse": Voice(lambda p, n, v, b: _bass(p, n, v, b, "pulse"), 0.06),
}


def sustained(name: str, pitch: int, n: int, velocity: float, brightness: float) -> np.ndarray:
    """Voice ``name`` holding ``pitch`` for ``n`` samples, no note-off (it starts at zero)."""
    audio = np.asarray(VOICES[name].render(float(pitch), n, float(velocity), float(brightness)), np.float32)
    fade = min(n, round(0.0005 * SR))
    audio[..., :fade] *= np.linspace(0.0, 1.0, fade, endpoint=False, dtype=np.float32)
    return audio


def render_voice(name: str, pitch: int, n_on: int, velocity: float, brightness: float) -> np.ndarray:
    """One whole note of voice ``name``: held ``n_on`` samples, then the voice's release down to zero."""
    n_on, n_release = max(n_on, 64), VOICES[name].release_samples
    audio = sustained(name, pitch, n_on + n_release, velocity, brightness)
    audio[..., n_on:] *= release_gate(n_release)
    return audio
