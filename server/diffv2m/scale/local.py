"""Run batch rows one after another in this process, with one ``RowWorker`` (engines loaded once)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ..settings import Settings
from .manifest import BatchRow
from .worker import ROW_RETRIES, RowResult, RowWorker, crashed

LogFn = Callable[..., Any]


def run_local(rows: list[BatchRow], settings: Settings, log: LogFn) -> Iterator[RowResult]:
    """Each row's result in order; a row that raises is tried ``ROW_RETRIES`` more times, then reported."""
    worker = RowWorker(settings)
    for row in rows:
        error = ""
        for attempt in range(1, ROW_RETRIES + 2):
            log(row.id, "start", attempt=attempt)
            try:
                result = worker.run(row)
                break
            except Exception as exc:  # a crash, not a bad request: worker.run returns those
                error = f"{type(exc).__name__}: {exc}"
                log(row.id, "crash", attempt=attempt, error=error)
        else:
            result = crashed(row, error)
        yield result
