"""Rendered sounds for the mixer: held notes and drum hits, cached, with their loudness.

A pitched note is a *held* rendering of its (voice, pitch, velocity step) cut
at note-off and faded by the voice's release: one rendering serves every length
(instruments/tonal.py renders are prefix-consistent), so a five-minute score
renders a few hundred sounds, not one per note. Renderings are kept between
jobs in a bounded LRU shared by all jobs, so a regenerate reuses most of them.
Each rendering also carries its cumulative K-weighted energy (ITU-R BS.1770's
weighting, taken from pyloudnorm), which lets the mixer balance whole parts
without rendering stems.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyloudnorm
from scipy import signal

from .instruments import DRUMS, VOICES, drum_hit, riser
from .instruments.drums import VARIANTS
from .instruments.dsp import SR, release_gate
from .instruments.tonal import sustained

TIMBRE_STEPS = 3  # velocity shapes the timbre in thirds (cached); loudness follows it exactly
CACHE_BYTES = 192 * 1024 * 1024  # renderings kept between jobs
ENERGY_BLOCK = 256  # samples per step of the cumulative energy
GROWTH = 1.5  # a rendering that must grow grows by at least this factor (few re-renders)
RELEASE_SHARE = 0.375  # mean of a squared raised-cosine fade: the energy share of a release


@dataclass(frozen=True)
class Rendering:
    audio: np.ndarray  # (n,) mono or (2, n) stereo, float32, read-only
    energy: np.ndarray  # cumulative K-weighted energy at every ENERGY_BLOCK samples

    def energy_until(self, n: int) -> float:
        return float(self.energy[min(n // ENERGY_BLOCK, self.energy.size - 1)])


@dataclass(frozen=True)
class Sound:
    """What the mixer adds: ``audio[..., :held]`` as is, then ``audio[..., held:held + release]`` faded."""

    audio: np.ndarray
    held: int
    release: int  # 0 for one-shots (the whole ``audio`` is the sound)
    energy: float  # K-weighted sum of squares of the sound as mixed (before gains)

    @property
    def length(self) -> int:
        return self.held + self.release


class NoteCache:
    """Least-recently-used store of renderings, bounded in bytes, shared by all jobs (thread-safe)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self._items: OrderedDict[tuple[object, ...], Rendering] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...]) -> Rendering | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: tuple[object, ...], item: Rendering) -> None:
        item.audio.setflags(write=False)  # shared between jobs: nobody may change it in place
        with self._lock:
            previous = self._items.pop(key, None)
            if previous is not None:
                self.used -= previous.audio.nbytes
            self._items[key] = item
            self.used += item.audio.nbytes
            while self.used > self.budget and len(self._items) > 1:
                _, dropped = self._items.popitem(last=False)
                self.used -= dropped.audio.nbytes

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.used = 0


NOTE_CACHE = NoteCache(CACHE_BYTES)


@functools.lru_cache(maxsize=1)
def k_weighting() -> np.ndarray:
    """BS.1770 K-weighting (pre-filter shelf + RLB high-pass) as float32 second-order sections, via pyloudnorm."""
    meter = pyloudnorm.Meter(SR)
    stages = [signal.tf2sos(stage.b, stage.a) for stage in meter._filters.values()]
    return np.concatenate(stages).astype(np.float32)


