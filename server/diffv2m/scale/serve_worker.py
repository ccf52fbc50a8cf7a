"""The Ray actor that scores jobs: one per GPU (Diff-V2M) or per CPU slot (the composer).

The actor builds its engine registry once and keeps it, so Diff-V2M weights load
once per actor, never per job. It is a threaded actor (``max_concurrency``), so
``cancel`` and ``progress`` answer while ``run`` works: cancelling sets the flag
the pipeline's progress callback checks, and the job stops at its next step.
"""

from __future__ import annotations

import os
import socket
import threading
from typing import Any

from ..engines.registry import DIFFV2M
from ..errors import Cancelled
from ..settings import Settings


class ScoreWorker:
    def __init__(self, settings: Settings, pool: str) -> None:
        from ..engines.registry import EngineRegistry

        self.settings = settings
        self.pool = pool
        self.registry = EngineRegistry(settings)
        if pool == DIFFV2M:
            self.registry.warm(DIFFV2M)  # the weights, once for this actor's life
        self._cache: Any = None
        self._cancel: dict[str, threading.Event] = {}
        self._progress: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def identity(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "node": socket.gethostname(), "pool": self.pool}

    def run(self, record: dict[str, Any]) -> Any:
        """Score one job (a ``JobRecord`` as a dict); returns the ``PipelineOutput``."""
        from .. import pipeline
        from ..api.app import score
        from ..api.store import JobRecord

        job = JobRecord.from_dict(record)
        cancel = self._cancel.setdefault(job.id, threading.Event())
        if self._cache is None:
            self._cache = pipeline.feature_cache(self.settings)

        def progress(stage: str, fraction: float) -> None:
            if cancel.is_set():
                raise Cancelled()
            with self._lock:
                self._progress[job.id] = (stage, float(fraction))

        try:
            return score(job, self.registry, self._cache, progress)
        finally:
            with self._lock:
                self._cancel.pop(job.id, None)
                self._progress.pop(job.id, None)

    def cancel(self, job_id: str) -> None:
        self._cancel.setdefault(job_id, threading.Event()).set()

    def progress(self, job_id: str) -> tuple[str, float] | None:
        with self._lock:
            return self._progress.get(job_id)


def actor_class(pool: str, gpus: float) -> Any:
    """The remote class with its resources: a whole GPU for Diff-V2M where the cluster has one."""
    from .cluster import ray_module

    ray = ray_module()
    resources = {"num_gpus": 1} if pool == DIFFV2M and gpus >= 1 else {"num_cpus": 1}
    return ray.remote(max_concurrency=4, max_restarts=0, **resources)(ScoreWorker)
