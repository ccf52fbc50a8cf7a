"""Rendered sounds for the mixer: notes, chords and drum hits, cached, with their loudness.

Identical notes (same voice, pitch, length, velocity step and brightness) are
rendered once and reused wherever they recur, also across jobs (a bounded LRU
shared by all jobs), which is what makes minutes of music cost seconds. Each
sound also carries its K-weighted energy (ITU-R BS.1770's weighting, taken from
pyloudnorm), which lets the mixer balance whole parts without rendering stems.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pyloudnorm
from scipy import signal

from .instruments import DRUMS, drum_hit, render_voice, riser
from .instruments.drums import VARIANTS
from .instruments.dsp import SR

VELOCITY_STEPS = 8  # notes are cached per velocity step
CACHE_BYTES = 192 * 1024 * 1024  # rendered notes kept between jobs (a regenerate reuses most of them)


@dataclass(frozen=True)
class Sound:
    audio: np.ndarray  # (n,) mono or (2, n) stereo, float32, read-only
    energy: float  # K-weighted sum of squares (per channel, averaged)


class NoteCache:
    """Least-recently-used store of rendered sounds, bounded in bytes, shared by all jobs (thread-safe)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self._items: OrderedDict[tuple[object, ...], Sound] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...]) -> Sound | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: tuple[object, ...], sound: Sound) -> None:
        sound.audio.setflags(write=False)  # shared between jobs: nobody may change it in place
        with self._lock:
            if key in self._items:
                return
            self._items[key] = sound
            self.used += sound.audio.nbytes
            while self.used > self.budget and self._items:
                _, dropped = self._items.popitem(last=False)
                self.used -= dropped.audio.nbytes

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.used = 0


NOTE_CACHE = NoteCache(CACHE_BYTES)


@functools.lru_cache(maxsize=1)
def _k_weighting() -> np.ndarray:
    """BS.1770 K-weighting (pre-filter shelf + RLB high-pass) as second-order sections, via pyloudnorm."""
    meter = pyloudnorm.Meter(SR)
    stages = [signal.tf2sos(stage.b, stage.a) for stage in meter._filters.values()]
    return np.concatenate(stages).astype(np.float64)


def weighted_energy(audio: np.ndarray) -> float:
    weighted = signal.sosfilt(_k_weighting(), np.atleast_2d(audio), axis=-1)
    return float(np.mean(np.sum(weighted * weighted, axis=-1)))


def _freeze(audio: np.ndarray) -> Sound:
    audio = np.ascontiguousarray(audio, np.float32)
    return Sound(audio, weighted_energy(audio))


class SoundBank:
    """Produces the sound of a note group; drums rotate through round-robin variants."""

    def __init__(self, brightness: float, key: int) -> None:
        self.brightness = round(brightness, 3)
        self.key = key
        self._chords: dict[tuple[object, ...], Sound] = {}
        self._round_robin: dict[str, int] = {}

    def _note(self, voice: str, pitch: int, n_on: int, velocity: float) -> Sound:
        key = (voice, pitch, n_on, velocity, self.brightness)
        sound = NOTE_CACHE.get(key)
        if sound is None:
            if voice == "riser":
                audio = riser(n_on, n_on)
            else:
                audio = render_voice(voice, pitch, n_on, max(velocity, 0.1), self.brightness)
            sound = _freeze(audio * np.float32(max(velocity, 0.05) ** 1.2))
            NOTE_CACHE.put(key, sound)
        return sound

    def _drum(self, voice: str, variant: int) -> Sound:
        key = ("drum", voice, variant, self.brightness, self.key)
        sound = NOTE_CACHE.get(key)
        if sound is None:
            sound = _freeze(drum_hit(voice, variant, round(self.brightness, 2), self.key))
            NOTE_CACHE.put(key, sound)
        return sound

    def sound(self, voice: str, pitches: tuple[int, ...], length: float, velocity: float) -> tuple[Sound, float]:
        """(sound, amplitude to apply): a drum hit, a note, or same-voice notes struck together (a chord)."""
        velocity = round(velocity * VELOCITY_STEPS) / VELOCITY_STEPS
        if voice in DRUMS:
            variant = self._round_robin.get(voice, 0)
            self._round_robin[voice] = (variant + 1) % VARIANTS
            return self._drum(voice, variant), velocity**1.3
        n_on = max(64, round(length * SR))
        if len(pitches) == 1:
            return self._note(voice, pitches[0], n_on, velocity), 1.0
        key = (voice, pitches, n_on, velocity)
        if key not in self._chords:
            notes = [self._note(voice, p, n_on, velocity).audio for p in pitches]
            chord = np.zeros((*notes[0].shape[:-1], max(n.shape[-1] for n in notes)), np.float32)
            for note in notes:  # voices may end their notes early (a piano string dies out)
                chord[..., : note.shape[-1]] += note
            self._chords[key] = _freeze(chord)
        return self._chords[key], 1.0
