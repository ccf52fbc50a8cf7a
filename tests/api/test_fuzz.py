"""Property-based fuzzing of ``POST /jobs`` (hypothesis) against the real server.

A bounded, derandomised number of generated requests: malformed JSON, NaN/inf,
unicode and NUL bytes, huge numbers, odd segment timelines, broken multipart
bodies. Each one gets a 4xx (or the 503 of an engine without weights) with one
sentence, or is queued as a job whose music the cap admits; never a 500, never a
traceback in the server's log, and the server is healthy after.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diffv2m.limits import MAX_DURATION_S

FUZZ = settings(
    max_examples=70,
    deadline=None,
    derandomize=True,  # the same requests every run: a failure here is reproducible
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(min_value=0, max_value=20),
)
texts = st.text(max_size=40)
number_text = st.one_of(numbers.map(str), texts, st.sampled_from(["", " ", "1e999", "-0", "0x10", "1_000", "٣"]))
FIELDS = ("start", "end", "seed", "takes", "steps", "guidance", "duration")


@pytest.fixture(scope="module")
def fuzz_server(server_factory, allowed_root, short_clip):
    return server_factory("--max-upload-mb", "1", "--allowed-root", str(allowed_root), "--max-queue", "1000")


def check_answer(server, response) -> None:
    assert response.status_code != 500 and response.status_code < 600, response.text
    if response.status_code == 202:
        job_id = response.json()["id"]
        record = json.loads((server.cache_dir / "jobs" / job_id / "job.json").read_text())
        request = record["request"]
        music = request["duration"] if request["duration"] is not None else request["end"] - request["start"]
        assert 0 < music <= MAX_DURATION_S, request
        server.http.delete(f"{server.url}/jobs/{job_id}", timeout=10)
        return
    assert 400 <= response.status_code < 500 or response.status_code == 503, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail.strip() and "\n" not in detail and len(detail) <= 300, detail
    assert "Traceback" not in detail and "Error:" not in detail


@FUZZ
@given(
    values=st.dictionaries(st.sampled_from(FIELDS), number_text, max_size=5),
    emotion=st.one_of(st.none(), texts, st.sampled_from(["calm", "HAPPY ", "auto"])),
    engine=st.one_of(st.none(), texts, st.sampled_from(["default", "auto", "diffv2m"])),
    path=st.one_of(st.none(), texts, st.just("clip")),
)
def test_form_fields(fuzz_server, short_clip, values, emotion, engine, path):
    fields = {**values, "emotion": emotion, "engine": engine}
    source = str(short_clip) if path in (None, "clip") else path
    response = fuzz_server.submit(path=source, **fields)
    check_answer(fuzz_server, response)


segment = st.fixed_dictionaries(
    {"source_end": st.one_of(numbers, texts)},
    optional={
        "path": st.one_of(st.just("clip"), texts),
        "file": st.one_of(st.integers(-3, 3), texts, st.booleans()),
        "source_start": st.one_of(numbers, st.none()),
        "timeline_start": numbers,
        "speed": st.one_of(numbers, st.sampled_from([1e-4, 1 / 64, 64.0, 0])),
        "extra": texts,
    },
)


@FUZZ
@given(
    pieces=st.lists(segment, max_size=6),
    end=st.one_of(st.none(), number_text),
    raw=st.one_of(st.none(), texts, st.sampled_from(["[{", "[]", "{}", "[1]", "[" * 5000, '[{"path": null}]'])),
)
def test_segment_timelines(fuzz_server, short_clip, pieces, end, raw):
    for piece in pieces:
        if piece.get("path") == "clip":
            piece["path"] = str(short_clip)
    text = raw if raw is not None else json.dumps(pieces)  # json.dumps writes NaN and Infinity tokens
    response = fuzz_server.http.post(
        f"{fuzz_server.url}/jobs", files={"segments": (None, text), "end": (None, str(end or ""))}, timeout=60
    )
    check_answer(fuzz_server, response)


@FUZZ
@given(
    body=st.one_of(
        st.binary(max_size=400),
        st.sampled_from([b"--B\r\n", b"--B--\r\n", b"--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--\r\n"]),
    ),
    boundary=st.sampled_from(["B", "", "x" * 80, "ü"]),
    cut=st.integers(0, 200),
)
def test_raw_multipart_bodies(fuzz_server, short_clip, body, boundary, cut):
    valid = f'--B\r\nContent-Disposition: form-data; name="video_path"\r\n\r\n{short_clip}\r\n--B--\r\n'.encode()
    for data in (body, valid[:cut]):
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        response = fuzz_server.http.post(f"{fuzz_server.url}/jobs", data=data, headers=headers, timeout=60)
        check_answer(fuzz_server, response)


def test_after_the_fuzzing_the_server_is_healthy_and_logged_no_traceback(fuzz_server):
    """Runs after the three above (file order)."""
    assert fuzz_server.healthy()
    log = fuzz_server.log()
    assert "Traceback" not in log and "Exception in ASGI application" not in log, log[-3000:]
