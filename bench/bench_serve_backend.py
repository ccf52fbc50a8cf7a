"""Per-job overhead of ``serve --backend ray`` against the in-process queue, through real HTTP.

    PYTHONPATH=server .venv/bin/python bench/bench_serve_backend.py [--jobs 10] [--seconds 5] [--json OUT.json]

Writes a ``--seconds`` clip, starts two real servers side by side (each with its own
cache folder): the default in-process backend, and ``--backend ray`` with one composer
actor on a private loopback Ray the server starts itself. After one warm-up job each
(features, librosa's kernels, the actor's engine), it submits the same composer job
(``--seconds`` s, distinct seeds, one take) ``--jobs`` times to each, alternating
in-process / Ray so both see the same machine load, and waits for each to finish before
the next. Per job it prints the wall time the client sees (POST to ``done`` seen by
polling every 20 ms) and, from the job's ``job.json``, the queue wait and the run time
on the server. The overhead is the difference of the medians. Quote the load average
printed with the figures: the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import requests
from served import Served

from diffv2m.benchmark.videos import ClipSpec, periodic_events, write_clip

POLL_S = 0.02


class Server(Served):
    def __init__(self, cache: Path, root: Path, *extra: str) -> None:
        env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
        env.pop("DIFFV2M_WEIGHTS", None)
        super().__init__(cache, "--allowed-root", str(root), "--log-level", "warning", *extra, env=env)

    def job(self, clip: Path, seconds: float, seed: int) -> dict[str, float]:
        """One job, start to end: the client's wall time and the server's own times (s)."""
        fields = {"video_path": str(clip), "end": f"{seconds:g}", "seed": str(seed), "engine": "default"}
        began = time.perf_counter()
        response = requests.post(f"{self.url}/jobs", files={k: (None, v) for k, v in fields.items()}, timeout=60)
        response.raise_for_status()
        job_id = response.json()["id"]
        while (view := requests.get(f"{self.url}/jobs/{job_id}", timeout=30).json())["state"] not in (
            "done",
            "failed",
            "cancelled",
        ):
            time.sleep(POLL_S)
        wall = time.perf_counter() - began
        if view["state"] != "done":
            raise RuntimeError(f"job {job_id} {view['state']}: {view.get('message')}")
        record = json.loads((self.cache / "jobs" / job_id / "job.json").read_text())
        return {
            "wall_s": wall,
            "queued_s": record["started"] - record["created"],
            "run_s": record["finished"] - record["started"],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        clip = root / "clip.mp4"
        write_clip(clip, ClipSpec(args.seconds, Fraction(25), 320, 180, periodic_events(100, args.seconds), [1.5]))
        servers: dict[str, Server] = {}
        try:
            servers["in process"] = Server(root / "local-cache", root)
            servers["ray"] = Server(root / "ray-cache", root, "--backend", "ray", "--ray-composer-workers", "1")
            for server in servers.values():
                server.job(clip, args.seconds, seed=1000)  # warm-up, not counted
            times: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
            for seed in range(args.jobs):
                for name, server in servers.items():
                    times[name].append(server.job(clip, args.seconds, seed))
        finally:
            for server in servers.values():
                server.stop()
    medians = {name: {key: statistics.median(t[key] for t in runs) for key in runs[0]} for name, runs in times.items()}
    for name, runs in times.items():
        walls = " ".join(f"{t['wall_s']:.2f}" for t in runs)
        figure = medians[name]
        print(
            f"{name:10s} wall per job (s): {walls}  | median wall {figure['wall_s']:.2f}, "
            f"queued {figure['queued_s']:.3f}, run {figure['run_s']:.2f}"
        )
    overhead = {key: medians["ray"][key] - medians["in process"][key] for key in medians["ray"]}
    print(
        f"Ray overhead per {args.seconds:g} s composer job (median): wall {overhead['wall_s']:+.2f} s, "
        f"queued {overhead['queued_s']:+.3f} s, run {overhead['run_s']:+.2f} s"
    )
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min), {os.cpu_count()} CPUs")
    if args.json:
        args.json.write_text(json.dumps({"jobs": times, "medians": medians, "overhead": overhead}, indent=1))


if __name__ == "__main__":
    main()
