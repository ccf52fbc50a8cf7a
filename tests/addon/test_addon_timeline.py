"""Timeline maths of the add-on (no Blender): frame rates, playback rates, the cut as segments."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from diffv2m_score.timeline import (
    FrameRange,
    MovieStripTiming,
    lowest_free_channel,
    media_fps,
    playback_rate,
    scene_fps,
    seconds_to_frame,
    segments_for_range,
    selection_range,
)


def strip(name, channel, left, right, *, start=None, trim=0, fps=25, rate=1, content=None, path=None):
    """A movie strip as compat.movie_timing reports it (content placed so ``left`` shows source ``trim``)."""
    start = Fraction(left if start is None else start)
    return MovieStripTiming(
        name=name,
        channel=channel,
        path=path or f"/media/{name}.mp4",
        left=left,
        right=right,
        content_start=start,
        content_duration=content if content is not None else 10_000,
        trim_start=trim,
        rate=Fraction(rate),
        fps=Fraction(fps),
    )


def test_scene_fps_is_exact_for_ntsc_rates_stored_as_float32():
    assert scene_fps(30, float(np.float32(1.001))) == Fraction(30000, 1001)
    assert scene_fps(24, float(np.float32(1.001))) == Fraction(24000, 1001)
    assert scene_fps(60, float(np.float32(1.001))) == Fraction(60000, 1001)
    assert scene_fps(25, 1.0) == 25
    with pytest.raises(ValueError):
        scene_fps(0, 1.0)


def test_media_fps_recovers_the_fraction_behind_a_float32():
    assert media_fps(float(np.float32(30000 / 1001))) == Fraction(30000, 1001)
    assert media_fps(float(np.float32(24000 / 1001))) == Fraction(24000, 1001)
    assert media_fps(25.0) == 25
    assert media_fps(12.5) == Fraction(25, 2)


@pytest.mark.parametrize(
    ("frames", "trims", "duration", "media", "scene", "expected"),
    [
        (90, (0, 0), 90, 30, 24, Fraction(1)),  # strips.new_movie: one source frame per timeline frame
        (90, (6, 4), 64, 30, 24, Fraction(5, 4)),  # "adjust playback rate": the media's own speed
        (89, (0, 0), 71, Fraction(30000, 1001), 24, Fraction(30000, 1001) / 24),  # rounded length, exact rate
        (90, (0, 0), 45, 30, 30, Fraction(2)),  # retimed to 200 %
    ],
)
def test_playback_rate(frames, trims, duration, media, scene, expected):
    assert playback_rate(frames, *trims, duration, Fraction(media), Fraction(scene)) == expected


def test_two_strips_cut_together_become_two_segments_with_source_in_out():
    fps = Fraction(25)
    a = strip("a", 1, 1, 68, start=-4, trim=0)  # head trimmed by 5 frames: frame 1 shows source frame 5
    b = strip("b", 1, 68, 136, start=61)  # frame 68 shows source frame 7
    segments = segments_for_range([b, a], FrameRange(1, 136), fps)
    assert [s.strip for s in segments] == ["a", "b"]
    first, second = segments
    assert (first.source_start, first.source_end) == (Fraction(5, 25), Fraction(72, 25))
    assert (second.source_start, second.source_end) == (Fraction(7, 25), Fraction(75, 25))
    assert (first.timeline_start, second.timeline_start) == (0, Fraction(67, 25))
    assert first.speed == second.speed == 1
    assert second.as_request() == {
        "path": "/media/b.mp4",
        "source_start": 0.28,
        "source_end": 3.0,
        "timeline_start": 2.68,
        "speed": 1.0,
    }
    assert second.as_request(file_index=1)["file"] == 1 and "path" not in second.as_request(file_index=1)


def test_the_top_channel_wins_and_gaps_stay_gaps():
    fps = Fraction(24)
    low = strip("low", 1, 0, 100)
    high = strip("high", 3, 40, 60)
    late = strip("late", 1, 120, 150)
    segments = segments_for_range([low, high, late], FrameRange(10, 140), fps)
    assert [(s.strip, s.frames.start, s.frames.end) for s in segments] == [
        ("low", 10, 40),
        ("high", 40, 60),
        ("low", 60, 100),
        ("late", 120, 140),
    ]
    # The part of 'low' after the overlay continues its source where it would have been.
    assert segments[2].source_start == Fraction(60, 25)
    assert segments[3].timeline_start == Fraction(110, 24)


def test_a_lower_strip_ending_inside_a_higher_one_does_not_split_it():
    segments = segments_for_range([strip("top", 2, 0, 50), strip("under", 1, 10, 20)], FrameRange(0, 50), Fraction(25))
    assert [(s.strip, s.frames.start, s.frames.end) for s in segments] == [("top", 0, 50)]


def test_speed_is_source_seconds_per_timeline_second():
    # 30 fps media, one source frame per timeline frame, in a 24 fps scene: plays at 0.8x.
    slow = strip("slow", 1, 0, 48, fps=30, rate=1)
    (segment,) = segments_for_range([slow], FrameRange(0, 48), Fraction(24))
    assert segment.speed == Fraction(4, 5)
    assert segment.source_end - segment.source_start == Fraction(2) * Fraction(4, 5)
    # Auto playback rate (5/4 source frames per timeline frame): real time.
    real = strip("real", 1, 0, 48, fps=30, rate=Fraction(5, 4))
    assert segments_for_range([real], FrameRange(0, 48), Fraction(24))[0].speed == 1


def test_held_frames_are_stills_that_hide_what_lies_below():
    # Content lasts 30 frames from frame 10; the handles were dragged out to 5 and 45.
    held = strip("held", 2, 5, 45, start=10, trim=3, content=30)
    below = strip("below", 1, 0, 60)
    segments = segments_for_range([held, below], FrameRange(0, 60), Fraction(25))
    assert [(s.strip, s.frames.start, s.frames.end) for s in segments] == [
        ("below", 0, 5),
        ("held", 5, 10),
        ("held", 10, 40),
        ("held", 40, 45),
        ("below", 45, 60),
    ]
    head, play, tail = segments[1:4]
    # A still is one source frame stretched over the hold: source frame 3 before, 32 after.
    assert (head.source_start, head.source_end) == (Fraction(3, 25), Fraction(4, 25))
    assert head.speed == Fraction(1, 25) / Fraction(5, 25)
    assert (play.source_start, play.source_end, play.speed) == (Fraction(3, 25), Fraction(33, 25), 1)
    assert (tail.source_start, tail.source_end) == (Fraction(32, 25), Fraction(33, 25))
    assert tail.speed == Fraction(1, 5)


def test_long_ntsc_ranges_stay_exact():
    fps = Fraction(30000, 1001)
    far = strip("far", 1, 30_000, 30_300, fps=fps, trim=0)
    (segment,) = segments_for_range([far], FrameRange(0, 30_300), fps)
    assert segment.timeline_start == 1001  # exactly 30000 frames at 29.97 fps
    assert segment.source_end == Fraction(300) / fps


def test_empty_range_is_refused():
    with pytest.raises(ValueError):
        segments_for_range([strip("a", 1, 0, 10)], FrameRange(5, 5), Fraction(25))


def test_markers_land_on_the_nearest_frame():
    frames = FrameRange(101, 400)
    assert seconds_to_frame(0.0, frames, Fraction(24)) == 101
    assert seconds_to_frame(0.5, frames, Fraction(24)) == 113
    assert seconds_to_frame(1001 / 30000 * 7, frames, Fraction(30000, 1001)) == 108


def test_selection_range_and_free_channel():
    assert selection_range([(10, 20), (5, 12), (30, 31)]) == FrameRange(5, 31)
    assert selection_range([]) is None
    frames = FrameRange(10, 50)
    occupied = [(1, 0, 100), (2, 45, 60), (3, 50, 80), (4, 0, 10)]
    assert lowest_free_channel(occupied, frames) == 3  # 3 starts where the range ends, 4 ends where it starts
    with pytest.raises(ValueError):
        lowest_free_channel([(c, 0, 100) for c in range(1, 129)], frames)
