"""Decoding: exact frame times (any rate, VFR, mid-file ranges, start offsets), rotation, sizes."""

from __future__ import annotations

import numpy as np
import pytest

from diffv2m.video import iter_frames, probe_video

from .conftest import RATES


@pytest.mark.parametrize("rate", list(RATES))
def test_every_frame_at_its_own_time(make_clip, rate):
    truth = make_clip("flash", rate)
    frames = list(iter_frames(truth.path, width=96))
    times = np.array([f.time for f in frames])
    np.testing.assert_allclose(times, truth.frame_times, atol=1e-6)
    assert frames[0].image.shape == (72, 96, 3) and frames[0].image.dtype == np.uint8
    info = probe_video(truth.path)
    assert info.duration == pytest.approx(truth.frame_times[-1] + truth.frame_period, abs=0.5 * truth.frame_period)


@pytest.mark.parametrize("rate", ["29.97", "vfr30"])
@pytest.mark.parametrize("start", [1.37, 3.0, 4.5])
def test_range_starting_mid_file_is_exact(make_clip, rate, start):
    truth = make_clip("flash", rate)
    end = start + 1.5
    times = np.array([f.time for f in iter_frames(truth.path, start, end, width=64)])
    # A frame starting less than a quarter frame before the range start is shown at it (time 0).
    slack = 0.25 * truth.frame_period
    shown = truth.frame_times[(truth.frame_times >= start - slack) & (truth.frame_times < end - slack)] - start
    assert times.size == shown.size
    # Within one frame: time k describes source time start + k (exact except that clamped first frame).
    assert np.max(np.abs(times - shown)) < truth.frame_period
    np.testing.assert_allclose(times, np.maximum(shown, 0.0), atol=1e-6)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".ts"])
def test_stream_start_offset_is_the_origin(suffix, tmp_path):
    from diffv2m.benchmark.videos import write_clip

    from .conftest import spec_for

    truth = write_clip(
        tmp_path / f"offset{suffix}", spec_for("flash", "25", duration=4.0, start_offset=1.5, audio=True)
    )
    info = probe_video(truth.path)
    assert info.origin >= 1.5 - 1e-6  # the muxer may add its own delay (MPEG-TS does)
    assert info.duration == pytest.approx(4.0, abs=0.05)
    times = np.array([f.time for f in iter_frames(truth.path, 2.0, 3.0, width=64)])
    expected = truth.frame_times[(truth.frame_times >= 2.0 - 1e-6) & (truth.frame_times < 3.0 - 1e-6)] - 2.0
    np.testing.assert_allclose(times, expected, atol=1e-4)


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotated_clip_decodes_upright(make_clip, rotation):
    def frames(truth):
        return [f.image.astype(np.int16) for f in iter_frames(truth.path, 0, 2.0, width=96)]

    def misplaced(a, b):  # share of pixels that differ a lot: where the ball is in one and not the other
        return float(np.mean(np.abs(a - b).max(axis=2) > 60))

    plain = frames(make_clip("bounce", "25"))
    rotated_truth = make_clip("bounce", "25", rotation=rotation)
    info = probe_video(rotated_truth.path)
    assert (info.width, info.height, info.rotation) == (320, 240, rotation)
    rotated = frames(rotated_truth)
    assert len(rotated) == len(plain)
    right = np.mean([misplaced(a, b) for a, b in zip(rotated, plain, strict=True)])
    upside_down = np.mean([misplaced(np.rot90(a, 2), b) for a, b in zip(rotated, plain, strict=True)])
    assert right < 0.001 < 0.005 < upside_down


def test_render_gives_the_same_frame_at_another_size(make_clip):
    truth = make_clip("flash", "25")
    for frame in iter_frames(truth.path, 1.0, 1.2, width=80):
        big = frame.render(224, 168)
        assert big.shape == (168, 224, 3)
        # Colour of the large render matches the analysis image (same decoded picture).
        assert np.abs(big.reshape(-1, 3).mean(0) - frame.image.reshape(-1, 3).mean(0)).max() < 3.0


@pytest.mark.parametrize(("codec", "suffix"), [("mpeg4", ".avi"), ("libvpx-vp9", ".webm"), ("libx265", ".mkv")])
def test_other_codecs_and_containers(tmp_path, codec, suffix):
    import av

    path = tmp_path / f"clip{suffix}"
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=24)
        stream.width, stream.height, stream.pix_fmt = 128, 96, "yuv420p"
        if codec == "libx265":
            stream.options = {"x265-params": "log-level=none"}
        for index in range(36):
            image = np.full((96, 128, 3), 40 + 5 * index, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    info = probe_video(path)
    assert info.duration == pytest.approx(1.5, abs=0.05)
    frames = list(iter_frames(path, 0.5, width=64))
    np.testing.assert_allclose([f.time for f in frames], np.arange(24) / 24, atol=2e-3)
    # The picture brightens as encoded, frames 12 -> 35 (a lossy codec may repeat a level).
    levels = [f.image.mean() for f in frames]
    assert levels[0] == pytest.approx(40 + 5 * 12, abs=6) and levels[-1] == pytest.approx(40 + 5 * 35, abs=6)
    assert np.all(np.diff(levels) > -1)
