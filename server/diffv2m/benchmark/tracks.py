"""Reference music for the benchmark: notes struck exactly at given times.

An oracle track (notes on the visual events) is the ceiling a scorer can reach;
shifted and random variants show where the metrics put misaligned music. Each
note is a plucked two-partial tone with a kick under it, over a quiet sustained
pad, so onset detectors face sustained energy as in real music, not bare clicks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SAMPLE_RATE = 44_100


def _note(rate: int, pitch_hz: float) -> np.ndarray:
    n = int(0.6 * rate)
    t = np.arange(n) / rate
    # Fast attack, exponential decay, and a raised-cosine tail so the end of a note is not an onset.
    taper = np.minimum(1.0, 0.5 + 0.5 * np.cos(np.pi * np.clip((t - 0.45) / 0.15, 0.0, 1.0)))
    envelope = np.minimum(t / 0.003, 1.0) * np.exp(-t / 0.12) * taper
    tone = 0.45 * np.sin(2 * np.pi * pitch_hz * t) + 0.2 * np.sin(2 * np.pi * 2 * pitch_hz * t)
    kick_freq = 55.0 + 90.0 * np.exp(-t / 0.03)
    kick = 0.5 * np.sin(2 * np.pi * np.cumsum(kick_freq) / rate) * np.exp(-t / 0.07) * taper
    return (tone * envelope + kick).astype(np.float32)


def event_track(times: np.ndarray, duration: float, rate: int = SAMPLE_RATE, seed: int = 0) -> np.ndarray:
    """Stereo float32 (2, samples): a note at each time in ``times`` over a soft pad."""
    rng = np.random.default_rng(seed)
    total = round(duration * rate)
    t = np.arange(total) / rate
    pad = 0.04 * (np.sin(2 * np.pi * 110.0 * t) + np.sin(2 * np.pi * 164.8 * t + 1.0))
    mono = pad.astype(np.float32) + 0.002 * rng.standard_normal(total).astype(np.float32)
    scale = (220.0, 246.9, 261.6, 293.7, 329.6)
    for index, time in enumerate(np.sort(np.asarray(times, np.float64))):
        start = round(time * rate)
        if start < 0 or start >= total:
            continue
        note = _note(rate, scale[index % len(scale)])[: total - start]
        mono[start : start + note.size] += note
    mono *= 0.5 / max(float(np.max(np.abs(mono))), 1e-9)
    return np.stack([mono, mono])


def random_times(count: int, duration: float, seed: int, min_gap: float = 0.12) -> np.ndarray:
    """``count`` sorted times, uniform over the clip, at least ``min_gap`` apart where possible."""
    rng = np.random.default_rng(seed)
    times: list[float] = []
    attempts = 0
    while len(times) < count and attempts < 100 * max(count, 1):
        attempts += 1
        candidate = float(rng.uniform(0.05, duration - 0.05))
        if all(abs(candidate - other) >= min_gap for other in times):
            times.append(candidate)
    return np.sort(np.asarray(times))


# name -> (shift in seconds, or None for random times with the same count)
REFERENCE_VARIANTS: dict[str, float | None] = {"oracle": 0.0, "late_60ms": 0.06, "late_120ms": 0.12, "random": None}


def write_reference_tracks(bench_dir: str | Path, manifest: dict) -> dict[str, Path]:
    """Reference tracks for every clip: ``bench_dir/reference/<variant>/<clip id>.wav``.

    Scoring these with ``diffv2m eval`` shows the ceiling (oracle) and how far
    the metrics drop for music 60 ms late, 120 ms late, or unrelated.
    """
    import soundfile

    folders = {}
    for variant, shift in REFERENCE_VARIANTS.items():
        folder = Path(bench_dir) / "reference" / variant
        folder.mkdir(parents=True, exist_ok=True)
        folders[variant] = folder
        for index, clip in enumerate(manifest["clips"]):
            events = np.asarray(clip["visual_events"], np.float64)
            duration = float(clip["duration"])
            times = random_times(events.size, duration, seed=1000 + index) if shift is None else events + shift
            track = event_track(times, duration, seed=index)
            soundfile.write(str(folder / f"{clip['id']}.wav"), track.T, SAMPLE_RATE, subtype="PCM_16")
    return folders
