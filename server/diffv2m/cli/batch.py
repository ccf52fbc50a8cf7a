"""``diffv2m batch MANIFEST --out DIR [--ray ADDRESS]``: score many ranges, resumably, with a report.

MANIFEST is CSV or JSON Lines with the columns video, start, end, emotion, seed,
takes (scale/manifest.py). Each row goes through the job path of ``diffv2m
generate``; its WAV, beats JSON and MIDI land in DIR/rows/<row id>/, and
DIR/report.md + report.json hold the figures of ``diffv2m eval`` per row. Run the
same command again to resume: rows already done are skipped. Exit status 0 when
every row is done, 1 when some failed (they are listed in the report).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import InputError
from .options import add_model_options, settings_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("batch", help="score the ranges of a CSV/JSONL manifest, resumably, with a report")
    p.add_argument("manifest", type=Path, help="CSV (with a header) or JSONL: video, start, end, emotion, seed, takes")
    p.add_argument("--out", type=Path, required=True, help="results folder (created; rerun to resume)")
    p.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="run rows on a Ray cluster: its address (e.g. auto, or HEAD:6379), or 'local' for a 2-CPU one here",
    )
    p.add_argument("--ray-workers", type=int, metavar="N", help="with --ray: N engine actors (default: one per CPU)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_model_options(p)
    p.set_defaults(func=run)


class _RowsBar:
    """tqdm on stderr counting rows."""

    def __init__(self, enabled: bool) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=0, unit="row", file=sys.stderr, disable=not enabled, desc="batch")

    def __call__(self, finished: int, total: int) -> None:
        if self.bar.total != total:
            self.bar.total = total
            self.bar.refresh()
        self.bar.update(finished - self.bar.n)

    def close(self) -> None:
        self.bar.close()


def run(args: argparse.Namespace) -> int:
    from ..scale.batch import run_batch

    settings = settings_from_args(args)
    if args.ray_workers is not None and (args.ray is None or args.ray_workers < 1):
        raise InputError("--ray-workers needs --ray and a number of at least 1.")
    bar = _RowsBar(enabled=not args.quiet)
    try:
        outcome: Any = run_batch(
            args.manifest.expanduser(), args.out.expanduser(), settings, args.ray, bar, args.ray_workers
        )
    finally:
        bar.close()
    print(
        f"{outcome.done + outcome.skipped} of {outcome.rows} rows done "
        f"({outcome.skipped} from an earlier run), {len(outcome.failed)} failed"
    )
    for failure in outcome.failed:
        print(f"  failed {failure['id']}: {failure['problem']}")
    print(f"report: {outcome.report_paths[1]}  {outcome.report_paths[0]}")
    return 1 if outcome.failed else 0
