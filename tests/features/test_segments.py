"""Timelines cut together from several clips: times, the cut at the joint, speed, black gaps."""

from __future__ import annotations

import mir_eval
import numpy as np
import pytest

from diffv2m.benchmark.videos import ClipSpec
from diffv2m.features.extract import extract_features
from diffv2m.features.segments import Segment, plan_timeline
from diffv2m.features.settings import FeatureSettings

NO_CLIP = FeatureSettings(semantic=False)


def _events_in(truth, start, end):
    times = np.union1d(truth.event_times, truth.cut_times)
    return times[(times >= start) & (times < end)] - start


@pytest.fixture(scope="module")
def two_clips(make_clip):
    return make_clip("flash", "25"), make_clip("bounce", "29.97")


def test_two_clips_cut_together(two_clips):
    a, b = two_clips
    segments = [Segment(a.path, 0.5, 3.3, 0.0), Segment(b.path, 1.0, 4.0, 2.8)]
    features = extract_features(segments, settings=NO_CLIP)
    assert features.duration == pytest.approx(5.8) and features.num_seconds == 6

    # The joint is a cut, exactly where b's first frame lands on the timeline.
    first_b = b.frame_times[b.frame_times >= 1.0 - 1e-6][0] - 1.0 + 2.8
    expected_cuts = np.concatenate([_cuts(a, 0.5, 3.3), [first_b], _cuts(b, 1.0, 4.0) + 2.8])
    np.testing.assert_allclose(features.cut_times, expected_cuts, atol=1e-6)

    # Every event of both pieces, moved to its place on the timeline.
    reference = np.concatenate([_events_in(a, 0.5, 3.3), [first_b], _events_in(b, 1.0, 4.0) + 2.8])
    f_measure = mir_eval.onset.f_measure(np.unique(reference), features.event_times, window=1.01 / 25)[0]
    assert f_measure >= 0.95
    assert np.all(np.diff(features.frame_times) > 0)


def _cuts(truth, start, end):
    return truth.cut_times[(truth.cut_times >= start) & (truth.cut_times < end)] - start


def test_speed_two_halves_every_time(make_clip):
    truth = make_clip("flash", "25")
    normal = extract_features([Segment(truth.path, 0.0, 6.0)], settings=NO_CLIP)
    fast = extract_features([Segment(truth.path, 0.0, 6.0, speed=2.0)], settings=NO_CLIP)
    assert fast.duration == pytest.approx(3.0) and fast.num_seconds == 3
    np.testing.assert_allclose(fast.frame_times, normal.frame_times / 2, atol=1e-9)
    np.testing.assert_allclose(fast.cut_times, truth.cut_times / 2, atol=1e-6)
    f_measure = mir_eval.onset.f_measure(
        np.union1d(truth.event_times, truth.cut_times) / 2, fast.event_times, window=1.01 / 50
    )[0]
    assert f_measure >= 0.95


def test_gaps_are_black(clip_factory):
    # A bright static clip placed with a gap before and after it.
    truth = clip_factory(ClipSpec(2.0, event_times=[], cut_times=[]), "static-2s")
    features = extract_features([Segment(truth.path, 0.0, 2.0, timeline_start=1.0)], end=4.0, settings=NO_CLIP)
    assert features.duration == 4.0 and features.num_seconds == 4
    brightness = features.colour_hist.reshape(4, 3, 1024) @ ((np.arange(1024) + 0.5) / 1024)
    assert np.all(brightness[[0, 3]] < 0.01)  # black
    assert np.all(brightness[[1, 2]].max(axis=1) > 0.2)  # the clip
    # Into the picture and out to black again are the cuts (the final one before the range end).
    np.testing.assert_allclose(features.cut_times, [1.0, 3.0], atol=1.01 / 25)


def test_end_trims_the_timeline(make_clip):
    truth = make_clip("flash", "25")
    timeline = plan_timeline([Segment(truth.path, 1.0, 5.0, 0.0)], end=2.5)
    assert timeline.duration == 2.5
    assert timeline.pieces[0][0].source_end == pytest.approx(3.5)
    times = [frame.time for frame in timeline.frames(64)]
    assert times[-1] < 2.5 and len(times) == 63  # frames at 0, 0.04, ... 2.48
