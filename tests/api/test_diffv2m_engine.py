"""The Diff-V2M engine through the real server, with a tiny random-weight model."""

from __future__ import annotations

import numpy as np
import pytest

from .scores import check_progress, fetch_take


@pytest.fixture(scope="module")
def model_server(server_factory, tmp_path_factory, allowed_root):
    from diffv2m.model.testing import write_tiny_weights

    weights = write_tiny_weights(tmp_path_factory.mktemp("tiny-weights"), seed=4)
    return server_factory("--weights", str(weights), "--allowed-root", str(allowed_root))


def test_health_says_auto_means_diffv2m(model_server):
    health = model_server.http.get(f"{model_server.url}/health").json()
    assert health["default_engine"] == "diffv2m"
    assert health["engines"]["diffv2m"]["available"] is True
    assert health["engines"]["default"]["available"] is True


def test_auto_job_runs_diffv2m_and_tracks_its_beats(model_server, short_clip):
    response = model_server.submit(path=str(short_clip), start=0.5, end=3.0, seed=9, steps=3, emotion="epic")
    assert response.status_code == 202, response.text
    view, seen = model_server.wait(response.json()["id"], timeout=240)
    assert view["state"] == "done", view["message"]
    check_progress(seen)
    result = view["result"]
    assert result["engine"] == "diffv2m" and result["weights"] == "tiny random weights (testing)"
    assert result["steps"] == 3 and result["seed"] == 9 and result["emotion"] == "epic"
    assert result["sampler"] == "dpmpp-2m" and result["guidance"] is not None
    assert result["preset"] is None  # 3 steps is no named preset
    audio, rate, beats = fetch_take(model_server, view)
    assert rate == 44_100 and audio.shape == (round(2.5 * 44_100), 2)
    from diffv2m.audio.loudness import measure_loudness

    lufs, peak_db = measure_loudness(audio.T, rate)
    assert -15.0 <= lufs <= -13.0 and peak_db <= -0.9, (lufs, peak_db)  # normalised by the pipeline
    assert beats["beats_from"] == "tracked" and beats["engine"] == "diffv2m"
    for key in ("beats", "downbeats", "onsets"):
        times = np.asarray(beats[key])
        assert np.all((times >= 0) & (times < 2.5)), key
    assert set(beats["downbeats"]) <= set(beats["beats"])
    assert len(beats["odf"]) == 3 and beats["odf_rate"] == 1.0  # the model's predicted per-second rhythm
    health = model_server.http.get(f"{model_server.url}/health").json()
    assert health["engines"]["diffv2m"]["loaded"] is True  # loaded once, kept for the next job


def test_a_step_preset_by_name_picks_sampler_and_steps_and_is_reported(model_server, short_clip):
    presets = model_server.http.get(f"{model_server.url}/health").json()["engines"]["diffv2m"]["presets"]
    assert presets["fast"] == {"sampler": "dpmpp-2m", "steps": 25}
    for fields, expected in (
        ({"preset": "fast"}, ("dpmpp-2m", 25, "fast")),
        ({"preset": "Released", "steps": 2}, ("ddim", 2, None)),
    ):
        response = model_server.submit(path=str(short_clip), end=1.0, seed=1, **fields)
        assert response.status_code == 202, response.text
        view, _ = model_server.wait(response.json()["id"], timeout=240)
        assert view["state"] == "done", view["message"]
        assert (view["result"]["sampler"], view["result"]["steps"], view["result"]["preset"]) == expected


def test_default_engine_still_available_beside_it(model_server, short_clip):
    response = model_server.submit(path=str(short_clip), end=1.5, engine="default", seed=2)
    view, _ = model_server.wait(response.json()["id"])
    assert view["state"] == "done", view["message"]
    assert view["result"]["engine"] == "default"
