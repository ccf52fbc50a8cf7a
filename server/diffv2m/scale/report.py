"""report.json and report.md for a whole manifest: each row's outputs and ``diffv2m eval`` figures, a summary."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from .. import __version__
from ..evaluation.evaluate import machine_description
from ..evaluation.metrics import METRIC_DOCS
from ..evaluation.report import COLUMNS, _cell, json_safe
from .worker import ROW_FIGURES

FORMATS = {name: fmt for name, _, fmt in COLUMNS} | {"lufs": "{:.1f}"}
TITLES = {name: title for name, title, _ in COLUMNS}


def _mean(values: list[Any]) -> float | None:
    finite = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    return sum(finite) / len(finite) if finite else None


def build(manifest: Path, done: list[dict[str, Any]], failed: list[dict[str, Any]], rows: int) -> dict[str, Any]:
    """``done``: the rows' done.json records; ``failed``: {row, id, problem} for each row not done."""
    takes = [take["metrics"] for record in done for take in record["takes"]]
    return {
        "format": "diffv2m-batch-report",
        "version": 1,
        "diffv2m": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine_description(),
        "manifest": str(manifest),
        "metrics": {name: METRIC_DOCS[name] for name in ROW_FIGURES},
        "summary": {
            "rows": rows,
            "done": len(done),
            "failed": len(failed),
            "takes": len(takes),
            "mean": {name: _mean([t.get(name) for t in takes]) for name in ROW_FIGURES},
        },
        "rows": sorted(done, key=lambda r: r["row"]),
        "failed": sorted(failed, key=lambda r: r["row"]),
    }


def markdown(report: dict[str, Any]) -> str:
    summary = report["summary"]
    header = ["row", "take", "video", "range s", "emotion", *(TITLES.get(n, n) for n in ROW_FIGURES)]
    lines = [
        "# diffv2m batch report",
        "",
        f"Manifest `{report['manifest']}`: {summary['done']} of {summary['rows']} rows done, "
        f"{summary['failed']} failed; diffv2m {report['diffv2m']}, {report['created']}, {report['machine']}.",
        "Figures are those of `diffv2m eval` against the visual events detected in each range (docs/evaluation.md).",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for record in report["rows"]:
        request = record["request"]
        for number, take in enumerate(record["takes"], 1):
            cells = [
                record["id"],
                str(number),
                Path(request["video"]).name,
                f"{request['start']:g}–{request['end']:g}",
                record["emotion"],
                *(_cell(take["metrics"].get(n), FORMATS.get(n, "{:.2f}")) for n in ROW_FIGURES),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    means = summary["mean"]
    lines += [
        "",
        "Mean over all takes: "
        + ", ".join(f"{TITLES.get(n, n)} {_cell(means[n], FORMATS.get(n, '{:.2f}'))}" for n in ROW_FIGURES)
        + ".",
    ]
    if report["failed"]:
        lines += ["", "## Failed rows", ""] + [f"- `{f['id']}`: {f['problem']}" for f in report["failed"]]
    return "\n".join(lines) + "\n"


def write(report: dict[str, Any], out: Path) -> tuple[Path, Path]:
    paths = out / "report.json", out / "report.md"
    paths[0].write_text(json.dumps(json_safe(report), indent=1) + "\n")
    paths[1].write_text(markdown(report))
    return paths
