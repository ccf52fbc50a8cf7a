"""A batch manifest: CSV (with a header) or JSON Lines, one row per range to score.

Columns: ``video`` (required), ``start``, ``end``, ``emotion``, ``seed``, ``takes``;
empty cells take the defaults of ``diffv2m generate``, except the seed, which is 0
so that a resumed batch makes the same music. A relative ``video`` is relative to
the manifest's folder. Each row is checked by the one request checker
(``job_request.validate``); a bad row keeps its message and the batch goes on.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import Diffv2mError, InputError
from ..job_request import JobRequest, validate
from ..limits import shown

COLUMNS = ("video", "start", "end", "emotion", "seed", "takes")
DEFAULT_SEED = 0


@dataclass(frozen=True)
class BatchRow:
    """One manifest row: its id (the output folder's name), and either a checked request or why not."""

    number: int  # 1-based, in manifest order
    id: str
    request: dict[str, Any] | None  # JobRequest.to_dict() of a validated request
    problem: str | None = None


def row_id(number: int, video: str) -> str:
    """``0007-clip``: manifest order first, then the video's stem in safe characters."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(video).stem)[:40] or "row"
    return f"{number:04d}-{stem}"


def _number(cells: dict[str, Any], name: str, kind: type[int] | type[float]) -> Any:
    value = cells.get(name)
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    if isinstance(value, bool):
        raise InputError(f"'{name}' must be a number, not {shown(value)}.")
    try:
        number = kind(value)
    except (TypeError, ValueError):
        what = "a whole number" if kind is int else "a number"
        raise InputError(f"'{name}' must be {what}, not '{shown(value)}'.") from None
    if kind is int and isinstance(value, float) and value != number:
        raise InputError(f"'{name}' must be a whole number, not {shown(value)}.")
    return number


def _request(cells: dict[str, Any], base: Path) -> JobRequest:
    unknown = sorted(set(cells) - set(COLUMNS))
    if unknown:
        raise InputError(f"Unknown column(s) {', '.join(map(shown, unknown))}; the columns are {', '.join(COLUMNS)}.")
    video = str(cells.get("video") or "").strip()
    if not video:
        raise InputError("'video' is empty: give the path of the video to score.")
    path = Path(video).expanduser()
    start, seed, takes = _number(cells, "start", float), _number(cells, "seed", int), _number(cells, "takes", int)
    request = JobRequest(
        video=str(path if path.is_absolute() else (base / path).resolve()),
        start=0.0 if start is None else start,
        end=_number(cells, "end", float),
        emotion=str(cells.get("emotion") or "auto"),
        seed=DEFAULT_SEED if seed is None else seed,
        takes=1 if takes is None else takes,
    )
    return validate(request)


def _cells(path: Path) -> list[dict[str, Any] | str]:
    """Each row's cells, or the sentence saying why the line is not a row."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        rows: list[dict[str, Any] | str] = []
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                rows.append(f"not JSON ({exc.msg})")
                continue
            rows.append(value if isinstance(value, dict) else "not a JSON object")
        return rows
    if path.suffix.lower() != ".csv":
        raise InputError(f"The manifest {shown(path)} must be a .csv or .jsonl file.")
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames or "video" not in [f.strip() for f in reader.fieldnames]:
        raise InputError(f"The manifest {shown(path)} needs a header line naming its columns: {', '.join(COLUMNS)}.")
    return [
        {k.strip(): v for k, v in row.items() if k is not None and v not in (None, "")}
        for row in reader
        if any((v or "").strip() for v in row.values() if isinstance(v, str))
    ]


def read_manifest(path: Path) -> list[BatchRow]:
    """Every row in order; raises only when the file itself cannot be used."""
    if not path.is_file():
        raise InputError(f"The manifest {shown(path)} does not exist.")
    rows = []
    for number, cells in enumerate(_cells(path), 1):
        video = str(cells.get("video") or "row") if isinstance(cells, dict) else "row"
        ident = row_id(number, video)
        if isinstance(cells, str):
            rows.append(BatchRow(number, ident, None, f"Row {number} is {cells}."))
            continue
        try:
            rows.append(BatchRow(number, ident, _request(cells, path.parent).to_dict()))
        except Diffv2mError as exc:
            rows.append(BatchRow(number, ident, None, f"Row {number}: {exc.message}"))
    if not rows:
        raise InputError(f"The manifest {shown(path)} has no rows.")
    return rows
