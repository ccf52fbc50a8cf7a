"""Mixing the score to stereo: one-shots and cached notes, panning, ducking, reverb.

Identical notes (same voice, pitch, length and velocity step) are rendered once
and mixed wherever they recur, which is what makes minutes of music cost
seconds. Every note is added whole into a stereo dry bus and a mono reverb send;
the reverb is a convolution with a synthetic stereo room (decaying filtered
noise, decorrelated left/right).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from scipy import ndimage, signal

from ..base import ProgressFn
from .instruments import DRUMS, drum_hit, render_voice, riser
from .instruments.drums import VARIANTS
from .instruments.dsp import SR, filtered, stable_rng
from .timeline import Note

TAIL = 3.0  # seconds rendered past the end so that no note is cut before mixing
VELOCITY_STEPS = 8  # notes are cached per velocity step
CACHE_BYTES = 192 * 1024 * 1024  # rendered notes kept between jobs (a regenerate reuses most of them)


class NoteCache:
    """Least-recently-used store of rendered notes, bounded in bytes, shared by all jobs (thread-safe)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self._items: OrderedDict[tuple[object, ...], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...]) -> np.ndarray | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: tuple[object, ...], value: np.ndarray) -> None:
        value.setflags(write=False)  # shared between jobs: nobody may change it in place
        with self._lock:
            if key in self._items:
                return
            self._items[key] = value
            self.used += value.nbytes
            while self.used > self.budget and self._items:
                _, dropped = self._items.popitem(last=False)
                self.used -= dropped.nbytes

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.used = 0


NOTE_CACHE = NoteCache(CACHE_BYTES)


@dataclass(frozen=True)
class Channel:
    gain: float
    pan: float  # -1 left .. +1 right
    send: float  # reverb send
    duck: float = 0.0  # how much the kick pushes it down (sidechain pump)


MIXER: dict[str, Channel] = {
    "kick": Channel(0.95, 0.0, 0.04),
    "snare": Channel(0.55, 0.0, 0.25),
    "clap": Channel(0.5, 0.05, 0.3),
    "hat": Channel(0.2, 0.3, 0.08),
    "hat_open": Channel(0.15, 0.3, 0.12),
    "shaker": Channel(0.14, -0.35, 0.12),
    "rim": Channel(0.42, -0.15, 0.3),
    "tom_low": Channel(0.5, -0.25, 0.25),
    "tom_mid": Channel(0.48, 0.2, 0.25),
    "taiko": Channel(0.85, 0.0, 0.35),
    "crash": Channel(0.28, 0.25, 0.3),
    "riser": Channel(0.2, 0.0, 0.45),
    "bass_sub": Channel(0.55, 0.0, 0.02, 0.45),
    "bass_synth": Channel(0.45, 0.0, 0.04, 0.5),
    "bass_pulse": Channel(0.4, 0.0, 0.04, 0.5),
    "pad_warm": Channel(0.13, 0.0, 0.45, 0.35),
    "pad_bright": Channel(0.12, 0.0, 0.4, 0.45),
    "pad_dark": Channel(0.13, 0.0, 0.45, 0.3),
    "pad_air": Channel(0.12, 0.0, 0.55, 0.2),
    "strings_soft": Channel(0.13, 0.0, 0.45, 0.15),
    "strings_dark": Channel(0.13, 0.0, 0.45, 0.25),
    "strings_ensemble": Channel(0.13, 0.0, 0.4, 0.2),
    "brass": Channel(0.14, 0.0, 0.35, 0.2),
    "brass_lead": Channel(0.22, 0.1, 0.35),
    "epiano": Channel(0.17, -0.25, 0.3, 0.15),
    "piano": Channel(0.2, -0.2, 0.3),
    "piano_lead": Channel(0.3, 0.1, 0.3),
    "pluck": Channel(0.14, 0.25, 0.3, 0.2),
    "bell_soft": Channel(0.17, 0.3, 0.45),
    "bell_bright": Channel(0.15, 0.3, 0.4),
    "bell_dark": Channel(0.17, 0.3, 0.5),
    "flute": Channel(0.26, 0.15, 0.4),
    "lead_square": Channel(0.15, 0.1, 0.3),
    "lead_saw": Channel(0.15, 0.1, 0.3),
}
DUCKERS = frozenset({"kick", "taiko"})


