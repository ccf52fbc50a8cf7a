"""Every bad input gives one clear sentence naming the problem, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from diffv2m.benchmark.videos import ClipSpec, write_audio_only, write_clip
from diffv2m.errors import InputError, RangeError, VideoError
from diffv2m.features.extract import extract_features
from diffv2m.features.segments import Segment
from diffv2m.features.settings import FeatureSettings
from diffv2m.job_request import JobRequest, check_sources, validate

NO_CLIP = FeatureSettings(semantic=False)


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    return write_clip(tmp_path_factory.mktemp("good") / "good.mp4", ClipSpec(3.0, event_times=[1.0]))


def _one_sentence(message: str) -> None:
    assert message.endswith(".") and message.count(". ") == 0 and "\n" not in message and len(message) < 200


def _expect(error, match, *args, **kwargs):
    with pytest.raises(error, match=match) as caught:
        extract_features(*args, settings=NO_CLIP, **kwargs)
    _one_sentence(caught.value.message)
    return caught.value


def test_truncated_file(good, tmp_path):
    data = good.path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])  # the index (moov) at the end is gone
    _expect(VideoError, "truncated", cut)


def test_truncated_file_with_index_first(tmp_path):
    import av

    whole = tmp_path / "whole.mp4"
    # faststart: the index comes first, so the file opens and the frames stop early.
    with av.open(str(whole), "w", options={"movflags": "faststart"}) as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        import numpy as np

        for index in range(100):
            image = np.full((120, 160, 3), (index * 7) % 255, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    data = whole.read_bytes()
    cut = tmp_path / "cut_faststart.mp4"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    _expect(VideoError, "truncated", cut)


def test_not_a_video(tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("these are my notes, not a film\n" * 50)
    _expect(VideoError, "not a video", text)


def test_audio_only(tmp_path):
    _expect(VideoError, "only audio", write_audio_only(tmp_path / "song.m4a", 2.0))


def _expect_request(error, match, **fields):
    """Through the one request checker (values), then the files (``check_sources``)."""
    with pytest.raises(error, match=match) as caught:
        check_sources(validate(JobRequest(**fields)))
    _one_sentence(caught.value.message)
    return caught.value


def test_zero_length_range(good):
    _expect_request(RangeError, "must come after 'start'", video=str(good.path), start=1.0, end=1.0)


def test_range_past_the_end(good):
    _expect(RangeError, "only 3.000 s long", good.path, 5.0, 8.0)
    _expect(RangeError, "only 3.000 s long", good.path, 1.0, 9.0)


def test_unreadable_paths(tmp_path):
    _expect(VideoError, "does not exist", tmp_path / "missing.mp4")
    _expect(VideoError, "not a file", tmp_path)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    error = _expect(InputError, "empty", empty)
    assert error.status == 422  # as for an empty upload


def test_bad_segments(good):
    _expect(InputError, "no segments", [])
    _expect_request(InputError, "'speed' must be from", segments=[Segment(str(good.path), 0, 1, 0, speed=0)])
    _expect(InputError, "overlap", [Segment(good.path, 0, 2, 0), Segment(good.path, 0, 2, 1.0)])
    _expect(RangeError, "only 3.000 s long", [Segment(good.path, 2.0, 6.0)])


def test_text_files_are_not_videos(tmp_path):
    """FFmpeg's tty demuxer opens any text; a leading "G" is not a transport stream."""
    notes = tmp_path / "notes.txt"
    notes.write_text("these are my notes, not a film\n" * 50)
    error = _expect(VideoError, "not a video", notes)
    assert error.message == "notes.txt is not a video file that can be read."
    fake = tmp_path / "x.mp4"
    fake.write_text("Generated text, not a film at all.\n" * 20)  # longer than one 188-byte TS packet
    error = _expect(VideoError, "not a video", fake)
    assert error.message == "x.mp4 is not a video file that can be read."


def test_segments_all_after_the_range_end(good):
    _expect(
        RangeError, r"No segment is visible before the range end \(1 s\)", [Segment(good.path, 0, 1, 2.0)], 0.0, 1.0
    )


def test_bad_input_through_the_cli_is_one_line_not_a_traceback(tmp_path):
    """The real command line: exit code 1, one ``diffv2m: error:`` line, no traceback, no output."""
    text = tmp_path / "notes.mp4"
    text.write_text("not a film")
    out = tmp_path / "out.wav"
    command = [
        sys.executable,
        "-m",
        "diffv2m",
        "generate",
        str(text),
        "-o",
        str(out),
        "--cache-dir",
        str(tmp_path / "cache"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("diffv2m: error:")]
    assert errors == ["diffv2m: error: notes.mp4 is not a video file that can be read."], result.stderr
    assert not out.exists()
