"""``diffv2m serve --backend ray`` on a real local Ray cluster, through the real HTTP API."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="the Ray tests need the extra: pip install -e '.[ray]' (scripts/setup.sh --test)")
from scale.processes import is_loopback, listening  # tests/scale: /proc helpers shared with the batch tests

from . import ray_cluster

ray_head = ray_cluster.ray_head  # the session's cluster fixture

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def ray_server(server_factory, ray_head, allowed_root, tmp_path_factory):
    cache = tmp_path_factory.mktemp("ray-cache")
    args = ("--backend", "ray", "--ray-address", ray_head.address, "--ray-composer-workers", "2")
    return server_factory(*args, "--allowed-root", str(allowed_root), cache_dir=cache)


def _health(server) -> dict:
    return server.http.get(f"{server.url}/health", timeout=10).json()


def _running_worker(server, job_id: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for worker in _health(server)["backend"]["pools"]["default"]["workers"]:
            if worker["job"] == job_id and server.job(job_id)["progress"] > 0:
                return worker
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never ran")


def test_health_lists_pools_workers_and_queue(ray_server):
    backend = _health(ray_server)["backend"]
    assert backend["name"] == "ray" and set(backend["pools"]) == {"default"}
    workers = backend["pools"]["default"]["workers"]
    assert len(workers) == 2 and len({w["pid"] for w in workers}) == 2
    assert all(w["pid"] != ray_server.process.pid for w in workers)  # actors, not the HTTP process
    assert backend["pools"]["default"]["queued"] == 0


def test_twenty_jobs_all_finish(ray_server, short_clip):
    ids = []
    for seed in range(20):
        response = ray_server.submit(path=str(short_clip), end=2.0, seed=seed, engine="default")
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    assert _health(ray_server)["backend"]["pools"]["default"]["queued"] > 0
    for seed, job_id in enumerate(ids):
        view, _ = ray_server.wait(job_id, timeout=240)
        assert view["state"] == "done", view["message"]
        assert view["result"]["seed"] == seed
        audio = ray_server.http.get(f"{ray_server.url}{view['result']['takes'][0]['audio']}", timeout=30)
        assert audio.status_code == 200 and audio.content[:4] == b"RIFF"


def test_cancel_mid_job_stops_it_on_the_worker(ray_server, short_clip):
    # 60 s of music, three takes: seconds of work on the actor, so the cancel lands mid-job even with
    # the clip's features already cached (a 3 s job could end between two polls of /health).
    response = ray_server.submit(path=str(short_clip), end=3.0, duration=60.0, seed=5, engine="default", takes=3)
    job_id = response.json()["id"]
    _running_worker(ray_server, job_id)
    assert ray_server.http.delete(f"{ray_server.url}/jobs/{job_id}", timeout=10).status_code == 200
    view, _ = ray_server.wait(job_id, timeout=60)
    assert view["state"] == "cancelled"
    assert not list((ray_server.cache_dir / "jobs" / job_id).glob("take*"))
    after = ray_server.submit(path=str(short_clip), end=1.5, seed=6, engine="default")
    assert ray_server.wait(after.json()["id"], timeout=120)[0]["state"] == "done"  # the worker lives on


def test_killed_worker_job_retried_and_no_job_lost(ray_server, short_clip):
    ids = []
    for seed in range(4):  # 60 s of music each: the kill lands mid-job (see the cancel test)
        job = ray_server.submit(path=str(short_clip), end=3.0, duration=60.0, seed=seed, engine="default", takes=2)
        ids.append(job.json()["id"])
    victim = _running_worker(ray_server, ids[0])
    os.kill(victim["pid"], signal.SIGKILL)
    view, seen = ray_server.wait(ids[0], timeout=240)
    assert view["state"] == "done", view["message"]
    assert "retrying" in {v["stage"] for v in seen}
    for job_id in ids[1:]:
        assert ray_server.wait(job_id, timeout=240)[0]["state"] == "done"
    pids = {w["pid"] for w in _health(ray_server)["backend"]["pools"]["default"]["workers"]}
    assert victim["pid"] not in pids and len(pids) == 2  # a fresh actor took its place


def test_restart_of_the_head_keeps_results(ray_server, ray_head, short_clip):
    """The HTTP server and the Ray head node both stop (every actor with them) and come back."""
    job_id = ray_server.submit(path=str(short_clip), end=1.5, seed=11, engine="default").json()["id"]
    view, _ = ray_server.wait(job_id, timeout=120)
    assert view["state"] == "done"
    before = ray_server.http.get(f"{ray_server.url}/jobs/{job_id}/audio?take=0", timeout=30).content
    old_workers = {w["pid"] for w in _health(ray_server)["backend"]["pools"]["default"]["workers"]}
    ray_server.stop()
    ray_head.stop()
    assert not [pid for pid in old_workers if _alive(pid)], "the old cluster's actors outlived its head"
    ray_head.start()  # the same address: a new cluster, nothing of the old one's state
    ray_server.start()
    assert ray_server.job(job_id)["state"] == "done"
    assert ray_server.http.get(f"{ray_server.url}/jobs/{job_id}/audio?take=0", timeout=30).content == before
    workers = {w["pid"] for w in _health(ray_server)["backend"]["pools"]["default"]["workers"]}
    assert len(workers) == 2 and not workers & old_workers
    after = ray_server.submit(path=str(short_clip), end=1.5, seed=12, engine="default").json()["id"]
    assert ray_server.wait(after, timeout=120)[0]["state"] == "done"  # the new cluster takes work


def _alive(pid: int, timeout: float = 30.0) -> bool:
    """Whether ``pid`` still runs after up to ``timeout`` s (a zombie counts as gone)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        if state == "Z":
            return False
        time.sleep(0.2)
    return True


