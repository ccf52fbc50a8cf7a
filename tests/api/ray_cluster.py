"""A real local Ray cluster for these tests: loopback only, no dashboard, 2 CPUs, started and stopped here."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import free_port

START_TIMEOUT_S = 90.0
LOOPBACK_SWITCH = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


class RayHead:
    """``ray start --head --block`` in its own process group; stopping it ends only what it started."""

    def __init__(self, temp: Path) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.temp = temp
        self.process: subprocess.Popen | None = None

    def start(self) -> RayHead:
        ray = Path(sys.executable).with_name("ray")
        command = [str(ray), "start", "--head", "--block", "--node-ip-address", "127.0.0.1"]
        command += ["--port", str(self.port), "--num-cpus", "2", "--num-gpus", "0"]
        command += ["--include-dashboard", "false", "--disable-usage-stats", "--temp-dir", str(self.temp)]
        log = (self.temp / "head.log").open("wb")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ray start exited {self.process.returncode}")
            if "Ray runtime started" in (self.temp / "head.log").read_text(errors="replace"):
                return self
            time.sleep(0.5)
        self.stop()
        raise RuntimeError("the Ray head did not come up")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.process = None


@pytest.fixture(scope="session")
def ray_head() -> Iterator[RayHead]:
    temp = Path(f"/tmp/d2m-ray-{os.getpid()}")  # short: Ray's socket paths have a length limit
    temp.mkdir(exist_ok=True)
    # Ray maps a 127.0.0.1 address to the machine's outward IP unless its single-machine
    # switch is off (ray._private.ray_constants.ENABLE_RAY_CLUSTER); the head listens on loopback only.
    # Token authentication with a token of this session's own, shared by head and clients.
    env = {LOOPBACK_SWITCH: "0", "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    previous = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    head = RayHead(temp).start()
    yield head
    head.stop()
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
