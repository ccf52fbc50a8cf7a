"""Fixtures for the add-on tests: the add-on's plain modules, the extension zip, the real
server as a subprocess, and Blender runs in the bpy venvs (scripts/setup.sh --test makes them)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from addon_support import ADDON, BPY_VENVS, REPO, TOKEN, free_port, http_json

REQUIRED_ON_CI = {"4.5", "5.0"}
BLENDER_TIMEOUT = 420


def _load_addon_package() -> None:
    """Import addon/ as ``diffv2m_score`` (its extension id) without Blender: only plain modules are used."""
    if "diffv2m_score" in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(
        "diffv2m_score", ADDON / "__init__.py", submodule_search_locations=[str(ADDON)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["diffv2m_score"] = module
    spec.loader.exec_module(module)


_load_addon_package()


def bpy_python(release: str) -> Path:
    return REPO / BPY_VENVS[release] / "bin" / "python"


def require_bpy(release: str) -> Path:
    python = bpy_python(release)
    if not python.exists():
        reason = f"bpy {release} venv missing: run scripts/setup.sh --test (it creates {BPY_VENVS[release]})"
        if os.environ.get("CI") and release in REQUIRED_ON_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    return python


@pytest.fixture(scope="session")
def extension_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The extension built the documented way (``python addon/build.py``)."""
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, str(ADDON / "build.py"), "--output-dir", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return Path(done.stdout.strip().splitlines()[-1])


def _serve(folder: Path, *extra: str) -> Iterator[str]:
    """Run the real ``diffv2m serve`` from this venv on a free port with a throwaway cache; yields its URL."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "server"), os.environ.get("PYTHONPATH")])),
    }
    log_path = folder / "server.log"
    command = [sys.executable, "-m", "diffv2m", "serve", "--port", str(port), "--cache-dir", str(folder), *extra]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"diffv2m serve exited ({process.returncode}):\n{log_path.read_text()[-3000:]}")
            try:
                http_json(url + "/health", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"diffv2m serve did not answer in 120 s:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture(scope="session")
def score_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real server, as the add-on talks to it by default (loopback, no token)."""
    yield from _serve(tmp_path_factory.mktemp("server-cache"))


@pytest.fixture(scope="session")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real server started with a token (``TOKEN``)."""
    yield from _serve(tmp_path_factory.mktemp("token-server-cache"), "--token", TOKEN)


@pytest.fixture(scope="session")
def run_blender(tmp_path_factory: pytest.TempPathFactory, extension_zip: Path) -> Callable[[str, dict], dict]:
    """Run tests/addon/bpy_scenarios.py in a bpy venv with a config; returns what it observed."""

    def attempt(python: Path, release: str, config: dict) -> tuple[subprocess.CompletedProcess, Path]:
        work = tmp_path_factory.mktemp(f"blender-{release}")
        config = {"zip": str(extension_zip), "tmp": str(work), **config}
        config_path, out_path = work / "config.json", work / "observed.json"
        config_path.write_text(json.dumps(config))
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        try:
            done = subprocess.run(
                [str(python), str(Path(__file__).with_name("bpy_scenarios.py")), str(config_path), str(out_path)],
                capture_output=True,
                text=True,
                timeout=BLENDER_TIMEOUT,
                env=env,
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"bpy {release} did not finish in {BLENDER_TIMEOUT} s:\n{str(exc.stdout or '')[-3000:]}")
        return done, out_path

    def run(release: str, config: dict) -> dict:
        python = require_bpy(release)
        done, out_path = attempt(python, release, config)
        if done.returncode < 0 and not out_path.exists():
            # The Blender process was killed by a signal before it wrote anything (seen once in
            # many runs, bpy 4.5). Say so with its crash dump (faulthandler) and try once more:
            # a second death fails the test below.
            warnings.warn(
                f"bpy {release} died of signal {-done.returncode}; retrying once.\n{done.stderr[-3000:]}",
                stacklevel=1,
            )
            done, out_path = attempt(python, release, config)
        assert out_path.exists(), (
            f"bpy {release} wrote nothing (rc {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
        observed = json.loads(out_path.read_text())
        observed["stdout"] = done.stdout
        observed["returncode"] = done.returncode
        assert "crash" not in observed, observed["crash"]
        for name, scenario in observed["scenarios"].items():
            assert "crash" not in scenario, f"bpy {release} scenario {name}:\n{scenario['crash']}"
        return observed

    return run