def test_tiny_diffv2m_on_its_own_pool(ray_server, server_factory, ray_head, allowed_root, short_clip, tmp_path_factory):
    ray_server.stop()  # its two composer actors hold the cluster's two CPUs
    from diffv2m.model.testing import write_tiny_weights

    weights = write_tiny_weights(tmp_path_factory.mktemp("tiny-ray"), seed=4)
    server = server_factory(
        "--backend", "ray", "--ray-address", ray_head.address, "--weights", str(weights),
        "--ray-composer-workers", "1", "--ray-model-workers", "1", "--allowed-root", str(allowed_root),
    )  # fmt: skip
    pools = _health(server)["backend"]["pools"]
    assert set(pools) == {"default", "diffv2m"} and len(pools["diffv2m"]["workers"]) == 1
    model = server.submit(path=str(short_clip), end=2.0, seed=3, steps=2, engine="diffv2m").json()["id"]
    composer = server.submit(path=str(short_clip), end=2.0, seed=3, engine="default").json()["id"]
    assert server.wait(composer, timeout=180)[0]["state"] == "done"
    view, _ = server.wait(model, timeout=240)
    assert view["state"] == "done", view["message"]
    assert view["result"]["engine"] == "diffv2m" and view["result"]["steps"] == 2
    server.stop()


def test_without_an_address_the_server_starts_its_own_loopback_cluster(
    server_factory, allowed_root, short_clip, monkeypatch
):
    """No ``--ray-address`` and no Ray settings in the environment: a user's first try."""
    for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", ray_cluster.LOOPBACK_SWITCH):
        monkeypatch.delenv(name, raising=False)  # the cluster fixture's, for this server only
    server = server_factory("--backend", "ray", "--allowed-root", str(allowed_root))
    backend = _health(server)["backend"]
    assert backend["address"] == "local" and len(backend["pools"]["default"]["workers"]) == 1
    ports = listening(server.process.pid)
    assert {"gcs_server", "raylet"} <= set(ports.values()), ports  # Ray's own processes, below the server
    assert all(is_loopback(address) for address in ports), f"not on loopback only: {ports}"
    job_id = server.submit(path=str(short_clip), end=1.5, seed=21, engine="default").json()["id"]
    view, _ = server.wait(job_id, timeout=120)
    assert view["state"] == "done", view["message"]
    server.stop()
