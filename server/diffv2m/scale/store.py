"""The batch's output folder: what is done, written whole, and a log of every attempt.

    OUT/batch.json           marks the folder as a batch's (another folder is never written into)
    OUT/rows/<row id>/       score.wav, beats.json, score.mid (and .take2... for takes), done.json
    OUT/log.jsonl            one line per event: start, done, retry, failed
    OUT/report.md, report.json

A row is done when its ``done.json`` (written last) names the same request and
every file it lists is there; a resumed batch skips it. Each file is written to
a temporary name and renamed, so a killed batch leaves no half file under a
final name; the half file it leaves under its temporary name is removed when the
row is saved by the run that redoes it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..limits import shown
from .manifest import BatchRow
from .worker import RowResult

MARKER, DONE, LOG = "batch.json", "done.json", "log.jsonl"


class BatchStore:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.rows = out / "rows"

    def claim(self, manifest: Path) -> None:
        """Create the folder, or reuse one this command made; never write into someone else's folder."""
        if self.out.exists() and not self.out.is_dir():
            raise InputError(f"--out {shown(self.out)} is a file; give a folder.")
        if self.out.is_dir() and any(self.out.iterdir()) and not (self.out / MARKER).is_file():
            raise InputError(
                f"--out {shown(self.out)} already holds files not made by 'diffv2m batch'; give a new or empty folder."
            )
        self.rows.mkdir(parents=True, exist_ok=True)
        if not (self.out / MARKER).is_file():
            _write(self.out / MARKER, json.dumps({"format": "diffv2m-batch", "manifest": str(manifest)}).encode())

    def done_record(self, row: BatchRow) -> dict[str, Any] | None:
        """The row's record when its outputs are complete for this same request, else None."""
        try:
            record = json.loads((self.rows / row.id / DONE).read_text())
        except (OSError, ValueError):
            return None
        if row.request is None or record.get("request") != row.request:
            return None
        names = [name for take in record.get("takes", []) for name in take["files"].values()]
        return record if names and all((self.rows / row.id / n).is_file() for n in names) else None

    def save(self, result: RowResult) -> None:
        """Write the row's files, then its done.json, then the log line."""
        folder = self.rows / result.row_id
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob(".*.part"):  # a killed run's half-written file (SIGKILL skips _write's finally)
            stale.unlink(missing_ok=True)
        for name, data in result.files.items():
            _write(folder / name, data)
        _write(folder / DONE, json.dumps(result.record, indent=1).encode())
        self.log(result.row_id, "done")

    def log(self, row_id: str, event: str, **details: Any) -> None:
        line = {"time": round(time.time(), 3), "row": row_id, "event": event, **details}
        with (self.out / LOG).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def events(self) -> list[dict[str, Any]]:
        """Every logged event, oldest first (a line cut by a kill is skipped)."""
        try:
            lines = (self.out / LOG).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        events = []
        for line in lines:
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
        return events


def _write(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with temp.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
