"""Each hole an attack on the server found (issue 11), through real HTTP; every test here fails on the old main."""

from __future__ import annotations

import json
import socket
import time
import uuid
from fractions import Fraction

import av
import numpy as np
import pytest

from diffv2m.api.jobs import JobManager
from diffv2m.api.store import JobRecord, JobStore
from diffv2m.limits import MAX_DURATION_S, MAX_SEGMENTS

from .test_bad_input import assert_one_line_error


@pytest.fixture(scope="module")
def hour_long(allowed_root):
    """A real video a little over the one-hour cap: 1 frame per second, 32x32 pixels."""
    path = allowed_root / "hour.mp4"
    if not path.exists():
        with av.open(str(path), "w") as container:
            stream = container.add_stream("mpeg4", rate=Fraction(1))
            stream.width = stream.height = 32
            stream.pix_fmt = "yuv420p"
            for index in range(int(MAX_DURATION_S) + 20):
                image = np.full((32, 32, 3), index % 256, np.uint8)
                container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
            container.mux(stream.encode())
    return path


def _cancel(server, response) -> None:
    server.http.delete(f"{server.url}/jobs/{response.json()['id']}", timeout=10)


def test_slow_segment_is_capped_on_the_resolved_timeline(server, short_clip):
    """A 2 s piece at speed 1e-4 was queued as 5.6 h of music (memory 0.5 -> 4.6 GB)."""
    slow = [{"path": str(short_clip), "source_start": 0, "source_end": 2, "speed": 1e-4}]
    assert_one_line_error(server.submit(segments=json.dumps(slow)), 422, "speed")
    # A speed in range whose piece ends past the cap on the timeline: refused before it is queued.
    late = [{"path": str(short_clip), "source_start": 0, "source_end": 2, "timeline_start": 3599, "speed": 0.5}]
    assert_one_line_error(server.submit(segments=json.dumps(late)), 422, f"at most {MAX_DURATION_S:g} s")


def test_far_timeline_start_is_refused(server, short_clip):
    """timeline_start 1e7 reached 7.5 GB before it was stopped."""
    far = [{"path": str(short_clip), "source_start": 0, "source_end": 1, "timeline_start": 1e7}]
    assert_one_line_error(server.submit(segments=json.dumps(far)), 422, "timeline_start", "3600")


def test_video_longer_than_the_cap_is_refused_or_trimmed(server, hour_long):
    assert_one_line_error(server.submit(path=str(hour_long)), 422, "at most 3600 s", "'end'")
    trimmed = server.submit(path=str(hour_long), start=10, end=14, engine="default")
    assert trimmed.status_code == 202, trimmed.text
    _cancel(server, trimmed)


def test_too_many_segments_are_refused_before_any_probe(server, short_clip):
    """10,000 segments took 79 s to answer: now a count cap before a single file is opened."""
    piece = {"path": "/nonexistent.mp4", "source_start": 0, "source_end": 1}
    many = [{**piece, "timeline_start": i} for i in range(10_000)]
    response = server.submit(segments=json.dumps(many))
    assert_one_line_error(response, 422, f"at most {MAX_SEGMENTS}")


def test_origin_null_is_a_foreign_origin(server):
    """Sandboxed iframes, file:// pages and redirects send 'Origin: null'; a form post needs no preflight."""
    response = server.http.post(
        f"{server.url}/jobs", files={"emotion": (None, "calm")}, headers={"Origin": "null"}, timeout=10
    )
    assert_one_line_error(response, 403, "web pages")


def test_browsers_may_not_name_local_paths(server, short_clip):
    for headers in ({"Origin": "http://localhost:3000"}, {"Sec-Fetch-Site": "same-origin"}):
        response = server.http.post(
            f"{server.url}/jobs", files={"video_path": (None, str(short_clip))}, headers=headers, timeout=10
        )
        assert_one_line_error(response, 403, "--allow-browser-paths")
    # Uploading from a local page stays possible.
    with short_clip.open("rb") as handle:
        upload = server.http.post(
            f"{server.url}/jobs",
            files={"video": ("short.mp4", handle, "video/mp4"), "engine": (None, "default")},
            headers={"Origin": "http://localhost:3000"},
            timeout=30,
        )
    assert upload.status_code == 202, upload.text
    _cancel(server, upload)


