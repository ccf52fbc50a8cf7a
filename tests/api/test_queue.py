"""The queue: one job at a time, nobody dropped, cancelling stops a job and leaves nothing behind."""

from __future__ import annotations

import itertools
import time
from concurrent.futures import ThreadPoolExecutor

import requests


def leftovers(cache_dir):
    """Files that no finished job should leave: work folders, uploads, half-written files."""
    jobs = cache_dir / "jobs"
    return sorted(
        str(p.relative_to(cache_dir))
        for p in jobs.rglob("*")
        if p.name == "work" or "upload" in p.name or p.name.endswith((".tmp", ".part"))
    )


def test_twenty_concurrent_submissions_are_all_queued_and_run_one_at_a_time(server, short_clip):
    def submit(k: int) -> requests.Response:
        with short_clip.open("rb") as handle:
            files = [("end", (None, "1.0")), ("seed", (None, str(k))), ("video", ("c.mp4", handle))]
            return requests.post(f"{server.url}/jobs", files=files, timeout=120)

    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(submit, range(20)))
    assert [r.status_code for r in responses] == [202] * 20, [r.text for r in responses if r.status_code != 202]
    ids = [r.json()["id"] for r in responses]
    assert len(set(ids)) == 20
    busiest = 0
    finals = []
    for job_id in ids:
        view, _ = server.wait(job_id, timeout=240)
        finals.append(view)
        busiest = max(busiest, server.http.get(f"{server.url}/health").json()["queue"]["running"])
    assert [v["state"] for v in finals] == ["done"] * 20, [v["message"] for v in finals if v["state"] != "done"]
    assert sorted(v["result"]["seed"] for v in finals) == list(range(20))
    spans = sorted((v["started"], v["finished"]) for v in finals)
    for (_, finished), (started, _) in itertools.pairwise(spans):
        assert started >= finished, "two jobs ran at the same time"
    assert busiest <= 1
    assert leftovers(server.cache_dir) == []


def wait_until_running(server, job_id: str, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = server.job(job_id)
        if view["state"] == "running" and view["stage"] == "generating":
            return view
        assert view["state"] in ("queued", "running"), view
        time.sleep(0.02)
    raise AssertionError("the job never started generating")


def test_cancel_mid_job_and_while_queued(server, short_clip):
    # Ten minutes of music from a short range: long enough to be caught while generating.
    long_job = server.submit(short_clip, end=2.0, duration=600).json()["id"]
    queued_job = server.submit(short_clip, end=1.0).json()["id"]
    wait_until_running(server, long_job)
    cancelled_queued = server.http.delete(f"{server.url}/jobs/{queued_job}").json()
    assert cancelled_queued["state"] == "cancelled"
    answer = server.http.delete(f"{server.url}/jobs/{long_job}")
    assert answer.status_code == 200 and answer.json().get("cancel_requested") is True
    began = time.monotonic()
    view, _ = server.wait(long_job, timeout=60)
    assert view["state"] == "cancelled"
    assert time.monotonic() - began < 5, "cancelling must not wait for the job to finish (~20 s here)"
    for job_id in (long_job, queued_job):
        folder = server.cache_dir / "jobs" / job_id
        assert sorted(p.name for p in folder.iterdir()) == ["job.json"]
        assert server.http.get(f"{server.url}/jobs/{job_id}/audio").status_code == 409
    assert leftovers(server.cache_dir) == []
    assert server.healthy()
