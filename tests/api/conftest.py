"""The real server in a subprocess (uvicorn on a free port) and real HTTP to it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest
import requests

from diffv2m.benchmark.videos import ClipSpec, periodic_events

STARTUP_TIMEOUT = 90.0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class Server:
    """``python -m diffv2m serve`` as a subprocess; ``url`` and a ``requests`` session."""

    def __init__(self, cache_dir: Path, *args: str, host: str = "127.0.0.1", token: str | None = None) -> None:
        self.cache_dir = cache_dir
        self.args = args
        self.host = host
        self.token = token
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.log_path = cache_dir.parent / f"{cache_dir.name}-server.log"
        self.http = requests.Session()
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "127.0.0.1") else self.host
        return f"http://{host}:{self.port}"

    def command(self) -> list[str]:
        command = [sys.executable, "-m", "diffv2m", "serve", "--host", self.host, "--port", str(self.port)]
        command += ["--cache-dir", str(self.cache_dir), *self.args]
        return command

    def start(self) -> Server:
        env = dict(os.environ)
        env.pop("DIFFV2M_WEIGHTS", None)
        if self.token:
            env["DIFFV2M_TOKEN"] = self.token
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if requests.get(f"{self.url}/health", timeout=30).status_code == 200:
                    return self
            except (requests.ConnectionError, requests.Timeout):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not answer within {STARTUP_TIMEOUT} s:\n{self.log()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # ---- HTTP helpers ------------------------------------------------------
    def submit(self, video: Path | None = None, *, path: str | None = None, **fields: object) -> requests.Response:
        """POST /jobs as multipart: form fields, plus the ``video`` upload or a ``video_path``."""
        parts: list[tuple[str, tuple]] = [(k, (None, str(v))) for k, v in fields.items() if v is not None]
        if path is not None:
            parts.append(("video_path", (None, path)))
        if video is None:
            return self.http.post(f"{self.url}/jobs", files=parts, timeout=60)
        with video.open("rb") as handle:
            parts.append(("video", (video.name, handle, "video/mp4")))
            return self.http.post(f"{self.url}/jobs", files=parts, timeout=60)

    def job(self, job_id: str) -> dict:
        response = self.http.get(f"{self.url}/jobs/{job_id}", timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def wait(self, job_id: str, timeout: float = 120.0, states: tuple[str, ...] = ("done", "failed", "cancelled")):
        """Poll until the job reaches one of ``states``; returns (final view, every view seen)."""
        seen = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            view = self.job(job_id)
            seen.append(view)
            if view["state"] in states:
                return view, seen
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} still {seen[-1]['state']} after {timeout} s")

    def healthy(self) -> bool:
        response = self.http.get(f"{self.url}/health", timeout=10)
        return response.status_code == 200 and response.json()["status"] == "ok"


@pytest.fixture(scope="session")
def server_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """Start extra servers (own cache folders); all are stopped at the end of the session."""
    started: list[Server] = []

    def make(*args: str, cache_dir: Path | None = None, **kwargs) -> Server:
        folder = cache_dir or tmp_path_factory.mktemp("server-cache")
        server = Server(folder, *args, **kwargs)
        started.append(server)
        return server.start()

    yield make
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def allowed_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("allowed")


@pytest.fixture(scope="session")
def server(server_factory, allowed_root, bigbuckbunny) -> Server:
    """The shared server: 4 MB upload limit, local paths only under two folders."""
    return server_factory(
        "--max-upload-mb",
        "4",
        "--allowed-root",
        str(allowed_root),
        "--allowed-root",
        str(bigbuckbunny.parent),
    )


@pytest.fixture(scope="session")
def short_clip(clip_factory, allowed_root) -> Path:
    """3 s, 25 fps, 320x240: flashes at 120 BPM and one hard cut (inside the allowed root)."""
    spec = ClipSpec(3.0, Fraction(25), 320, 240, periodic_events(120, 3.0, phase=0.2), [1.6], "flash", seed=3)
    truth = clip_factory(spec, "short")
    target = allowed_root / "short.mp4"
    if not target.exists():
        target.write_bytes(truth.path.read_bytes())
    return target