def test_browser_paths_when_the_user_allows_them(server_factory, short_clip):
    allowing = server_factory("--allow-browser-paths")
    response = allowing.http.post(
        f"{allowing.url}/jobs",
        files={"video_path": (None, str(short_clip)), "engine": (None, "default")},
        headers={"Origin": "http://127.0.0.1:9000"},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    _cancel(allowing, response)


def test_nul_byte_in_a_path_is_a_422(server, short_clip):
    assert_one_line_error(server.submit(path=f"{short_clip}\x00.mp4"), 422, "NUL")
    segments = [{"path": f"{short_clip}\x00", "source_end": 1}]
    assert_one_line_error(server.submit(segments=json.dumps(segments)), 422, "NUL")
    assert "Traceback" not in server.log()


def test_user_input_echoed_at_most_200_characters(server, short_clip):
    response = server.submit(path=str(short_clip), emotion="x" * 100_000)
    assert_one_line_error(response, 422, "unknown emotion")
    assert len(response.json()["detail"]) < 300
    response = server.submit(path="/" + "y" * 100_000)
    assert response.status_code == 422 and len(response.json()["detail"]) < 300


def test_guidance_errors_do_not_say_seconds(server, short_clip):
    for value in ("nan", "inf", "99"):
        response = server.submit(path=str(short_clip), guidance=value)
        assert_one_line_error(response, 422, "guidance")
        assert "second" not in response.json()["detail"]


def test_zero_byte_file_is_422_as_upload_and_as_path(server, allowed_root, tmp_path):
    empty = allowed_root / "empty.mp4"
    empty.write_bytes(b"")
    assert_one_line_error(server.submit(path=str(empty)), 422, "empty")
    assert_one_line_error(server.submit(empty), 422, "empty")


def test_multipart_without_its_closing_boundary_is_a_422(server, short_clip):
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="video_path"\r\n\r\n'
        + str(short_clip).encode()
        + b'\r\n--XyZ\r\nContent-Disposition: form-data; name="engine"\r\n\r\ndefault'
    )
    response = server.http.post(
        f"{server.url}/jobs", data=body, headers={"Content-Type": "multipart/form-data; boundary=XyZ"}, timeout=10
    )
    assert_one_line_error(response, 422, "closing boundary")


def test_client_disconnect_is_one_info_line(server):
    """21 disconnects were 42 logged 500s with tracebacks."""
    before = len(server.log())
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            head = (
                "POST /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=B\r\n"
                'Content-Length: 100000\r\n\r\n--B\r\nContent-Disposition: form-data; name="emotion"\r\n\r\ncalm'
            )
            sock.sendall(head.encode())
    deadline = time.monotonic() + 30
    while server.log()[before:].count("disconnected before") < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    logged = server.log()[before:]
    assert logged.count("disconnected before its POST /jobs was complete") == 3, logged
    assert "Traceback" not in logged and "Exception in ASGI" not in logged
    assert server.healthy()


def test_no_internal_exception_text_reaches_clients(tmp_path):
    """A MemoryError's text reached clients as the job's message."""

    def runner(record, progress):
        progress("decoding video", 0.5)
        raise MemoryError("Unable to allocate 41.2 GiB for an array with shape (1, 2, 3)")

    def broken(record, progress):
        raise KeyError("/srv/internal/secret/path")

    messages = []
    for run in (runner, broken):
        manager = JobManager(JobStore(tmp_path / run.__name__, 1 << 30), run)
        manager.start()
        try:
            record = JobRecord(id=uuid.uuid4().hex, request={})
            manager.store.create(record)
            manager.submit(record)
            deadline = time.monotonic() + 30
            while manager.get(record.id)[0].state not in ("failed", "done") and time.monotonic() < deadline:
                time.sleep(0.02)
            messages.append(manager.get(record.id)[0].message)
        finally:
            manager.stop()
    assert messages[0] == "The server ran out of memory while decoding video."
    assert "secret" not in messages[1] and messages[1].startswith("Internal error while")


def test_results_cache_never_exceeds_its_cap_after_a_job_settles(tmp_path):
    """The newest finished job was never evicted, so the folder could overshoot its cap by one job."""
    store = JobStore(tmp_path / "jobs", 1 << 20)
    records = []
    for index, (size, state) in enumerate(((400_000, "done"), (700_000, "done"), (500_000, "running"))):
        record = JobRecord(id=uuid.uuid4().hex, request={}, state=state, created=float(index), finished=float(index))
        store.create(record)
        store.write_result_file(store.take_path(record.id, 0, "audio"), b"\0" * size)
        store.save(record)
        records.append(record)
    evicted = store.enforce_cap(records)
    assert evicted == [records[0].id, records[1].id]  # oldest first, the newest finished too; never the active one
    total = sum(p.stat().st_size for p in (tmp_path / "jobs").rglob("*") if p.is_file())
    assert total <= 1 << 20


def test_openapi_limits_are_the_ones_the_server_enforces(server, short_clip):
    """The published form schema (generated from limits.py) against real submissions: one past each maximum
    is a 422 naming the field; before, the schema was a hand-written copy only compared with itself."""
    schema = server.http.get(f"{server.url}/openapi.json", timeout=10).json()
    form = schema["paths"]["/jobs"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert form["duration"]["maximum"] == MAX_DURATION_S
    for name in ("takes", "steps", "guidance", "duration"):
        maximum = form[name]["maximum"]  # FastAPI writes 4 as 4.0
        too_big = int(maximum) + 1 if form[name]["type"] == "integer" else maximum + 1
        response = server.submit(path=str(short_clip), engine="default", **{name: too_big})
        assert_one_line_error(response, 422, f"'{name}'", f"{maximum:g}")
    seed_max = int(form["seed"]["description"].split()[-1])
    assert_one_line_error(server.submit(path=str(short_clip), seed=seed_max + 1), 422, "'seed'", str(seed_max))
    assert set(form["engine"]["enum"]) == {"auto", "default", "diffv2m"}
    assert form["preset"]["enum"] == ["fast", "default", "released"]  # the step presets of model/choices.py
    at_limit = server.submit(path=str(short_clip), engine="default", takes=int(form["takes"]["maximum"]))
    assert at_limit.status_code == 202, at_limit.text
    _cancel(server, at_limit)