def _rendering(audio: np.ndarray) -> Rendering:
    """Freeze ``audio`` with its cumulative K-weighted energy (channels averaged)."""
    audio = np.ascontiguousarray(audio, np.float32)
    weighted = signal.sosfilt(k_weighting(), np.atleast_2d(audio), axis=-1)
    power = np.mean(weighted * weighted, axis=0)
    blocks = -(-power.size // ENERGY_BLOCK)
    padded = np.zeros(blocks * ENERGY_BLOCK, np.float64)
    padded[: power.size] = power
    energy = np.concatenate([[0.0], np.cumsum(padded.reshape(blocks, ENERGY_BLOCK).sum(axis=1))])
    return Rendering(audio, energy)


class SoundBank:
    """Produces the sound of each note; drums rotate through round-robin variants."""

    def __init__(self, brightness: float, key: int) -> None:
        self.brightness = round(brightness, 3)
        self.key = key
        self._round_robin: dict[str, int] = {}

    def _held(self, voice: str, pitch: int, timbre: float, n: int) -> Rendering:
        """A held rendering at least ``n`` samples long (re-rendered longer when needed)."""
        key = (voice, pitch, timbre, self.brightness)
        item = NOTE_CACHE.get(key)
        if item is None or item.audio.shape[-1] < n:
            length = max(n, round(GROWTH * item.audio.shape[-1])) if item is not None else n
            item = _rendering(sustained(voice, pitch, length, timbre, self.brightness))
            NOTE_CACHE.put(key, item)
        return item

    def _one_shot(self, key: tuple[object, ...], make: Callable[[], np.ndarray]) -> Rendering:
        item = NOTE_CACHE.get(key)
        if item is None:
            item = _rendering(make())
            NOTE_CACHE.put(key, item)
        return item

    def _held_key(self, voice: str, pitch: int, length: float, velocity: float) -> tuple[tuple[str, int, float], int]:
        """((voice, pitch, timbre), samples needed) of a pitched note."""
        timbre = max(1, round(min(max(velocity, 0.0), 1.0) * TIMBRE_STEPS)) / TIMBRE_STEPS
        return (voice, pitch, timbre), max(64, round(length * SR)) + VOICES[voice].release_samples

    def reserve(self, notes: list[tuple[str, int, float, float]], progress: Callable[[float], None]) -> None:
        """Render every held sound ``notes`` (voice, pitch, length, velocity) will need, each once, at the
        longest length any of them needs (no re-rendering as longer notes turn up); ``progress`` gets
        the fraction done."""
        longest: dict[tuple[str, int, float], int] = {}
        for voice, pitch, length, velocity in notes:
            if voice not in DRUMS and voice != "riser":
                key, needed = self._held_key(voice, pitch, length, velocity)
                longest[key] = max(longest.get(key, 0), needed)
        for count, ((voice, pitch, timbre), needed) in enumerate(longest.items()):
            if count % 8 == 0:
                progress(count / len(longest))
            self._held(voice, pitch, timbre, needed)

    def sound(self, voice: str, pitch: int, length: float, velocity: float) -> tuple[Sound, float]:
        """(sound, amplitude to apply) of one note or drum hit."""
        velocity = min(max(velocity, 0.0), 1.0)
        if voice in DRUMS:
            variant = self._round_robin.get(voice, 0)
            self._round_robin[voice] = (variant + 1) % VARIANTS
            hit = self._one_shot(
                ("drum", voice, variant, self.brightness, self.key),
                lambda: drum_hit(voice, variant, round(self.brightness, 2), self.key),
            )
            return Sound(hit.audio, hit.audio.shape[-1], 0, hit.energy_until(hit.audio.shape[-1])), velocity**1.3
        held = max(64, round(length * SR))
        if voice == "riser":
            swell = self._one_shot(("riser", held), lambda: riser(held, held))
            return Sound(swell.audio, held, 0, swell.energy_until(held)), velocity
        (_, _, timbre), needed = self._held_key(voice, pitch, length, velocity)
        release = needed - held
        item = self._held(voice, pitch, timbre, needed)
        on, total = item.energy_until(held), item.energy_until(held + release)
        return Sound(item.audio, held, release, on + RELEASE_SHARE * (total - on)), max(velocity, 0.05) ** 1.2


def release_of(sound: Sound) -> np.ndarray:
    """The faded tail of a held sound, ready to add."""
    return sound.audio[..., sound.held : sound.length] * release_gate(sound.release)
