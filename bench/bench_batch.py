"""``diffv2m batch`` throughput: in process vs a local Ray with 1 and with 2 engine actors.

    PYTHONPATH=server .venv/bin/python bench/bench_batch.py [--rows 6] [--seconds 5] [--json OUT.json]

Writes a ``--seconds`` clip, then runs the same ``--rows`` composer jobs (one range each,
distinct seeds) three ways, one after another in this one run, each into a fresh folder
with a warm feature cache: in this process, ``--ray local --ray-workers 1`` and
``--ray local --ray-workers 2``. Prints the wall time of each whole command (Ray's start-up
included), the steady per-row time (rows after the first one per worker, from the log's
start/done times), the 2-vs-1 worker throughput ratio and the Ray per-row overhead against
the in-process queue. Quote ``uptime`` with the figures: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

from diffv2m.benchmark.videos import ClipSpec, periodic_events, write_clip


def steady_row_seconds(out: Path, workers: int) -> float:
    """Median start-to-done time of the rows after each worker's first (engine loading excluded)."""
    events = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    started = {e["row"]: e["time"] for e in events if e["event"] == "start"}
    spans = sorted((e["time"] - started[e["row"]], e["row"]) for e in events if e["event"] == "done")
    finish_order = [e["row"] for e in events if e["event"] == "done"]  # the log is in time order
    later = [span for span, row in spans if row not in finish_order[:workers]]
    return statistics.median(later) if later else float("nan")


def run(manifest: Path, out: Path, cache: Path, *extra: str) -> float:
    command = [sys.executable, "-m", "diffv2m", "batch", str(manifest), "--out", str(out)]
    command += ["--cache-dir", str(cache), "-q", *extra]
    began = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=dict(os.environ, RAY_USAGE_STATS_ENABLED="0"))
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        clip = root / "clip.mp4"
        write_clip(clip, ClipSpec(args.seconds, Fraction(25), 320, 180, periodic_events(100, args.seconds), [1.5]))
        manifest = root / "rows.csv"
        lines = [f"{clip},0,{args.seconds:g},happy,{seed},1" for seed in range(args.rows)]
        manifest.write_text("video,start,end,emotion,seed,takes\n" + "\n".join(lines) + "\n")
        cache = root / "cache"
        run(manifest, root / "warm", cache)  # the feature cache and librosa's kernels, for every variant alike
        figures = {}
        for name, workers, extra in (
            ("in process", 1, ()),
            ("ray, 1 actor", 1, ("--ray", "local", "--ray-workers", "1")),
            ("ray, 2 actors", 2, ("--ray", "local", "--ray-workers", "2")),
        ):
            out = root / name.replace(" ", "_").replace(",", "")
            wall = run(manifest, out, cache, *extra)
            figures[name] = {"wall_s": round(wall, 2), "steady_row_s": round(steady_row_seconds(out, workers), 3)}
            print(
                f"{name:14s} {args.rows} rows: {wall:6.1f} s whole command, {figures[name]['steady_row_s']:.2f} s/row"
            )
    one, two, local = figures["ray, 1 actor"], figures["ray, 2 actors"], figures["in process"]
    ratio = (one["steady_row_s"] / 1) / (two["steady_row_s"] / 2)
    overhead = one["steady_row_s"] - local["steady_row_s"]
    print(
        f"throughput 2 vs 1 actors (steady rows): {ratio:.2f}x; Ray per-row overhead vs in process: {overhead:+.2f} s"
    )
    print(f"load: {os.getloadavg()[0]:.1f} (1 min), {os.cpu_count()} CPUs")
    if args.json:
        args.json.write_text(json.dumps({"figures": figures, "ratio_2_vs_1": ratio, "overhead_s": overhead}, indent=1))


if __name__ == "__main__":
    main()
