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


def test_zero_length_range(good):
    _expect(RangeError, "empty", good.path, 1.0, 1.0)


def test_range_past_the_end(good):
    _expect(RangeError, "only 3.000 s long", good.path, 5.0, 8.0)
    _expect(RangeError, "only 3.000 s long", good.path, 1.0, 9.0)


def test_unreadable_paths(tmp_path):
    _expect(VideoError, "does not exist", tmp_path / "missing.mp4")
    _expect(VideoError, "not a file", tmp_path)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    _expect(VideoError, "empty", empty)


def test_bad_segments(good):
    _expect(InputError, "no segments", [])
    _expect(InputError, "speed", [Segment(good.path, 0, 1, 0, speed=0)])
    _expect(InputError, "overlap", [Segment(good.path, 0, 2, 0), Segment(good.path, 0, 2, 1.0)])
    _expect(RangeError, "only 3.000 s long", [Segment(good.path, 2.0, 6.0)])


def test_bad_input_through_the_cli_is_one_line_not_a_traceback(tmp_path):
    """The process survives: the same sentence reaches a user of the command line."""
    text = tmp_path / "notes.mp4"
    text.write_text("not a film")
    code = (
        "import sys\n"
        "from diffv2m.errors import Diffv2mError\n"
        "from diffv2m.features.extract import extract_features\n"
        "try:\n"
        f"    extract_features({str(text)!r})\n"
        "except Diffv2mError as exc:\n"
        "    print(exc.message); sys.exit(3)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert result.stdout.strip() == "notes.mp4 is not a video file that can be read."
