"""Fill a results folder with one engine's music for every video, through the server's own job path.

``diffv2m eval RESULTS_DIR --videos BENCH --engine default`` calls this first:
each video without a track gets ``<video stem>.wav`` made exactly as a user's
job makes it (``pipeline.run``: features, engine, beat tracking, loudness
normalisation). Existing tracks are kept, so an interrupted run continues.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from ..benchmark.suite import load_manifest
from ..errors import InputError
from ..settings import Settings
from .results import VIDEO_SUFFIXES

RUN_RECORD = "generation.json"  # engine, weights, seeds and timings of the tracks made here


def videos_in(folder: Path) -> list[Path]:
    manifest = load_manifest(folder)
    if manifest is not None:
        return [folder / clip["video"] for clip in manifest["clips"]]
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)


def generate_missing(
    results_dir: Path,
    videos_dir: Path,
    engine: str,
    settings: Settings,
    emotion: str = "auto",
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Make ``<stem>.wav`` in ``results_dir`` for every video that has none; returns the new files."""
    from .. import pipeline
    from ..engines.registry import EngineRegistry
    from ..job_request import JobRequest, check_sources, validate

    videos = videos_in(videos_dir)
    if not videos:
        raise InputError(f"There are no videos in {videos_dir} to score.")
    results_dir.mkdir(parents=True, exist_ok=True)
    registry = EngineRegistry(settings)
    registry.resolve(engine)  # one clear error before any work
    record_path = results_dir / RUN_RECORD
    record = json.loads(record_path.read_text()) if record_path.is_file() else {"tracks": {}}
    made = []
    for video in videos:
        out = results_dir / f"{video.stem}.wav"
        if out.exists():
            continue
        request = check_sources(
            validate(JobRequest(video=str(video.resolve()), emotion=emotion, seed=seed, engine=engine))
        )
        began = time.perf_counter()
        result = pipeline.run(request, registry=registry)
        elapsed = time.perf_counter() - began
        temporary = out.with_name(out.name + ".partial")
        temporary.write_bytes(pipeline.wav_bytes(result.takes[0].audio))
        temporary.replace(out)
        metadata = result.metadata
        record["tracks"][out.name] = {
            "video": video.name,
            "engine": metadata["engine"],
            "weights": metadata["weights"],
            "sampler": metadata["sampler"],
            "steps": metadata["steps"],
            "seed": metadata["seed"],
            "emotion": metadata["emotion"],
            "duration": metadata["duration"],
            "seconds_to_make": round(elapsed, 3),
        }
        record_path.write_text(json.dumps(record, indent=1))
        made.append(out)
        if progress:
            progress(f"{out.name} ({elapsed:.1f} s)")
    return made
