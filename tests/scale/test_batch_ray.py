"""``diffv2m batch --ray local``: the same batch on a real Ray the command starts itself (2 CPUs, loopback).

Also: nothing imports Ray unless asked. Skips (with the reason) only when Ray cannot be
imported: scripts/setup.sh --test installs the ``ray`` extra.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from diffv2m.scale.cluster import LOOPBACK_SWITCH

from .conftest import batch_command, done_counts, write_manifest
from .processes import descendants, is_loopback, listening


def test_the_cli_and_batch_modules_do_not_import_ray():
    code = (
        "import sys, diffv2m.cli, diffv2m.scale.batch, diffv2m.scale.local, diffv2m.scale.worker; "
        "diffv2m.cli.build_parser(); print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert run.stdout.strip() == "[]"


def _row_worker_busy(root: int) -> int | None:
    """A Ray worker process of this batch that is running a row (Ray names it after the task)."""
    for pid in descendants(root):
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if title.startswith("ray::RowWorker.run"):
            return pid
    return None


def test_batch_on_local_ray_survives_a_killed_worker_and_does_each_row_once(batch_clip, tmp_path):
    pytest.importorskip("ray", reason="Ray is not installed: pip install -e '.[ray]' (scripts/setup.sh --test)")
    good = 4
    lines = [f"{batch_clip},0,2,calm,{s},1" for s in range(good)]
    lines += [f"{batch_clip},0,2,grumpy,9,1", "missing.mp4,0,2,,,"]  # refused by the checker; fails on the worker
    manifest = write_manifest(tmp_path / "rows.csv", lines)
    out, cache = tmp_path / "out", tmp_path / "cache"
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", LOOPBACK_SWITCH):
        env.pop(name, None)  # a user's shell: none of the Ray settings tests/api's cluster sets
    process = subprocess.Popen(
        batch_command(manifest, out, cache, "--ray", "local", "--ray-workers", "2", "-q"),
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    killed = None
    deadline = time.monotonic() + 240
    while killed is None and time.monotonic() < deadline and process.poll() is None:
        if (out / "log.jsonl").is_file() and sum(done_counts(out).values()) >= 1:
            killed = _row_worker_busy(process.pid)
            if killed is not None:
                ports = listening(process.pid)  # the Ray that --ray local started, while it works
                os.kill(killed, signal.SIGKILL)
                alive_at_kill, done_at_kill = set(descendants(process.pid)), set(done_counts(out))
        time.sleep(0.05)
    _, stderr = process.communicate(timeout=300)
    assert killed is not None, f"no busy Ray worker was seen to kill\n{stderr[-3000:]}"
    assert {"gcs_server", "raylet"} <= set(ports.values()), ports
    assert all(is_loopback(address) for address in ports), f"--ray local is not on loopback only: {ports}"
    assert process.returncode == 1, stderr[-3000:]  # the bad row
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["done"] == good and [f["row"] for f in report["failed"]] == [good + 1, good + 2]
    assert "Unknown emotion 'grumpy'" in report["failed"][0]["problem"]
    assert "missing.mp4 does not exist" in report["failed"][1]["problem"]
    counts = done_counts(out)
    assert len(counts) == good and set(counts.values()) == {1}, counts
    workers = {r["worker_pid"] for r in report["rows"]}
    assert os.getpid() not in workers and process.pid not in workers  # the rows ran on Ray workers
    assert {r["id"] for r in report["rows"] if r["worker_pid"] == killed} <= done_at_kill
    assert workers - alive_at_kill, "no row was finished by the worker Ray restarted"
    for record in report["rows"]:
        assert record["request"]["emotion"] == "calm" and record["takes"][0]["metrics"]["onset_f"] is not None
        assert (out / "rows" / record["id"] / "score.wav").is_file()
