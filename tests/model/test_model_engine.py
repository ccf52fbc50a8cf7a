"""The Diff-V2M engine end to end on CPU with tiny random weights loaded through ``from_settings``."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from diffv2m.emotion import resolve_emotion
from diffv2m.engines.base import GenerationRequest
from diffv2m.engines.diffv2m_engine import DiffV2MEngine, emotion_conditioning
from diffv2m.errors import Cancelled, WeightsError
from diffv2m.features.types import VideoFeatures
from diffv2m.model.longform import per_second
from diffv2m.model.samplers import Inpainting
from diffv2m.model.testing import random_stack, tiny_spec, write_tiny_weights
from diffv2m.settings import Settings, SettingsError

RATE = 44_100


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    folder = write_tiny_weights(tmp_path_factory.mktemp("tiny") / "weights")
    return DiffV2MEngine.from_settings(Settings(weights=str(folder), device="cpu"))


def features(duration: float, seed: int = 0, rate: float = 1.0) -> VideoFeatures:
    rng = np.random.default_rng(seed)
    rows = math.ceil(duration * rate)
    colour = rng.random((rows, 3072)).astype(np.float32)
    return VideoFeatures(
        source="synthetic",
        content_hash=f"h{seed}",
        start=0.0,
        duration=duration,
        native_fps=25.0,
        rate=rate,
        semantic=(rng.normal(size=(rows, 512)) * 0.5).astype(np.float32),
        colour_hist=colour / colour.reshape(rows, 3, 1024).sum(-1).repeat(1024, axis=1),
        scene_cut=(rng.random(rows) > 0.8).astype(np.int64),
        visual_beat=rng.random(rows).astype(np.float32),
    )


def request(duration: float, emotion: str = "tense", seed: int = 7, steps: int = 4, calls=None, **kw):
    def progress(stage: str, fraction: float) -> None:
        if calls is not None:
            calls.append((stage, fraction))

    return GenerationRequest(features=features(duration, **kw), emotion=resolve_emotion(emotion), seed=seed,
                             duration=duration, steps=steps, progress=progress)  # fmt: skip


def test_a_short_range_gives_exact_stereo_audio_progress_and_the_predicted_odf(engine):
    calls: list = []
    result = engine.generate(request(7.3, calls=calls))
    assert result.audio.shape == (2, round(7.3 * RATE)) and result.audio.dtype == np.float32
    assert np.isfinite(result.audio).all() and np.abs(result.audio).max() > 0
    assert (result.engine, result.sampler, result.steps, result.seed) == ("diffv2m", "dpmpp-2m", 4, 7)
    assert result.weights == "tiny random weights (testing)"
    assert result.predicted_odf is not None and result.predicted_odf.shape == (8,)
    fractions = [f for stage, f in calls if stage == "generating"]
    assert len(fractions) == 1 + 4 and fractions == sorted(fractions) and fractions[-1] == 1.0
    assert engine.describe()["emotion_source"] == "released"


def test_same_seed_same_music_other_seed_other_music(engine):
    a, b = engine.generate(request(3.0, seed=1)), engine.generate(request(3.0, seed=1))
    c = engine.generate(request(3.0, seed=2))
    assert np.array_equal(a.audio, b.audio)
    assert not np.allclose(a.audio, c.audio)


def test_cancelling_at_a_step_stops_the_generation(engine):
    seen = []

    def progress(stage: str, fraction: float) -> None:
        seen.append(fraction)
        if fraction >= 0.5:
            raise Cancelled()

    job = request(5.0, steps=10)
    job.progress = progress
    with pytest.raises(Cancelled):
        engine.generate(job)
    assert seen[-1] == 0.5 and len(seen) == 6
    assert engine.generate(request(2.0)).audio.shape == (2, 2 * RATE)  # the engine is still usable


def test_emotion_presets_change_the_rhythm_intensity_and_auto_changes_nothing(engine):
    calm, epic = engine.generate(request(4.0, "calm")), engine.generate(request(4.0, "epic"))
    assert calm.extra["rhythm_gain"] < 1 < epic.extra["rhythm_gain"]
    assert not np.allclose(calm.audio, epic.audio)
    auto = emotion_conditioning(resolve_emotion("auto", valence=0.8, arousal=0.9))
    assert auto.rhythm_gain == 1.0 and auto.palette == ()


def test_features_at_another_rate_are_brought_to_one_per_second(engine):
    result = engine.generate(request(6.0, rate=2.0))
    assert result.audio.shape == (2, 6 * RATE) and result.predicted_odf.shape == (6,)


def test_features_below_one_per_second_hold_the_last_value():
    assert per_second(np.array([1.0, 2.0, 3.0]), 0.5, 6).tolist() == [1, 1, 2, 2, 3, 3]
    assert per_second(np.array([[1.0, 3.0], [5.0, 7.0]]), 2.0, 1).tolist() == [[3, 5]]
    assert per_second(np.array([1.0, 0.0, 1.0]), 0.5, 6, reduce="max").tolist() == [1, 0, 0, 0, 1, 0]


def test_without_clip_features_the_engine_says_what_is_missing(engine):
    job = request(3.0)
    job.features.semantic = None
    with pytest.raises(WeightsError, match="CLIP"):
        engine.generate(job)


def test_an_unknown_sampler_is_refused_before_any_weights_load(tmp_path):
    with pytest.raises(WeightsError, match="Unknown sampler 'euler'"):
        DiffV2MEngine.from_settings(Settings(weights=str(tmp_path / "missing"), device="cpu", sampler="euler"))


def test_no_weights_configured_is_a_clear_error():
    with pytest.raises(WeightsError, match="DIFFV2M_WEIGHTS"):
        DiffV2MEngine.from_settings(Settings(weights=None, device="cpu"))


def test_a_five_minute_range_is_one_continuous_score_to_the_sample(engine):
    duration = 300.25
    calls: list = []
    result = engine.generate(request(duration, steps=2, calls=calls))
    assert result.audio.shape == (2, round(duration * RATE))
    assert result.extra["windows"] == 15  # windows 19–20 s apart (docs/model.md), the last ending at the range end
    assert result.predicted_odf.shape == (301,)
    assert len([c for c in calls if c[0] == "generating"]) == 1 + 15 * 2
    power = (result.audio**2).mean(axis=0)[: 3000 * (RATE // 10)]
    rms = np.sqrt(power.reshape(3000, RATE // 10).mean(axis=1))
    assert (rms > 1e-4).all(), "a silent gap in the score"  # every 100 ms of the range has sound


def test_the_engine_can_denoise_a_long_range_all_windows_together(engine):
    calls: list = []
    batched = DiffV2MEngine(engine.stack, "cpu", engine.clip, window_batch=2)
    result = batched.generate(request(61.0, steps=2, calls=calls))
    assert result.audio.shape == (2, 61 * RATE) and np.isfinite(result.audio).all()
    assert (result.extra["windows"], result.extra["windows_denoised"]) == (3, "together")
    assert [f for stage, f in calls if stage == "generating"] == [0.0, 0.5, 1.0]  # all windows step together
    assert batched.describe()["window_batch"] == 2 and engine.describe()["window_batch"] == 0
    with pytest.raises(SettingsError, match=r"window batch .*--window-batch.* from 0 to 256, not -1"):
        Settings(weights=None, window_batch=-1)


def test_continuation_pins_the_shared_frames_to_the_previous_window():
    from diffv2m.model.acceleration import dummy_conditioning

    stack = random_stack(tiny_spec(latent_length=64, vae_strides=(2, 2), vae_mults=(1, 2)), seed=5)
    channels = stack.transformer.config.io_channels
    noise, known = torch.randn(1, channels, 64), torch.randn(1, channels, 64)
    mask = (torch.arange(64) < 20)[None, None]
    conditioning = dummy_conditioning(stack)
    free = stack.sample(conditioning, noise, steps=40)
    pinned = stack.sample(conditioning, noise, steps=40, inpaint=Inpainting(known, mask, noise))
    shared = (pinned[..., :20] - known[..., :20]).abs().mean()
    assert shared < 0.2 < (free[..., :20] - known[..., :20]).abs().mean()


def test_a_real_clip_through_the_features_and_the_engine(engine, bikes):
    """bikes.mp4 (10 s, 25 fps, cuts) → PyAV decode + the engine's own tiny CLIP → music for 6.5 s of it."""
    from diffv2m.features.extract import extract_features
    from diffv2m.features.semantic import ClipEncoder

    assert isinstance(engine.clip, ClipEncoder)  # loaded once by from_settings, from the weights' clip/ folder
    analysed = extract_features(bikes, 2.0, 8.5, clip=engine.clip)
    assert analysed.semantic is not None and analysed.semantic.shape == (7, 512)
    emotion = resolve_emotion("auto", analysed.clip_valence, analysed.clip_arousal)
    job = GenerationRequest(features=analysed, emotion=emotion, seed=11, duration=6.5, steps=3)
    result = engine.generate(job)
    assert result.audio.shape == (2, round(6.5 * RATE)) and np.isfinite(result.audio).all()
    assert result.predicted_odf.shape == (7,) and result.extra["rhythm_gain"] == 1.0


def test_a_colour_model_hears_the_preset_palette(tmp_path):
    folder = write_tiny_weights(tmp_path / "colour", emotion_source="colour")
    colour_engine = DiffV2MEngine.from_settings(Settings(weights=str(folder), device="cpu"))
    assert colour_engine.describe()["emotion_source"] == "colour"
    calm, happy = colour_engine.generate(request(3.0, "calm")), colour_engine.generate(request(3.0, "happy"))
    assert calm.extra["colour_palette_applied"] and happy.extra["colour_palette_applied"]
    assert not np.allclose(calm.audio, happy.audio)
