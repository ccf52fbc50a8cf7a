"""Results live on disk: a restart keeps them, interrupted jobs say so, the size cap evicts the oldest."""

from __future__ import annotations

import time


def run_job(server, clip, **fields) -> dict:
    response = server.submit(clip, **fields)
    assert response.status_code == 202, response.text
    view, _ = server.wait(response.json()["id"])
    assert view["state"] == "done", view["message"]
    return view


def test_restart_keeps_results_and_cap_evicts_oldest(server_factory, short_clip, tmp_path_factory):
    cache = tmp_path_factory.mktemp("restart-cache")
    # A 1 s take is ~176 kB of WAV, so a 1 MB cap holds a few short jobs but not a 4 s one more.
    first_server = server_factory("--cache-cap-mb", "1", cache_dir=cache)
    first = run_job(first_server, short_clip, end=1.0, seed=1)
    second = run_job(first_server, short_clip, end=1.0, seed=2)
    audio_before = first_server.http.get(f"{first_server.url}/jobs/{first['id']}/audio").content
    # A job caught running when the server stops.
    interrupted = first_server.submit(short_clip, end=2.0, duration=600).json()["id"]
    deadline = time.monotonic() + 60
    while first_server.job(interrupted)["state"] != "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    first_server.stop()

    again = server_factory("--cache-cap-mb", "1", cache_dir=cache)
    kept = again.job(first["id"])
    assert kept["state"] == "done" and kept["result"] == first["result"]
    assert again.http.get(f"{again.url}/jobs/{first['id']}/audio").content == audio_before
    assert again.job(second["id"])["state"] == "done"
    stopped = again.job(interrupted)
    assert stopped["state"] == "failed" and "stopped before this job finished" in stopped["message"]
    assert sorted(p.name for p in (cache / "jobs" / interrupted).iterdir()) == ["job.json"]

    third = run_job(again, short_clip, end=3.0, duration=4.0, seed=3)
    assert again.http.get(f"{again.url}/jobs/{first['id']}").status_code == 404, "oldest result not evicted"
    assert again.http.get(f"{again.url}/jobs/{third['id']}/audio").status_code == 200
    total = sum(p.stat().st_size for p in (cache / "jobs").rglob("*") if p.is_file())
    assert total <= 1024 * 1024
