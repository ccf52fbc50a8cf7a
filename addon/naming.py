"""Names the add-on gives to what it creates: strips, beat markers and WAV files (no bpy).

Markers carry no custom data in Blender, so the add-on's own markers are told
apart by this naming scheme *and* by the list each generation records (see
placement.py); a marker the user made is never removed, even if it happens to
look like one of ours.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

MARKER_PREFIX = "♪"
STRIP_PREFIX = "♪ Score"
_BLENDER_NAME_BYTES = 63  # strip names are 64-byte C strings
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_MARKER_NAME = re.compile(rf"^{MARKER_PREFIX}\d+(\.\d+)?$")


@dataclass(frozen=True)
class BeatMarker:
    name: str
    seconds: float
    is_bar_start: bool


def strip_name(emotion: str, seed: int, engine: str) -> str:
    """``♪ Score tense s7 default``: what the generation is, readable in the timeline."""
    return _clip_utf8(f"{STRIP_PREFIX} {emotion} s{seed} {engine}", _BLENDER_NAME_BYTES)


def beat_markers(beats: list[float], downbeats: list[float], bars_only: bool = False) -> list[BeatMarker]:
    """Markers for a beat grid: bar starts ``♪3``, other beats ``♪3.2`` (bar 3, beat 2).

    Beats before the first downbeat (a pickup) belong to bar 0. A downbeat counts
    as a beat's bar start when they are within 70 ms (trackers report both lists
    separately and may round differently).
    """
    tolerance = 0.07
    downbeats = sorted(downbeats)
    markers: list[BeatMarker] = []
    bar, beat_in_bar, next_down = 0, 0, 0
    for t in sorted(beats):
        # A downbeat the beat list skipped still starts a new bar.
        while next_down < len(downbeats) and downbeats[next_down] < t - tolerance:
            next_down += 1
            bar += 1
            beat_in_bar = 0
        is_bar_start = next_down < len(downbeats) and abs(downbeats[next_down] - t) <= tolerance
        if is_bar_start:
            next_down += 1
            bar += 1
            beat_in_bar = 1
            markers.append(BeatMarker(f"{MARKER_PREFIX}{bar}", t, True))
        else:
            beat_in_bar += 1
            if not bars_only:
                markers.append(BeatMarker(f"{MARKER_PREFIX}{bar}.{beat_in_bar}", t, False))
    return markers


def is_marker_name(name: str) -> bool:
    """Whether a marker name follows the add-on's scheme (necessary, not sufficient, to remove it)."""
    return bool(_MARKER_NAME.match(name))


def wav_stem(emotion: str, seed: int, engine: str) -> str:
    parts = [_UNSAFE.sub("-", p).strip("-") or "x" for p in (emotion, f"s{seed}", engine)]
    return "score_" + "_".join(parts)


def claim_unique_file(folder: str, stem: str, suffix: str = ".wav") -> str:
    """Create a new empty file ``stem.wav`` (or ``stem_2.wav``, ...) and return its path.

    The name is claimed with O_EXCL, so two generations (or two Blender sessions)
    can never pick the same file and nothing existing is ever overwritten.
    """
    os.makedirs(folder, exist_ok=True)
    for n in range(1, 100_000):
        name = stem + (f"_{n}" if n > 1 else "") + suffix
        path = os.path.join(folder, name)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            continue
        os.close(fd)
        return path
    raise OSError(f"No free file name for {stem}{suffix} in {folder}.")


def _clip_utf8(text: str, limit: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", errors="ignore").rstrip()
