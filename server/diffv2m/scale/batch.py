"""One batch run: read the manifest, skip the rows already done, run the rest, write the report.

Rows run in this process (``address=None``) or on Ray; either way the driver
alone writes the output folder (``store``), so each row is recorded done once.
A row that cannot be scored (bad request, missing video, crashed on every try)
is reported and the batch goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..settings import Settings
from . import report
from .manifest import BatchRow, read_manifest
from .store import BatchStore
from .worker import RowResult


@dataclass
class BatchOutcome:
    rows: int
    skipped: int  # done by an earlier run
    done: int  # done by this run
    failed: list[dict[str, Any]]
    report_paths: tuple[Path, Path]


def run_batch(
    manifest: Path,
    out: Path,
    settings: Settings,
    ray_address: str | None = None,
    progress: Callable[[int, int], Any] | None = None,
    ray_workers: int | None = None,
) -> BatchOutcome:
    """``progress(finished, total)`` after every row (the already-done ones count as finished at the start)."""
    rows = read_manifest(manifest)
    store = BatchStore(out)
    store.claim(manifest)
    records: dict[str, dict[str, Any]] = {}
    todo: list[BatchRow] = []
    for row in rows:
        record = store.done_record(row)
        if record is not None:
            records[row.id] = record
        else:
            todo.append(row)
    skipped = len(records)
    for row_id in records:
        store.log(row_id, "skipped")
    if progress:
        progress(skipped, len(rows))
    failed: list[dict[str, Any]] = []
    by_id = {row.id: row for row in todo}

    def settle(result: RowResult) -> None:
        if result.problem is None:
            store.save(result)
            records[result.row_id] = result.record
        else:
            store.log(result.row_id, "failed", problem=result.problem)
            failed.append({"row": by_id[result.row_id].number, "id": result.row_id, "problem": result.problem})
        if progress:
            progress(len(records) + len(failed), len(rows))

    for row in todo:
        if row.request is None:  # refused by the request checker: no worker needed
            settle(RowResult(row.id, problem=row.problem))
    todo = [row for row in todo if row.request is not None]
    if todo:
        if ray_address is None:
            from .local import run_local

            results = run_local(todo, settings, store.log)
        else:
            from .ray_runner import run_ray

            results = run_ray(todo, settings, ray_address, store.log, ray_workers)
        for result in results:
            settle(result)
    document = report.build(manifest, list(records.values()), failed, len(rows))
    return BatchOutcome(len(rows), skipped, len(records) - skipped, failed, report.write(document, out))
