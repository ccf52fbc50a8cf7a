"""The whole job path over real HTTP: submit, poll, fetch WAV + beats."""

from __future__ import annotations

import json

import numpy as np
import pyloudnorm

from .scores import check_progress, check_score, fetch_take


def test_uploaded_synthetic_clip(server, short_clip):
    response = server.submit(short_clip, start=0.5, end=2.5, emotion="tense", seed=7)
    assert response.status_code == 202, response.text
    submitted = response.json()
    assert submitted["state"] == "queued" and submitted["seed"] == 7
    view, seen = server.wait(submitted["id"])
    assert view["state"] == "done", view["message"]
    check_progress(seen)
    result = view["result"]
    assert result["engine"] == "default" and result["sampler"] == "composer"
    assert result["seed"] == 7 and result["emotion"] == "tense"
    assert result["duration"] == 2.0 and result["sample_rate"] == 44_100
    assert result["sources"] == ["short.mp4"], "the user's file name, not the server's upload path"
    audio, rate, beats = fetch_take(server, view)
    check_score(audio, rate, beats, 2.0)
    # The reported loudness is that of the WAV served, by an independent meter.
    measured = pyloudnorm.Meter(rate).integrated_loudness(audio.astype(np.float64))
    assert abs(result["lufs"] - measured) <= 0.1, (result["lufs"], measured)
    assert result["takes"][0]["lufs"] == result["lufs"]
    assert beats["engine"] == "default" and beats["seed"] == 7
    assert abs(result["tempo"] - beats["tempo"]) < 1e-6


def test_local_path_on_bigbuckbunny(server, bigbuckbunny):
    response = server.submit(path=str(bigbuckbunny), start=1.0, end=4.5)
    assert response.status_code == 202, response.text
    view, seen = server.wait(response.json()["id"])
    assert view["state"] == "done", view["message"]
    check_progress(seen)
    result = view["result"]
    assert result["emotion"] in {"calm", "happy", "tense", "sad", "epic", "mysterious"}  # 'auto' resolved
    assert result["emotion_description"].startswith("auto")
    audio, rate, beats = fetch_take(server, view)
    check_score(audio, rate, beats, 3.5)


def test_longer_music_and_two_takes(server, short_clip):
    response = server.submit(short_clip, start=0, end=2, duration=5.0, takes=2, seed=40, emotion="calm")
    assert response.status_code == 202, response.text
    view, _ = server.wait(response.json()["id"])
    assert view["state"] == "done", view["message"]
    takes = view["result"]["takes"]
    assert [t["seed"] for t in takes] == [40, 41]
    first, rate, beats0 = fetch_take(server, view, 0)
    second, _, beats1 = fetch_take(server, view, 1)
    check_score(first, rate, beats0, 5.0)
    check_score(second, rate, beats1, 5.0)
    assert not np.array_equal(first, second), "another seed must give another take"
    missing = server.http.get(f"{server.url}/jobs/{view['id']}/audio?take=2")
    assert missing.status_code == 404


def test_segments_two_files_cut_together(server, short_clip, bigbuckbunny):
    segments = [
        {"file": 0, "source_start": 0.5, "source_end": 2.0, "timeline_start": 0.0},
        {"path": str(bigbuckbunny), "source_start": 1.0, "source_end": 3.0, "timeline_start": 1.5},
    ]
    with short_clip.open("rb") as handle:
        response = server.http.post(
            f"{server.url}/jobs",
            files=[
                ("segments", (None, json.dumps(segments))),
                ("emotion", (None, "happy")),
                ("files", ("a.mp4", handle)),
            ],
            timeout=60,
        )
    assert response.status_code == 202, response.text
    view, _ = server.wait(response.json()["id"])
    assert view["state"] == "done", view["message"]
    assert view["result"]["duration"] == 3.5
    assert set(view["result"]["sources"]) == {"a.mp4", str(bigbuckbunny)}
    audio, rate, beats = fetch_take(server, view)
    check_score(audio, rate, beats, 3.5)


def test_delete_finished_job_removes_its_files(server, short_clip):
    response = server.submit(short_clip, end=1.0, seed=3)
    view, _ = server.wait(response.json()["id"])
    folder = server.cache_dir / "jobs" / view["id"]
    assert (folder / "take0.wav").is_file()
    deleted = server.http.delete(f"{server.url}/jobs/{view['id']}")
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True
    assert not folder.exists()
    assert server.http.get(f"{server.url}/jobs/{view['id']}").status_code == 404
