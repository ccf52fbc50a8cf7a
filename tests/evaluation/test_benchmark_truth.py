"""The benchmark's manifest tells the truth about its videos (checked by decoding them)."""

from __future__ import annotations

import subprocess
import sys

import av
import numpy as np


def _decode(path) -> tuple[np.ndarray, np.ndarray]:
    """(presentation times, frames as float RGB) of every decoded frame."""
    times, frames = [], []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            times.append(float(frame.pts * stream.time_base))
            frames.append(frame.to_ndarray(format="rgb24").astype(np.float32))
    return np.asarray(times), np.stack(frames)


def _frames_at(times: np.ndarray, events: list[float]) -> list[int]:
    return [int(np.argmin(np.abs(times - t))) for t in events]


def test_clip_set_covers_tempi_frame_rates_and_patterns(manifest):
    clips = manifest["clips"]
    assert {c["kind"] for c in clips} == {"flash", "bounce", "cuts"}
    assert {c["pattern"] for c in clips} == {"periodic", "aperiodic"}
    assert len({c["bpm"] for c in clips if c["bpm"]}) >= 4
    assert {round(c["fps"], 3) for c in clips} >= {23.976, 24.0, 25.0, 30.0, 60.0}
    assert any(c["vfr"] for c in clips)
    for clip in clips:
        gaps = np.diff(clip["visual_events"])
        assert gaps.size >= 3 and np.all(gaps > 0)
        if clip["pattern"] == "periodic":
            # the events sit on the pulse to within one frame of quantisation
            assert np.all(np.abs(np.diff(clip["event_times"]) - 60.0 / clip["bpm"]) <= 1.5 / clip["fps"])
        else:
            assert np.std(gaps) > 0.05


def test_flash_and_cut_times_are_where_the_picture_changes(small_benchmark, manifest):
    for clip in manifest["clips"]:
        if clip["kind"] == "bounce":
            continue
        times, frames = _decode(small_benchmark / clip["video"])
        brightness = frames.mean(axis=(1, 2, 3))
        colour = frames.mean(axis=(1, 2))
        change = np.r_[0.0, np.abs(np.diff(colour, axis=0)).sum(axis=1)]
        event_frames = _frames_at(times, clip["visual_events"])
        # every event time is a decoded frame's presentation time, and that frame changes the picture
        assert np.allclose(times[event_frames], clip["visual_events"], atol=1e-3), clip["id"]
        assert np.all(change[event_frames] > 20.0), clip["id"]
        quiet = np.setdiff1d(np.arange(1, len(times)), event_frames)
        flash_tail = np.concatenate([np.arange(i + 1, i + 5) for i in _frames_at(times, clip["event_times"])] or [[]])
        steady = np.setdiff1d(quiet, flash_tail.astype(int))
        assert np.all(change[steady] < 20.0), clip["id"]  # nothing else in the clip looks like an event
        if clip["event_times"]:
            peaks = _frames_at(times, clip["event_times"])
            assert np.all(brightness[peaks] > brightness[np.array(peaks) - 1] + 30), clip["id"]


def test_bounce_impacts_are_the_lowest_ball_positions(small_benchmark, manifest):
    for clip in manifest["clips"]:
        if clip["kind"] != "bounce":
            continue
        times, frames = _decode(small_benchmark / clip["video"])
        white = (frames.min(axis=3) > 235).astype(np.float32)  # the ball is the only near-white object
        rows = np.arange(frames.shape[1])[None, :]
        height = (white.sum(axis=2) * rows).sum(axis=1) / np.maximum(white.sum(axis=(1, 2)), 1)
        lows = [i for i in range(1, len(times) - 1) if height[i] >= height[i - 1] and height[i] > height[i + 1]]
        found = times[lows]
        truth = np.asarray(clip["event_times"])
        # within one frame: an impact between two frames shows as the lowest of them
        assert all(np.min(np.abs(found - t)) <= 1.01 / clip["fps"] for t in truth[truth < times[-2]]), clip["id"]


def test_make_benchmark_refuses_to_overwrite(small_benchmark, tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    result = subprocess.run(
        [sys.executable, "-m", "diffv2m", "make-benchmark", str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1 and "not empty" in result.stderr
    assert (tmp_path / "keep.txt").read_text() == "mine"
