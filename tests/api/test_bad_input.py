"""Every kind of bad input gets a 4xx with one sentence, leaves no files, and the server stays healthy."""

from __future__ import annotations

import json

import pytest


def job_folders(server) -> set[str]:
    folder = server.cache_dir / "jobs"
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def assert_one_line_error(response, status: int, *words: str) -> None:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail.strip(), detail
    assert "\n" not in detail and len(detail) < 300, detail
    for word in words:
        assert word.lower() in detail.lower(), detail


@pytest.fixture(scope="module")
def before(server):
    return job_folders(server)


def test_not_a_video_upload(server, tmp_path, before):
    fake = tmp_path / "holiday.mp4"
    fake.write_text("these are my notes, not a video\n" * 100)
    assert_one_line_error(server.submit(fake), 415, "holiday.mp4", "not a video")


def test_truncated_mp4_upload(server, short_clip, tmp_path, before):
    data = short_clip.read_bytes()
    cut = tmp_path / "cut-short.mp4"
    cut.write_bytes(data[: len(data) // 2])
    assert_one_line_error(server.submit(cut), 415, "cut-short.mp4")


def test_audio_only_file(server, tmp_path, before):
    from diffv2m.benchmark.videos import write_audio_only

    sound = write_audio_only(tmp_path / "voice.m4a", 1.0)
    assert_one_line_error(server.submit(sound), 415, "voice.m4a", "no picture")


def test_empty_range(server, short_clip, before):
    assert_one_line_error(server.submit(short_clip, start=2, end=2), 422, "empty")
    assert_one_line_error(server.submit(short_clip, start=2, end=1), 422, "empty")


def test_range_past_the_end(server, short_clip, before):
    assert_one_line_error(server.submit(short_clip, start=10), 422, "only 3.000 s long")
    assert_one_line_error(server.submit(short_clip, start=1, end=30), 422, "ends at 30")


def test_unknown_emotion(server, short_clip, before):
    assert_one_line_error(server.submit(short_clip, emotion="grumpy"), 422, "grumpy", "calm")


def test_bad_numbers(server, short_clip, before):
    assert_one_line_error(server.submit(short_clip, seed=-1), 422, "seed")
    assert_one_line_error(server.submit(short_clip, seed="seven"), 422, "seed")
    assert_one_line_error(server.submit(short_clip, takes=9), 422, "takes")
    assert_one_line_error(server.submit(short_clip, start="nan"), 422, "start")
    assert_one_line_error(server.submit(short_clip, duration=-3), 422, "duration")
    assert_one_line_error(server.submit(short_clip, steps=0), 422, "steps")
    assert_one_line_error(server.submit(short_clip, preset="turbo"), 422, "preset 'turbo'", "fast, default, released")
    assert_one_line_error(server.submit(short_clip, engine="magic"), 422, "engine")
    assert_one_line_error(server.submit(short_clip, emoton="calm"), 422, "emoton")


def test_diffv2m_without_weights(server, short_clip, before):
    assert_one_line_error(server.submit(short_clip, engine="diffv2m"), 503, "weights")


def test_oversize_upload(server, tmp_path, before):
    big = tmp_path / "huge.mp4"
    big.write_bytes(b"\0" * (5 * 1024 * 1024))  # the server's limit is 4 MB
    assert_one_line_error(server.submit(big), 413, "4 MB")


def test_oversize_upload_without_content_length(server, before):
    """A chunked upload (no Content-Length) is cut off while streaming."""
    boundary = "xyzzy"

    def body():
        yield f'--{boundary}\r\nContent-Disposition: form-data; name="video"; filename="a.mp4"\r\n\r\n'.encode()
        for _ in range(80):
            yield b"\1" * 65536  # 5 MB in all
        yield f"\r\n--{boundary}--\r\n".encode()

    response = server.http.post(
        f"{server.url}/jobs", data=body(), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert_one_line_error(response, 413, "4 MB")


def test_path_outside_allowed_roots(server, short_clip, tmp_path, before):
    outside = tmp_path / "elsewhere.mp4"
    outside.write_bytes(short_clip.read_bytes())
    assert_one_line_error(server.submit(path=str(outside)), 403, "outside")


def test_path_rules(server, allowed_root, short_clip, before):
    assert_one_line_error(server.submit(path="short.mp4"), 422, "absolute")
    assert_one_line_error(server.submit(path=str(allowed_root / "missing.mp4")), 422, "does not exist")
    assert_one_line_error(server.submit(path=str(allowed_root)), 422, "not a regular file")
    link = allowed_root / "escape.mp4"
    if not link.exists():
        link.symlink_to("/etc/hostname")
    assert_one_line_error(server.submit(path=str(link)), 403, "outside")


def test_source_given_twice_or_not_at_all(server, short_clip, before):
    assert_one_line_error(server.submit(short_clip, video_path=str(short_clip)), 422, "exactly one")
    assert_one_line_error(server.submit(emotion="calm"), 422, "exactly one")
    response = server.http.post(f"{server.url}/jobs", data={"video_path": str(short_clip)})
    assert_one_line_error(response, 422, "multipart")


def test_bad_segments(server, short_clip, before):
    assert_one_line_error(server.submit(segments="[{"), 422, "json")
    segments = [{"path": str(short_clip), "source_start": 2, "source_end": 1}]
    assert_one_line_error(server.submit(segments=json.dumps(segments)), 422, "empty")
    segments = [{"file": 3, "source_end": 1}]
    assert_one_line_error(server.submit(segments=json.dumps(segments)), 422, "file 3")
    segments = [{"path": str(short_clip), "source_start": 0, "source_end": 9}]
    assert_one_line_error(server.submit(segments=json.dumps(segments)), 422, "only 3.000 s long")
    segments = [{"path": str(short_clip), "source_start": 0, "source_end": 1, "timeline_start": 2}]
    response = server.submit(segments=json.dumps(segments), end=1)
    assert_one_line_error(response, 422, "No segment is visible before the range end (1 s).")


def test_unknown_job_and_take(server, before):
    assert_one_line_error(server.http.get(f"{server.url}/jobs/0123"), 404, "no job")
    assert_one_line_error(server.http.get(f"{server.url}/jobs/{'0' * 32}/audio"), 404, "no job")
    assert_one_line_error(server.http.get(f"{server.url}/jobs/{'0' * 32}/beats?take=x"), 422, "take")


def test_still_healthy_and_nothing_left_behind(server, before):
    """Runs last in this module: no rejected request left a job folder or an upload."""
    assert server.healthy()
    assert job_folders(server) == before
