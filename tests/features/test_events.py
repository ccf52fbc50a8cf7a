"""Visual events and scene cuts recovered from synthetic clips with known ground truth."""

from __future__ import annotations

import mir_eval
import numpy as np
import pytest

from diffv2m.features.extract import extract_features
from diffv2m.features.settings import FeatureSettings

from .conftest import RATES, frame_indices

NO_CLIP = FeatureSettings(semantic=False)


@pytest.mark.parametrize("kind", ["flash", "bounce"])
@pytest.mark.parametrize("rate", list(RATES))
def test_events_and_cuts_are_recovered(make_clip, kind, rate):
    truth = make_clip(kind, rate)
    features = extract_features(truth.path, settings=NO_CLIP)

    # Cuts: exactly the first frame of every new shot, nothing else (flashes are not cuts).
    np.testing.assert_allclose(features.cut_times, truth.cut_times, atol=1e-6)

    # Events: every flash or bounce, and the cuts (they are visual beats too), within one frame.
    # Compared as frame indices, so "one frame" is exact for variable frame rate as well.
    reference = frame_indices(truth.frame_times, np.union1d(truth.event_times, truth.cut_times))
    estimated = frame_indices(truth.frame_times, features.event_times)
    f_measure, precision, recall = mir_eval.onset.f_measure(reference, estimated, window=1.0)
    assert f_measure >= 0.95, (precision, recall, reference, estimated)

    # Per-step streams agree with the full-resolution lists.
    steps = features.num_seconds
    assert features.scene_cut.shape == (steps,)
    assert set(np.flatnonzero(features.scene_cut)) == {int(t) for t in truth.cut_times}
    assert features.visual_beat.shape == (steps,) and features.visual_beat.max() <= 1.0
    assert all(features.visual_beat[int(t)] > 0 for t in features.event_times)
    assert np.all(np.diff(features.event_times) > 0)
    assert features.event_strengths.shape == features.event_times.shape


def test_static_clip_has_no_events(clip_factory):
    from diffv2m.benchmark.videos import ClipSpec

    truth = clip_factory(ClipSpec(3.0, event_times=[], cut_times=[]), "static")
    features = extract_features(truth.path, settings=NO_CLIP)
    assert features.event_times.size == 0 and features.cut_times.size == 0
    assert features.visual_beat.max() == 0.0
    assert features.motion.max() < 0.01


def test_range_mid_file_reports_times_from_its_start(make_clip):
    truth = make_clip("flash", "29.97")
    start, end = 1.6, 5.2
    features = extract_features(truth.path, start, end, settings=NO_CLIP)
    assert features.start == start and features.duration == pytest.approx(end - start)
    assert features.num_seconds == 4
    inside = truth.cut_times[(truth.cut_times >= start) & (truth.cut_times < end)]
    np.testing.assert_allclose(features.cut_times, inside - start, atol=1e-6)
    reference = np.union1d(truth.event_times, truth.cut_times)
    reference = reference[(reference >= start) & (reference < end)] - start
    f_measure = mir_eval.onset.f_measure(reference, features.event_times, window=truth.frame_period * 1.01)[0]
    assert f_measure >= 0.95