def _pan_gains(pan: float) -> tuple[float, float]:
    angle = (pan + 1.0) * np.pi / 4  # constant-power
    return float(np.cos(angle)), float(np.sin(angle))


def _duck_envelope(notes: list[Note], length: int) -> np.ndarray:
    """1 - a 120 ms exponential dip after each kick: the pumping of sidechain compression."""
    impulses = np.zeros(length, np.float32)
    for note in notes:
        if note.voice in DUCKERS:
            start = round(note.time * SR)
            if 0 <= start < length:
                impulses[start] = max(impulses[start], note.velocity)
    decay = np.float32(np.exp(-1.0 / (0.12 * SR)))
    dip = signal.lfilter(np.ones(1, np.float32), np.array([1.0, -decay], np.float32), impulses)
    # A 10 ms ramp into the dip instead of a step keeps the ducking click-free.
    dip = ndimage.uniform_filter1d(dip, round(0.01 * SR))
    return 1.0 - np.minimum(dip, 1.0)


def room_impulse(seconds: float, seed: int) -> np.ndarray:
    """Stereo impulse response: sparse early reflections then a dark, decorrelated exponential tail."""
    rng = stable_rng("room", seed, round(seconds, 2))
    n = round(seconds * SR)
    t = np.arange(n, dtype=np.float32) / SR
    ir = np.zeros((2, n), np.float32)
    predelay = round(0.018 * SR)
    for side in range(2):
        tail = rng.standard_normal(n).astype(np.float32) * np.exp(-6.9 * t / seconds)
        tail = filtered(tail, "lowpass", 5500.0, order=1)
        tail = filtered(tail, "lowpass", 9000.0, order=1)
        ir[side, predelay:] = tail[: n - predelay] * np.minimum(t[: n - predelay] / 0.03, 1.0)
        for delay in rng.uniform(0.007, 0.06, 6):
            ir[side, round(delay * SR)] += float(rng.uniform(0.2, 0.5)) * (1 if rng.random() > 0.5 else -1)
    return ir / np.sqrt((ir**2).sum(axis=1, keepdims=True)) * 0.5


