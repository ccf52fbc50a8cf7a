"""The synthetic audiovisual benchmark: clips with known visual events and a manifest.

``write_benchmark(out_dir)`` renders every clip of ``benchmark_specs()`` with
``benchmark.videos`` and writes ``manifest.json``:

    {"format": "diffv2m-benchmark", "version": 1, "seed": 0, "duration": 10.0,
     "clips": [{"id": "flash_p120_25fps", "video": "flash_p120_25fps.mp4",
                "kind": "flash", "pattern": "periodic", "bpm": 120.0, "phase": 0.31,
                "fps": 25.0, "vfr": false, "duration": 10.0, "width": 320, "height": 240,
                "event_times": [...], "cut_times": [...], "visual_events": [...]}]}

Times are seconds from the file start and are the **decoded** presentation
times of the first frame showing each event (what a perfect detector finds).
``visual_events`` is the union of events and cuts: what music should hit.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import InputError
from .videos import ClipSpec, periodic_events, write_clip

MANIFEST = "manifest.json"
FORMAT = "diffv2m-benchmark"
VERSION = 1


@dataclass
class BenchmarkClip:
    id: str
    spec: ClipSpec
    pattern: str  # "periodic" | "aperiodic"
    bpm: float | None
    phase: float | None


def aperiodic_events(duration: float, rng: np.random.Generator, min_gap: float, max_gap: float) -> list[float]:
    """Irregular event times: gaps drawn uniformly from [min_gap, max_gap]."""
    times, t = [], float(rng.uniform(0.2, max_gap))
    while t < duration - 0.15:
        times.append(round(t, 4))
        t += float(rng.uniform(min_gap, max_gap))
    return times


# (name, kind, bpm or None for aperiodic, fps, variable frame rate)
_LAYOUT: tuple[tuple[str, str, float | None, Fraction, bool], ...] = (
    ("flash", "flash", 90.0, Fraction(24000, 1001), False),
    ("flash", "flash", 120.0, Fraction(25), False),
    ("flash", "flash", 150.0, Fraction(30), False),
    ("bounce", "bounce", 100.0, Fraction(60), False),
    ("bounce", "bounce", 128.0, Fraction(25), False),
    ("flash", "flash", 110.0, Fraction(30), True),
    ("flash", "flash", None, Fraction(30), False),
    ("bounce", "bounce", None, Fraction(24), False),
    ("cuts", "flash", None, Fraction(25), False),
)


def _fps_label(fps: Fraction, vfr: bool) -> str:
    label = f"{float(fps):.3f}".rstrip("0").rstrip(".").replace(".", "p")
    return f"{label}fps" + ("_vfr" if vfr else "")


def benchmark_specs(duration: float = 10.0, seed: int = 0, width: int = 320, height: int = 240) -> list[BenchmarkClip]:
    """The clip list: flashes, bouncing ball and hard cuts; periodic at several tempi
    with a random phase, and aperiodic; 23.976/24/25/30/60 fps and one VFR clip."""
    if duration < 3.0:
        raise InputError("Benchmark clips must be at least 3 seconds long.")
    rng = np.random.default_rng(seed)
    clips = []
    for index, (name, kind, bpm, fps, vfr) in enumerate(_LAYOUT):
        if bpm is not None:
            phase = round(float(rng.uniform(0.0, 60.0 / bpm)), 4)
            events = periodic_events(bpm, duration, phase=phase)
            beats_per_cut = 4 if kind == "flash" else 8
            cuts = events[beats_per_cut::beats_per_cut]
        else:
            phase = None
            events = aperiodic_events(duration, rng, 0.35 if kind == "bounce" else 0.25, 1.2)
            cuts = [t for t in events if rng.random() < 0.25] if kind == "flash" else []
        if name == "cuts":
            events, cuts = [], events
        clip_id = f"{name}_{f'p{bpm:03.0f}' if bpm else 'aper'}_{_fps_label(fps, vfr)}"
        spec = ClipSpec(duration, fps, width, height, events, cuts, kind, vfr=vfr, seed=seed * 100 + index)  # type: ignore[arg-type]
        clips.append(BenchmarkClip(clip_id, spec, "periodic" if bpm else "aperiodic", bpm, phase))
    return clips


def merge_events(times: np.ndarray, tolerance: float) -> np.ndarray:
    """Sorted union with near-duplicates (a cut on a flash) collapsed to the earliest."""
    times = np.sort(np.asarray(times, np.float64))
    if times.size == 0:
        return times
    keep = np.concatenate([[True], np.diff(times) > tolerance])
    return times[keep]


def write_benchmark(
    out_dir: str | Path,
    duration: float = 10.0,
    seed: int = 0,
    width: int = 320,
    height: int = 240,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Render every benchmark clip into ``out_dir`` and write its manifest; returns the manifest."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for clip in benchmark_specs(duration, seed, width, height):
        truth = write_clip(out_dir / f"{clip.id}.mp4", clip.spec)
        if progress:
            progress(clip.id)
        visual = merge_events(np.concatenate([truth.event_times, truth.cut_times]), 0.5 * truth.frame_period)
        entries.append(
            {
                "id": clip.id,
                "video": truth.path.name,
                "kind": "cuts" if clip.id.startswith("cuts") else clip.spec.kind,
                "pattern": clip.pattern,
                "bpm": clip.bpm,
                "phase": clip.phase,
                "fps": float(clip.spec.fps),
                "vfr": clip.spec.vfr,
                "duration": duration,
                "width": width,
                "height": height,
                "event_times": [round(float(t), 6) for t in truth.event_times],
                "cut_times": [round(float(t), 6) for t in truth.cut_times],
                "visual_events": [round(float(t), 6) for t in visual],
            }
        )
    manifest = {"format": FORMAT, "version": VERSION, "seed": seed, "duration": duration, "clips": entries}
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return manifest


def load_manifest(folder: str | Path) -> dict | None:
    """The benchmark manifest in ``folder``, or None when the folder is not a benchmark."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path} is not a readable benchmark manifest: {exc}.") from exc
    if manifest.get("format") != FORMAT or not isinstance(manifest.get("clips"), list):
        raise InputError(f"{path} is not a diffv2m benchmark manifest.")
    return manifest
