"""Score every track of a results folder and summarise: the engine behind ``diffv2m eval``."""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import __version__
from ..audio import onsets
from ..audio.io import SAMPLE_RATE, load_audio
from ..audio.onsets import AudioEvents
from . import alignment
from .metrics import METRIC_DOCS, VisualEvents, evaluate_track
from .results import EvalItem, discover


@dataclass
class TrackResult:
    item: EvalItem
    metrics: dict[str, float]
    events: AudioEvents


def _mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def summarise(results: list[TrackResult]) -> dict[str, dict[str, float]]:
    """Mean of every metric over all tracks and per group (non-finite values skipped)."""
    groups: dict[str, list[TrackResult]] = {"all": results}
    for result in results:
        groups.setdefault(result.item.group, []).append(result)
    return {
        name: {"tracks": float(len(members))} | {key: _mean([m.metrics[key] for m in members]) for key in METRIC_DOCS}
        for name, members in groups.items()
    }


def evaluate_items(items: list[EvalItem], progress: Callable[[str], None] | None = None) -> list[TrackResult]:
    results = []
    for item in items:
        evaluation = evaluate_track(load_audio(item.audio, SAMPLE_RATE), SAMPLE_RATE, item.visual)
        results.append(TrackResult(item, evaluation.metrics, evaluation.audio_events))
        if progress:
            progress(item.name)
    return results


def machine_description() -> str:
    """CPU model and core count, for quoting figures with the machine they came from."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def settings() -> dict[str, object]:
    """The constants behind the numbers, recorded with every report."""
    return {
        "onset_window_s": alignment.WINDOW_S,
        "bas_sigma_s": alignment.SIGMA_S,
        "chance_shifts": alignment.NUM_SHIFTS,
        "odf_max_lag_s": alignment.MAX_LAG_S,
        "analysis_rate": onsets.ANALYSIS_RATE,
        "hop": onsets.HOP,
        "n_fft": onsets.N_FFT,
        "latency_compensation_s": onsets.LATENCY_S,
    }


def build_report(
    results: list[TrackResult], results_dir: Path, videos_dir: Path, extra: dict | None = None
) -> dict[str, object]:
    return {
        "format": "diffv2m-eval",
        "version": 1,
        "diffv2m": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine_description(),
        "results_dir": str(results_dir),
        "videos_dir": str(videos_dir),
        "settings": settings(),
        "metrics": METRIC_DOCS,
        "tracks": [
            {
                "name": r.item.name,
                "video": r.item.video.name,
                "group": r.item.group,
                "truth": r.item.visual.source,
                "visual_events": len(r.item.visual.times),
                "audio_onsets": len(r.events.onsets),
                **r.metrics,
            }
            for r in results
        ],
        "summary": summarise(results),
        **(extra or {}),
    }


def evaluate_folder(
    results_dir: str | Path, videos_dir: str | Path | None = None, progress: Callable[[str], None] | None = None
) -> tuple[dict[str, object], list[TrackResult]]:
    """Discover, score and summarise; returns the report dict and the per-track results."""
    results_dir = Path(results_dir)
    videos = Path(videos_dir) if videos_dir is not None else results_dir
    items, _ = discover(results_dir, videos)
    results = evaluate_items(items, progress)
    return build_report(results, results_dir, videos), results


__all__ = ["TrackResult", "VisualEvents", "build_report", "evaluate_folder", "evaluate_items", "summarise"]
