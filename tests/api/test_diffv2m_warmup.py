"""The Diff-V2M engine's warm-up at server start, seen through /health, with a tiny random-weight model.

The app runs in this process (``create_app`` under Starlette's TestClient, lifespan included, so its real job
worker thread loads and warms the engine) because the compile backends below are Python functions registered with
dynamo here: one that holds the compile until the test lets it go (so "warming" is seen for certain), one that
fails. They stand in for Inductor, which compiles for minutes at full size; the compiled path is the server's own.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
import torch._dynamo
from fastapi.testclient import TestClient

from diffv2m.api.app import create_app
from diffv2m.settings import Settings

RELEASE = threading.Event()


@torch._dynamo.register_backend(name="diffv2m_test_held")
def held_backend(graph, _inputs):
    RELEASE.wait(120)  # the warm-up stays in "warming" until the test has seen it
    return graph.forward


@torch._dynamo.register_backend(name="diffv2m_test_broken")
def broken_backend(_graph, _inputs):
    raise RuntimeError("no compiler here")


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    from diffv2m.model.testing import write_tiny_weights

    return write_tiny_weights(tmp_path_factory.mktemp("tiny-weights"), seed=4, latent_length=32)


@pytest.fixture
def app_for(weights, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "unset"))  # restored after: the server sets it
    torch._dynamo.reset()

    def make(**settings: str) -> TestClient:
        app = create_app(Settings(weights=str(weights), cache_dir=tmp_path, device="cpu", **settings))
        return TestClient(app, base_url="http://127.0.0.1")  # the server takes loopback Host names only

    yield make
    RELEASE.set()  # a failed test must not leave the worker held
    torch._dynamo.reset()


def diffv2m_health(client: TestClient) -> dict:
    return client.get("/health").json()["engines"]["diffv2m"]


def wait_for_state(client: TestClient, state: str, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        health = diffv2m_health(client)
        seen.append(health.get("state"))
        if health.get("state") == state:
            return health
        time.sleep(0.05)
    raise AssertionError(f"/health never said {state!r}; it said {sorted(set(map(str, seen)))}")


def test_health_says_warming_until_the_compiled_dit_is_warm(app_for, tmp_path):
    RELEASE.clear()
    with app_for(compile_mode="default", compile_backend="diffv2m_test_held") as client:
        warming = wait_for_state(client, "warming")
        assert warming["compile"]["state"] == "pending" and warming["compile"]["mode"] == "default"
        assert client.get("/health").json()["status"] == "ok"  # /health answers while the DiT compiles
        RELEASE.set()
        ready = wait_for_state(client, "ready")
        compiled = ready["compile"]
        assert compiled["state"] == "compiled" and compiled["reason"] is None
        assert compiled["backend"] == "diffv2m_test_held" and compiled["seconds"] > 0
        cache = tmp_path / "compile"  # the configured cache directory, and Inductor's for this process
        assert compiled["cache_dir"] == str(cache.resolve()) and cache.is_dir()
        assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == str(cache.resolve())
        assert compiled["cache"] == "not used"  # no Inductor graphs with this backend
        engine = client.app.state.registry.get("diffv2m")
        assert "denoise" in vars(engine.stack.transformer)  # the sampler's per-step call is the compiled one


def test_a_failing_compile_falls_back_to_eager_and_health_says_why(app_for, caplog):
    with caplog.at_level("WARNING"), app_for(compile_mode="default", compile_backend="diffv2m_test_broken") as client:
        ready = wait_for_state(client, "ready")
        engine = client.app.state.registry.get("diffv2m")
    assert ready["compile"]["state"] == "eager-fallback"
    assert "no compiler here" in ready["compile"]["reason"]
    assert "denoise" not in vars(engine.stack.transformer)  # eager: the module's own method
    assert any("no compiler here" in record.getMessage() for record in caplog.records)


def test_an_unusable_cache_folder_falls_back_to_eager_too(app_for, tmp_path):
    (tmp_path / "compile").write_text("a file where the compile cache folder should be")
    with app_for(compile_mode="default", compile_backend="eager") as client:
        ready = wait_for_state(client, "ready")
    assert ready["compile"]["state"] == "eager-fallback"
    assert "FileExistsError" in ready["compile"]["reason"]


def test_on_cpu_the_default_is_eager_and_ready_at_once(app_for, monkeypatch):
    monkeypatch.delenv("DIFFV2M_COMPILE", raising=False)
    with app_for() as client:
        ready = wait_for_state(client, "ready")
    assert ready["compile"]["mode"] is None and ready["compile"]["state"] == "off"
