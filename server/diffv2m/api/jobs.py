"""The job queue: one job runs at a time (one GPU), the others wait their turn.

A single worker thread takes jobs in submission order. Cancelling works through
the progress callback: every ``progress(stage, fraction)`` call from the
pipeline and the engines checks the job's cancel flag and raises
``errors.Cancelled``, so a job stops at its next step, wherever it is.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from ..engines.base import ProgressFn
from ..errors import Cancelled, Diffv2mError, NotFound
from .store import FINAL_STATES, INTERRUPTED, JobRecord, JobStore

log = logging.getLogger("diffv2m.api")

# run(record, progress) -> result metadata; writes the take files through the store.
JobRunner = Callable[[JobRecord, ProgressFn], dict[str, Any]]


class QueueFull(Diffv2mError):
    status = 503


class JobManager:
    def __init__(self, store: JobStore, runner: JobRunner, max_queue: int = 64) -> None:
        self.store = store
        self.runner = runner
        self.max_queue = max_queue
        self._records: dict[str, JobRecord] = {r.id: r for r in store.load_all()}
        self._waiting: collections.deque[str] = collections.deque()
        self._cancel: dict[str, threading.Event] = {}
        self._running: str | None = None
        self._condition = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.before_first_job: Callable[[], None] | None = None  # e.g. warm up numba kernels

    # ---- life cycle --------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name="diffv2m-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        with self._condition:
            self._stopping = True
            for event in self._cancel.values():
                event.set()
            self._condition.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    # ---- client side -------------------------------------------------------
    def submit(self, record: JobRecord) -> int:
        """Queue a job whose work folder already holds its inputs; returns its position."""
        with self._condition:
            if len(self._waiting) >= self.max_queue:
                raise QueueFull(f"The server already has {self.max_queue} jobs waiting; try again later.")
            self._records[record.id] = record
            self._cancel[record.id] = threading.Event()
            self._waiting.append(record.id)
            self.store.save(record)
            self._condition.notify_all()
            return len(self._waiting) - 1

    def get(self, job_id: str) -> tuple[JobRecord, int | None]:
        with self._condition:
            record = self._records.get(job_id)
            if record is None:
                raise NotFound(f"There is no job '{job_id[:40]}' (finished jobs are removed when the cache is full).")
            position = self._waiting.index(job_id) if job_id in self._waiting else None
            return dataclasses.replace(record), position

    def cancel(self, job_id: str) -> str:
        """Queued: cancelled now. Running: flagged, stops at its next step. Finished: deleted.

        Returns what happened: "cancelled", "cancelling" or "deleted".
        """
        with self._condition:
            record = self._records.get(job_id)
            if record is None:
                raise NotFound(f"There is no job '{job_id[:40]}'.")
            if record.state == "queued":
                self._waiting.remove(job_id)
                self._finish(record, "cancelled", None)
                self.store.discard_work(job_id)
                return "cancelled"
            if record.state == "running":
                self._cancel[job_id].set()
                return "cancelling"
            del self._records[job_id]
            self.store.delete(job_id)
            return "deleted"

    def cancel_requested(self, job_id: str) -> bool:
        event = self._cancel.get(job_id)
        return bool(event and event.is_set())

    def counts(self) -> dict[str, int]:
        with self._condition:
            return {"queued": len(self._waiting), "running": int(self._running is not None)}

    def records(self) -> list[JobRecord]:
        with self._condition:
            return [dataclasses.replace(r) for r in self._records.values()]

    # ---- worker side -------------------------------------------------------
    def _work(self) -> None:
        if self.before_first_job is not None:
            try:
                self.before_first_job()
            except Exception:
                log.exception("warm-up failed (jobs still run)")
        while True:
            with self._condition:
                while not self._waiting and not self._stopping:
                    self._condition.wait()
                if self._stopping:
                    return
                job_id = self._waiting.popleft()
                record = self._records[job_id]
                record.state, record.stage, record.started = "running", "starting", time.time()
                self._running = job_id
                self.store.save(record)
            try:
                self._run(record)
            finally:
                with self._condition:
                    self._running = None
                    self._cancel.pop(job_id, None)

    def _progress_for(self, record: JobRecord) -> ProgressFn:
        cancel = self._cancel[record.id]

        def progress(stage: str, fraction: float) -> None:
            if cancel.is_set():
                raise Cancelled()
            with self._condition:
                record.stage = stage
                record.progress = max(record.progress, min(max(float(fraction), 0.0), 1.0))

        return progress

    def _run(self, record: JobRecord) -> None:
        try:
            result = self.runner(record, self._progress_for(record))
        except Cancelled:
            self.store.discard_results(record.id)
            if self._stopping:  # the server is shutting down, nobody asked to cancel
                self._finish(record, "failed", INTERRUPTED)
            else:
                self._finish(record, "cancelled", None)
        except Diffv2mError as exc:
            self.store.discard_results(record.id)
            self._finish(record, "failed", exc.message)
        except MemoryError:
            log.exception("job %s ran out of memory", record.id)
            self.store.discard_results(record.id)
            self._finish(record, "failed", f"The server ran out of memory while {record.stage}.")
        except Exception:
            log.exception("job %s failed", record.id)
            self.store.discard_results(record.id)
            self._finish(record, "failed", f"Internal error while {record.stage}; the server's log has the details.")
        else:
            with self._condition:
                record.result = result
            # Make room before anyone can see this job done: a client reading "done" then
            # finds the cache already within its cap (this job, still running, is never evicted).
            # Its upload goes first, so only what stays is counted.
            self.store.discard_work(record.id)
            self._evict_old_results()
            self._finish(record, "done", None)
        finally:
            self.store.discard_work(record.id)

    def _evict_old_results(self) -> None:
        for job_id in self.store.enforce_cap(self.records()):
            with self._condition:
                self._records.pop(job_id, None)

    def _finish(self, record: JobRecord, state: str, message: str | None) -> None:
        assert state in FINAL_STATES
        with self._condition:
            record.state, record.message, record.finished = state, message, time.time()
            record.stage = state
            if state == "done":
                record.progress = 1.0
            self.store.save(record)
