"""The add-on's HTTP client and worker thread (no Blender) against the real server."""

from __future__ import annotations

import time
import wave
from fractions import Fraction

import pytest
from addon_support import TOKEN, free_port, http_json, server_job_stopped
from diffv2m_score.client import Client, FilePart, Multipart, ServerError, ServerUnreachable, is_loopback_url
from diffv2m_score.jobs import ScoreJob, ScoreRequest

from diffv2m.benchmark.videos import ClipSpec


@pytest.fixture(scope="session")
def two_clips(clip_factory):
    a = clip_factory(ClipSpec(3.0, Fraction(25), 160, 120, cut_times=[1.5], seed=3), "client-a")
    b = clip_factory(ClipSpec(3.0, Fraction(25), 160, 120, seed=4), "client-b")
    return str(a.path), str(b.path)


def request_for(url, clips, tmp_path, *, upload=False, emotion="happy", seed=5) -> ScoreRequest:
    a, b = clips
    segments = [
        {"source_start": 0.2, "source_end": 2.2, "timeline_start": 0.0, "speed": 1.0},
        {"source_start": 0.5, "source_end": 2.5, "timeline_start": 2.0, "speed": 1.0},
    ]
    for segment, path in zip(segments, (a, b), strict=True):
        segment.update({"file": (a, b).index(path)} if upload else {"path": path})
    return ScoreRequest(
        server_url=url,
        token="",
        segments=segments,
        upload=[a, b] if upload else [],
        duration=4.0,
        emotion=emotion,
        seed=seed,
        engine="auto",
        output_dir=str(tmp_path / "scores"),
    )


def run_to_end(job: ScoreJob, timeout: float = 240):
    """What the Blender tick does: drain messages until the Finished one."""
    deadline = time.monotonic() + timeout
    progress = []
    while True:
        message = job.messages.get(timeout=max(0.1, deadline - time.monotonic()))
        if hasattr(message, "fraction"):
            progress.append(message)
        else:
            return message, progress


def test_loopback_detection():
    assert is_loopback_url("http://127.0.0.1:8767") and is_loopback_url("http://localhost:1")
    assert is_loopback_url("http://[::1]:8767")
    assert not is_loopback_url("http://192.0.2.7:8767") and not is_loopback_url("https://example.org")


def test_multipart_length_matches_what_is_sent(tmp_path):
    media = tmp_path / "clip.mp4"
    media.write_bytes(bytes(range(256)) * 5000)
    body = Multipart({"segments": "[]", "emotion": "calm"}, [("files", FilePart(str(media)))])
    sent = b"".join(body)
    assert len(sent) == len(body)
    assert sent.count(body.boundary.encode()) == 4 and bytes(range(256)) * 5000 in sent


def test_health_reports_engines(score_server):
    health = Client(score_server).health()
    assert health["status"] == "ok" and health["engines"]["default"]["available"]


@pytest.mark.parametrize("upload", [False, True], ids=["by-path", "uploaded"])
def test_worker_scores_a_cut_and_writes_a_new_wav(score_server, two_clips, tmp_path, upload):
    existing = tmp_path / "scores" / "score_happy_s5_default.wav"
    existing.parent.mkdir()
    existing.write_bytes(b"an earlier take")
    job = ScoreJob(request_for(score_server, two_clips, tmp_path, upload=upload)).start()
    finished, progress = run_to_end(job)
    assert finished.error is None and finished.result is not None, finished.error
    result = finished.result
    assert existing.read_bytes() == b"an earlier take", "an existing file was overwritten"
    with wave.open(result.wav_path) as handle:
        assert handle.getnframes() / handle.getframerate() == pytest.approx(4.0, abs=1 / 44100)
    assert result.result["seed"] == 5 and result.beats["beats"], result.beats
    assert all(0 <= b < 4.0 for b in result.beats["beats"])
    assert [p.fraction for p in progress] == sorted(p.fraction for p in progress)
    assert http_json(f"{score_server}/jobs/{result.job_id}")["state"] == "done"


def test_cancel_stops_the_server_job_and_leaves_no_file(score_server, two_clips, tmp_path):
    job = ScoreJob(request_for(score_server, two_clips, tmp_path, seed=9)).start()
    while job.job_id is None and job.is_alive():
        time.sleep(0.01)
    job.cancel()
    finished, _ = run_to_end(job)
    assert finished.cancelled
    assert server_job_stopped(score_server, job.job_id) == "cancelled"
    assert not (tmp_path / "scores").exists() or not any((tmp_path / "scores").iterdir())


def test_cancel_before_the_worker_runs_sends_nothing(score_server, two_clips, tmp_path):
    # Blender's ticker starts the worker on its next tick; Esc or File > Open can come first.
    before = {job["id"] for job in http_json(f"{score_server}/jobs")["jobs"]}
    job = ScoreJob(request_for(score_server, two_clips, tmp_path, seed=10))
    assert not job.started
    job.cancel()
    finished, progress = run_to_end(job.start())
    assert finished.cancelled and job.job_id is None and progress == []
    assert {job["id"] for job in http_json(f"{score_server}/jobs")["jobs"]} == before
    assert not (tmp_path / "scores").exists()


def test_server_down_is_one_clear_sentence(two_clips, tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    finished, _ = run_to_end(ScoreJob(request_for(url, two_clips, tmp_path)).start(), timeout=30)
    assert finished.error.startswith(f"No Diff-V2M server answers at {url}") and finished.unreachable
    with pytest.raises(ServerUnreachable):
        Client(url).health()


def test_server_errors_carry_its_sentence(score_server, two_clips, tmp_path):
    finished, _ = run_to_end(ScoreJob(request_for(score_server, two_clips, tmp_path, emotion="grumpy")).start())
    assert "grumpy" in finished.error
    with pytest.raises(ServerError) as info:
        Client(score_server).job("no-such-job")
    assert info.value.status == 404 and info.value.message.endswith(".")


def test_token_is_sent_and_its_absence_explained(token_server, two_clips, tmp_path):
    with pytest.raises(ServerError) as info:
        Client(token_server).job("whatever")
    assert info.value.status == 401 and "token" in info.value.message.lower()
    with pytest.raises(ServerError) as info:
        Client(token_server, token="wrong").job("whatever")
    assert info.value.status == 401
    with pytest.raises(ServerError) as info:  # the right token gets past the door: the job is unknown
        Client(token_server, token=TOKEN).job("whatever")
    assert info.value.status == 404