class Mixer:
    """Accumulates notes into a dry stereo bus and a mono reverb send."""

    def __init__(self, num_samples: int, brightness: float, progress: ProgressFn) -> None:
        self.length = num_samples + round(TAIL * SR)
        self.num_samples = num_samples
        self.dry = np.zeros((2, self.length), np.float32)
        self.send = np.zeros(self.length, np.float32)
        self.brightness = brightness
        self.progress = progress
        self._chords: dict[tuple[object, ...], np.ndarray] = {}
        self._round_robin: dict[str, int] = {}

    def _note(self, voice: str, pitch: int, n_on: int, velocity: float) -> np.ndarray:
        key = (voice, pitch, n_on, velocity, round(self.brightness, 3))
        sound = NOTE_CACHE.get(key)
        if sound is None:
            if voice == "riser":
                sound = riser(n_on, n_on)
            else:
                sound = render_voice(voice, pitch, n_on, max(velocity, 0.1), self.brightness)
            sound = sound * np.float32(max(velocity, 0.05) ** 1.2)
            NOTE_CACHE.put(key, sound)
        return sound

    def _sound(self, voice: str, pitches: tuple[int, ...], length: float, velocity: float) -> np.ndarray:
        """Audio of one drum hit, or of all same-voice notes struck together (a chord), cached."""
        velocity = round(velocity * VELOCITY_STEPS) / VELOCITY_STEPS
        if voice in DRUMS:
            variant = self._round_robin.get(voice, 0)
            self._round_robin[voice] = (variant + 1) % VARIANTS
            return drum_hit(voice, variant, round(self.brightness, 2)) * (velocity**1.3)
        n_on = max(64, round(length * SR))
        if len(pitches) == 1:
            return self._note(voice, pitches[0], n_on, velocity)
        key = (voice, pitches, n_on, velocity)
        if key not in self._chords:
            notes = [self._note(voice, p, n_on, velocity) for p in pitches]
            chord = np.zeros((*notes[0].shape[:-1], max(n.shape[-1] for n in notes)), np.float32)
            for note in notes:  # voices may end their notes early (a piano string dies out)
                chord[..., : note.shape[-1]] += note
            self._chords[key] = chord
        return self._chords[key]

    def mix(self, notes: list[Note], fraction: tuple[float, float]) -> None:
        duck = _duck_envelope(notes, self.length)
        # Notes of one voice struck together are mixed as one chord: a quarter of the adds.
        groups: dict[tuple[str, float, float, float], list[int]] = {}
        for note in notes:
            groups.setdefault((note.voice, note.time, note.length, note.velocity), []).append(note.pitch)
        first, last = fraction
        for count, ((voice, time, length, velocity), pitches) in enumerate(groups.items()):
            if count % 256 == 0:
                self.progress("generating", first + (last - first) * count / max(len(groups), 1))
            start = round(time * SR)
            if not 0 <= start < self.length:
                continue
            sound = self._sound(voice, tuple(sorted(pitches)), length, velocity)
            channel = MIXER[voice]
            stop = min(self.length, start + sound.shape[-1])
            piece = sound[..., : stop - start]
            if channel.duck:
                piece = piece * (1.0 - channel.duck * (1.0 - duck[start:stop]))
            left, right = _pan_gains(channel.pan)
            if piece.ndim == 2:
                self.dry[0, start:stop] += channel.gain * left * 1.41 * piece[0]
                self.dry[1, start:stop] += channel.gain * right * 1.41 * piece[1]
                mono = 0.5 * (piece[0] + piece[1])
            else:
                self.dry[0, start:stop] += (channel.gain * left) * piece
                self.dry[1, start:stop] += (channel.gain * right) * piece
                mono = piece
            if channel.send:
                self.send[start:stop] += (channel.gain * channel.send) * mono

    def finish(self, reverb_amount: float, seed: int) -> np.ndarray:
        """Reverb, tone shaping and edge fades; returns (2, num_samples) float32."""
        ir = room_impulse(1.2 + 1.8 * reverb_amount, seed)
        wet_gain = 0.5 + 0.9 * reverb_amount
        for side in range(2):
            wet = signal.oaconvolve(self.send, ir[side])[: self.length]
            self.dry[side] += wet_gain * wet.astype(np.float32)
        out = self.dry[:, : self.num_samples]
        # Tilt the whole mix with the mood's brightness: a first-order shelf around 2.5 kHz.
        highs = filtered(out, "highpass", 2500.0, order=1)
        out += np.float32(10.0 ** ((self.brightness - 0.5) * 14.0 / 20.0) - 1.0) * highs
        fade_in, fade_out = min(out.shape[-1] // 2, round(0.004 * SR)), min(out.shape[-1] // 2, round(0.04 * SR))
        if fade_in:
            out[:, :fade_in] *= np.linspace(0.0, 1.0, fade_in, dtype=np.float32)
        if fade_out:
            out[:, out.shape[-1] - fade_out :] *= np.linspace(1.0, 0.0, fade_out, dtype=np.float32)
        return out


def render(
    notes: list[Note], num_samples: int, brightness: float, reverb: float, seed: int, progress: ProgressFn
) -> np.ndarray:
    """Stereo mix of ``notes``: exactly ``num_samples`` long, before loudness normalisation."""
    mixer = Mixer(num_samples, brightness, progress)
    mixer.mix(notes, (0.2, 0.8))
    progress("generating", 0.85)
    return mixer.finish(reverb, seed)
