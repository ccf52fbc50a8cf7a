"""Jobs on disk: one folder per job under ``<cache_dir>/jobs``.

    <id>/job.json             the record (state, request, result); rewritten atomically
    <id>/work/                uploads and half-written files; removed when the job ends
    <id>/take<k>.wav          results
    <id>/take<k>.beats.json
    <id>/take<k>.mid          the score as MIDI (composer jobs)

Finished jobs survive a restart. A job that was queued or running when the
server stopped is marked failed on the next start (its work folder is gone with
the process that owned it). Finished results are evicted oldest first when the
folder grows past the size cap.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import NotFound

log = logging.getLogger("diffv2m.api")

ACTIVE_STATES = ("queued", "running")
FINAL_STATES = ("done", "failed", "cancelled")
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
INTERRUPTED = "The server stopped before this job finished; submit it again."


@dataclass
class JobRecord:
    id: str
    request: dict[str, Any]  # JobRequest.to_dict()
    sources: list[str] = field(default_factory=list)  # what the user calls the inputs (for messages)
    names: dict[str, str] = field(default_factory=dict)  # stored upload path -> the user's file name
    state: str = "queued"
    stage: str = "queued"
    progress: float = 0.0
    message: str | None = None
    result: dict[str, Any] | None = None
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobRecord:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def _write_atomically(path: Path, data: bytes) -> None:
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _folder_size(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        try:
            if path.is_file():
                total += path.stat().st_size
        except OSError:
            continue
    return total


class JobStore:
    def __init__(self, root: Path, cap_bytes: int) -> None:
        self.root = root
        self.cap_bytes = cap_bytes
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    # ---- paths -------------------------------------------------------------
    def job_dir(self, job_id: str) -> Path:
        if not JOB_ID.match(job_id):
            raise NotFound(f"There is no job '{job_id[:40]}'.")
        return self.root / job_id

    def work_dir(self, job_id: str) -> Path:
        return self.job_dir(job_id) / "work"

    def take_path(self, job_id: str, take: int, kind: str) -> Path:
        suffix = {"audio": ".wav", "beats": ".beats.json", "midi": ".mid"}[kind]
        return self.job_dir(job_id) / f"take{take}{suffix}"

    # ---- records -----------------------------------------------------------
    def create(self, record: JobRecord) -> Path:
        work = self.work_dir(record.id)
        work.mkdir(parents=True, exist_ok=False)
        return work

    def save(self, record: JobRecord) -> None:
        folder = self.job_dir(record.id)
        if not folder.is_dir():
            return  # deleted meanwhile (DELETE of a finished job, or evicted)
        _write_atomically(folder / "job.json", json.dumps(asdict(record), indent=1).encode())

    def write_result_file(self, path: Path, data: bytes) -> None:
        _write_atomically(path, data)

    def discard_work(self, job_id: str) -> None:
        shutil.rmtree(self.work_dir(job_id), ignore_errors=True)
        for stray in self.job_dir(job_id).glob(".*.tmp"):
            stray.unlink(missing_ok=True)

    def discard_results(self, job_id: str) -> None:
        for path in self.job_dir(job_id).glob("take*"):
            path.unlink(missing_ok=True)

    def delete(self, job_id: str) -> None:
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)

    def load_all(self) -> list[JobRecord]:
        """Every job on disk, oldest first; interrupted jobs become failed; strays removed."""
        records = []
        for folder in sorted(self.root.iterdir()) if self.root.is_dir() else []:
            if not folder.is_dir() or not JOB_ID.match(folder.name):
                continue
            try:
                record = JobRecord.from_dict(json.loads((folder / "job.json").read_text()))
            except (OSError, ValueError, TypeError) as exc:
                log.warning("removing unreadable job folder %s (%s)", folder.name, exc)
                shutil.rmtree(folder, ignore_errors=True)
                continue
            self.discard_work(record.id)
            if record.active:
                record.state, record.stage, record.message = "failed", "failed", INTERRUPTED
                record.finished = time.time()
                self.discard_results(record.id)
                self.save(record)
            records.append(record)
        records.sort(key=lambda r: r.created)
        return records

    # ---- size cap ----------------------------------------------------------
    def enforce_cap(self, records: list[JobRecord]) -> list[str]:
        """Delete the oldest finished jobs until the folder fits the cap; return their ids."""
        with self._lock:
            sizes = {r.id: _folder_size(self.root / r.id) for r in records}
            total = sum(sizes.values())
            evicted: list[str] = []
            finished = sorted((r for r in records if not r.active), key=lambda r: r.finished or r.created)
            # Oldest first, the newest finished too if need be: after a job settles the folder fits the cap.
            # Active jobs (the one settling now) are never evicted.
            for record in finished:
                if total <= self.cap_bytes:
                    break
                self.delete(record.id)
                total -= sizes[record.id]
                evicted.append(record.id)
            if evicted:
                log.info("cache cap: removed %d old job(s)", len(evicted))
            return evicted
