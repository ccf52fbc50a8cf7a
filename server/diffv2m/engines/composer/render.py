"""Mixing the score to stereo: parts in balance, panning, ducking, reverb.

Every sound (sounds.py) is added whole into a stereo dry bus and a mono reverb
send, scaled so that each part (drums, bass, bed, harmony, melody...) plays at
the loudness the mood's balance asks for, whatever instrument the seed chose.
The reverb is a convolution with a synthetic stereo room (decaying filtered
noise, decorrelated left/right); the whole mix is then tilted by the mood's
brightness.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import scipy.fft
from scipy import ndimage, signal

from ..base import ProgressFn
from .instruments.dsp import SR, filtered, stable_rng
from .sounds import Sound, SoundBank, release_of
from .timeline import Note

TAIL = 3.0  # seconds rendered past the end so that no note is cut before mixing
ACTIVITY_FRAME = 441  # samples: resolution at which a part counts as "playing" (10 ms)


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


def pan_gains(pan: float) -> tuple[float, float]:
    angle = (pan + 1.0) * np.pi / 4  # constant-power
    return float(np.cos(angle)), float(np.sin(angle))


def duck_envelope(notes: list[Note], length: int) -> np.ndarray:
    """1 - a 120 ms exponential dip after each kick: the pumping of sidechain compression."""
    impulses = np.zeros(length, np.float32)
    for note in notes:
        if note.voice in DUCKERS:
            start = round(note.time * SR)
            if 0 <= start < length:
                impulses[start] = max(impulses[start], note.velocity)
    decay = np.float32(np.exp(-1.0 / (0.12 * SR)))
    dip = signal.lfilter(np.ones(1, np.float32), np.array([1.0, -decay], np.float32), impulses)
    # A 10 ms ramp into the dip instead of a step keeps the ducking click-free. It starts at
    # the hit, not before: ducking ahead of the hit would blunt the very onset it makes room for.
    ramp = round(0.01 * SR)
    ndimage.uniform_filter1d(dip, ramp, output=impulses, origin=(ramp - 1) // 2)
    np.minimum(impulses, 1.0, out=impulses)
    np.subtract(1.0, impulses, out=impulses)
    return impulses


@functools.lru_cache(maxsize=8)
def room_impulse(seconds: float) -> np.ndarray:
    """Stereo impulse response: sparse early reflections then a dark, decorrelated exponential tail."""
    rng = stable_rng("room", round(seconds, 2))
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
    ir = ir / np.sqrt((ir**2).sum(axis=1, keepdims=True)) * 0.5
    ir.setflags(write=False)
    return ir


def _add_reverb(dry: np.ndarray, send: np.ndarray, ir: np.ndarray, chunk: int = 1 << 21) -> None:
    """dry[side] += send convolved with ir[side], for both sides, chunk by chunk (overlap-add).

    Each chunk of the send is transformed once and multiplied by both sides'
    spectra; chunks of 48 s keep the spectra near 50 MB on a 10-minute score.
    """
    chunk = min(chunk, send.size)
    size = scipy.fft.next_fast_len(chunk + ir.shape[-1] - 1, real=True)
    response = scipy.fft.rfft(ir, size, axis=-1)
    length = dry.shape[-1]
    for start in range(0, send.size, chunk):
        piece = send[start : start + chunk]
        if not piece.any():
            continue
        spectrum = scipy.fft.rfft(piece, size)
        stop = min(length, start + piece.size + ir.shape[-1] - 1)
        for side in range(2):
            dry[side, start:stop] += scipy.fft.irfft(spectrum * response[side], size)[: stop - start]


class Mixer:
    """Accumulates notes into a dry stereo bus and a mono reverb send, part by part in balance."""

    def __init__(self, num_samples: int, brightness: float, key: int, progress: ProgressFn) -> None:
        self.length = num_samples + round(TAIL * SR)
        self.num_samples = num_samples
        self.dry = np.zeros((2, self.length), np.float32)
        self.send = np.zeros(self.length, np.float32)
        self.brightness = brightness
        self.progress = progress
        self.bank = SoundBank(brightness, key)
        self.part_levels: dict[str, float] = {}

    def _prepare(self, notes: list[Note], fraction: tuple[float, float]) -> list[tuple[int, str, str, Sound, float]]:
        """Render (or fetch) every sound: (start sample, voice, part, sound, amplitude)."""
        first, last = fraction
        self.bank.reserve(
            [(n.voice, n.pitch, n.length, n.velocity) for n in notes if round(n.time * SR) < self.length],
            lambda done: self.progress("generating", first + 0.9 * (last - first) * done),
        )
        self.progress("generating", first + 0.9 * (last - first))
        prepared = []
        for note in notes:
            start = round(note.time * SR)
            if start < self.length:
                sound, amplitude = self.bank.sound(note.voice, note.pitch, note.length, note.velocity)
                if start + sound.length > 0:  # notes that began before the range enter mid-way
                    prepared.append((start, note.voice, note.part, sound, amplitude))
        return prepared

    def _part_gains(
        self, prepared: list[tuple[int, str, str, Sound, float]], balance: dict[str, float]
    ) -> dict[str, float]:
        """Gain per part that brings its loudness while playing to the mood's balance.

        A part's level is its summed K-weighted energy over the time it plays
        (10 ms frames touched by one of its sounds' first second), like a gated
        loudness measure, so a sparse melody is not mistaken for a quiet one.
        """
        energy: dict[str, float] = {}
        frames = self.length // ACTIVITY_FRAME + 1
        active: dict[str, np.ndarray] = {}
        for start, voice, part, sound, amplitude in prepared:
            gain = MIXER[voice].gain * amplitude
            energy[part] = energy.get(part, 0.0) + sound.energy * gain * gain
            mask = active.setdefault(part, np.zeros(frames, bool))
            span = min(sound.length, SR)
            mask[max(0, start) // ACTIVITY_FRAME : max(0, start + span) // ACTIVITY_FRAME + 1] = True
        gains = {}
        for part, total in energy.items():
            seconds = active[part].sum() * ACTIVITY_FRAME / SR
            level = 10 * np.log10(max(total / max(seconds * SR, 1.0), 1e-20))
            self.part_levels[part] = level
            gains[part] = 10 ** ((balance.get(part, -20.0) - level) / 20) if total > 0 else 1.0
        return gains

    def _add(self, start: int, piece: np.ndarray, voice: str, gain: float, duck: np.ndarray) -> None:
        """Add ``piece`` (mono or stereo) at ``start``: panned to the dry bus, summed to the send."""
        skip = max(0, -start)
        start += skip
        stop = min(self.length, start + piece.shape[-1] - skip)
        if stop <= start:
            return
        piece = piece[..., skip : skip + stop - start]
        channel = MIXER[voice]
        if channel.duck:
            piece = piece * (1.0 - channel.duck * (1.0 - duck[start:stop]))
        left, right = pan_gains(channel.pan)
        if piece.ndim == 2:
            self.dry[0, start:stop] += (gain * left * 1.41) * piece[0]
            self.dry[1, start:stop] += (gain * right * 1.41) * piece[1]
            mono = 0.5 * (piece[0] + piece[1])
        else:
            self.dry[0, start:stop] += (gain * left) * piece
            self.dry[1, start:stop] += (gain * right) * piece
            mono = piece
        if channel.send:
            self.send[start:stop] += (gain * channel.send) * mono

    def mix(self, notes: list[Note], balance: dict[str, float], fraction: tuple[float, float]) -> None:
        prepared = self._prepare(notes, fraction)
        part_gain = self._part_gains(prepared, balance)
        duck = duck_envelope(notes, self.length)
        first, last = fraction
        for count, (start, voice, part, sound, amplitude) in enumerate(prepared):
            if count % 512 == 0:
                self.progress("generating", first + (last - first) * (0.9 + 0.1 * count / len(prepared)))
            gain = MIXER[voice].gain * amplitude * part_gain[part]
            self._add(start, sound.audio[..., : sound.held], voice, gain, duck)
            if sound.release:
                self._add(start + sound.held, release_of(sound), voice, gain, duck)

    def finish(self, reverb_amount: float) -> np.ndarray:
        """Reverb, tone shaping and edge fades; returns (2, num_samples) float32."""
        return master(self.dry, self.send, self.num_samples, self.brightness, reverb_amount)


def master(dry: np.ndarray, send: np.ndarray, num_samples: int, brightness: float, reverb_amount: float) -> np.ndarray:
    """The mix bus of both renderers: reverb from ``send`` into ``dry``, the mood's tilt, edge fades.

    Works in place on ``dry`` ((2, n) with n >= num_samples) and returns its first ``num_samples``.
    """
    ir = room_impulse(round(1.2 + 1.8 * reverb_amount, 2)) * np.float32(0.5 + 0.9 * reverb_amount)
    _add_reverb(dry, send, ir)
    out = dry[:, :num_samples]
    # Tilt the whole mix with the mood's brightness: a first-order shelf around 2.5 kHz.
    tilt = np.float32(10.0 ** ((brightness - 0.5) * 14.0 / 20.0) - 1.0)
    for side in range(2):  # per channel: one channel's temporaries at a time
        out[side] += tilt * filtered(out[side], "highpass", 2500.0, order=1)
    fade_in, fade_out = min(out.shape[-1] // 2, round(0.004 * SR)), min(out.shape[-1] // 2, round(0.04 * SR))
    if fade_in:
        out[:, :fade_in] *= np.linspace(0.0, 1.0, fade_in, dtype=np.float32)
    if fade_out:
        out[:, out.shape[-1] - fade_out :] *= np.linspace(1.0, 0.0, fade_out, dtype=np.float32)
    return out


def render(
    notes: list[Note],
    num_samples: int,
    brightness: float,
    reverb: float,
    balance: dict[str, float],
    key: int,
    progress: ProgressFn,
) -> np.ndarray:
    """Stereo mix of ``notes``: exactly ``num_samples`` long, before loudness normalisation.

    ``balance`` is the loudness (dB, relative) each part should have while it plays;
    ``key`` the tonic's pitch class, which the drums are tuned to.
    """
    mixer = Mixer(num_samples, brightness, key, progress)
    mixer.mix(notes, balance, (0.2, 0.8))
    progress("generating", 0.85)
    return mixer.finish(reverb)
