"""Score one batch row: the job path of ``diffv2m generate``, then the figures of ``diffv2m eval``.

A ``RowWorker`` holds one ``EngineRegistry``, so an engine (Diff-V2M weights
included) is loaded once per worker and reused for every row it scores; under
``--ray`` each worker is a long-lived Ray actor. The worker returns the files as
bytes and never writes the output folder: the batch's driver does (``store``),
so a row is recorded done in one place, once.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Diffv2mError
from ..settings import Settings
from .manifest import BatchRow

ROW_RETRIES = 1  # a row that crashes is tried once more (here, or by Ray on another worker), then reported
# The figures of ``diffv2m eval`` each row's report line shows (evaluation/metrics.py names them).
ROW_FIGURES = ("onset_f", "onset_f_gain", "onset_bas", "onset_bas_gain", "odf_lag_ms", "tempo_bpm", "lufs")


@dataclass
class RowResult:
    """A scored row (``files`` by name, ``record`` for report.json) or a row that cannot be scored."""

    row_id: str
    files: dict[str, bytes] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None  # one sentence: the request was bad (not retried)


def take_name(stem: str, index: int, suffix: str) -> str:
    """score.wav, score.take2.wav, ... as ``diffv2m generate`` names takes."""
    return f"{stem}{'' if index == 0 else f'.take{index + 1}'}{suffix}"


def crashed(row: BatchRow, error: str) -> RowResult:
    """The report's line for a row that crashed on every try."""
    return RowResult(row.id, problem=f"Row {row.number} crashed {ROW_RETRIES + 1} times; last error: {error}")


class RowWorker:
    """Scores rows one after another with engines loaded once."""

    def __init__(self, settings: Settings) -> None:
        from .. import pipeline
        from ..engines.registry import EngineRegistry

        self.settings = settings
        self.registry = EngineRegistry(settings)
        self.cache = pipeline.feature_cache(settings)

    def pid(self) -> int:
        """The worker's process id (tests kill it to show a row is retried elsewhere)."""
        return os.getpid()

    def run(self, row: BatchRow) -> RowResult:
        """Score ``row``; a bad request comes back as ``problem``, anything else raises (a crash: retried)."""
        if row.request is None:
            return RowResult(row.id, problem=row.problem)
        try:
            return self._score(row)
        except Diffv2mError as exc:
            return RowResult(row.id, problem=f"Row {row.number}: {exc.message}")

    def _score(self, row: BatchRow) -> RowResult:
        from .. import pipeline
        from ..engines.base import SAMPLE_RATE
        from ..evaluation.metrics import evaluate_track
        from ..evaluation.report import json_safe
        from ..evaluation.results import detected_visual
        from ..job_request import JobRequest, check_sources

        assert row.request is not None
        request = check_sources(JobRequest.from_dict(row.request))
        began = time.perf_counter()
        output = pipeline.run(request, registry=self.registry, cache=self.cache)
        visual = detected_visual(Path(str(request.video)), request.start, request.end, cache=self.cache)
        files: dict[str, bytes] = {}
        takes = []
        for index, take in enumerate(output.takes):
            names = {"wav": take_name("score", index, ".wav"), "beats": take_name("beats", index, ".json")}
            files[names["wav"]] = pipeline.wav_bytes(take.audio)
            files[names["beats"]] = json.dumps(take.beats, indent=1).encode()
            if take.midi is not None:
                names["midi"] = take_name("score", index, ".mid")
                files[names["midi"]] = take.midi
            metrics = evaluate_track(take.audio, SAMPLE_RATE, visual).metrics
            takes.append({"seed": take.seed, "files": names, "metrics": json_safe(metrics)})
        record = {
            "row": row.number,
            "id": row.id,
            "request": row.request,
            "engine": output.metadata["engine"],
            "emotion": output.metadata["emotion"],
            "tempo": output.metadata["tempo"],
            "visual_events": len(visual.times),
            "seconds": round(time.perf_counter() - began, 3),
            "worker_pid": os.getpid(),
            "takes": takes,
        }
        return RowResult(row.id, files, record)
