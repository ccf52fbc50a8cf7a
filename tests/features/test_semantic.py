"""CLIP image embeddings: preprocessing equals transformers' own, loading, and time alignment."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

from diffv2m.errors import Cancelled, WeightsError
from diffv2m.features.extract import extract_features
from diffv2m.features.semantic import ClipEncoder, tiny_clip_config, tiny_clip_encoder


@pytest.fixture(scope="module")
def encoder():
    return tiny_clip_encoder(seed=3, batch_size=4)


def test_matches_transformers_image_processor(encoder):
    """Our torch normalisation gives what CLIPImageProcessor (+ the model) gives for the same crop."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from transformers import CLIPImageProcessor

        processor = CLIPImageProcessor()  # OpenAI's CLIP settings; the slow PIL path, fine for a test
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (5, 224, 224, 3), dtype=np.uint8)
    pixels = processor(images=list(crops), return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        expected = encoder.model(pixel_values=pixels).image_embeds.numpy()
    ours = encoder.encode(crops)
    assert ours.shape == (5, 512) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-5)
    # Batching (4 per batch here) changes nothing.
    np.testing.assert_allclose(encoder.encode(crops[:2]), ours[:2], rtol=1e-5, atol=1e-6)


def test_from_pretrained_folder_uses_its_normalisation(tmp_path):
    from transformers import CLIPVisionModelWithProjection

    torch.manual_seed(0)
    model = CLIPVisionModelWithProjection(tiny_clip_config())
    model.save_pretrained(tmp_path)
    mean, std = [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]
    (tmp_path / "preprocessor_config.json").write_text(
        json.dumps({"image_processor_type": "CLIPImageProcessor", "image_mean": mean, "image_std": std})
    )
    loaded = ClipEncoder.from_pretrained(tmp_path, device="cpu")
    crop = np.full((1, 224, 224, 3), 191, np.uint8)  # (0.75 - 0.5) / 0.25 = 1.0 everywhere
    with torch.no_grad():
        expected = model(pixel_values=torch.ones(1, 3, 224, 224) * ((191 / 255 - 0.5) / 0.25)).image_embeds.numpy()
    np.testing.assert_allclose(loaded.encode(crop), expected, rtol=1e-4, atol=1e-5)
    assert ClipEncoder.from_pretrained(tmp_path, device="cpu").identity == loaded.identity


def test_missing_weights_are_one_clear_error(tmp_path):
    with pytest.raises(WeightsError, match="could not be loaded"):
        ClipEncoder.from_pretrained(tmp_path / "nowhere", device="cpu")
    with pytest.raises(WeightsError, match="downloading is off"):
        ClipEncoder.from_pretrained("openai/clip-vit-base-patch32-not-here", device="cpu")


def test_semantic_rows_describe_the_same_moments_in_any_range(make_clip, encoder):
    truth = make_clip("flash", "25")
    whole = extract_features(truth.path, 0.0, 5.0, clip=encoder)
    later = extract_features(truth.path, 2.0, 5.0, clip=encoder)
    assert whole.semantic.shape == (5, 512) and later.semantic.shape == (3, 512)
    # Second k of the later range is second 2 + k of the file: the same frame, the same embedding.
    np.testing.assert_allclose(later.semantic, whole.semantic[2:], rtol=1e-5, atol=1e-5)
    # Different shots (a cut at 2.1 s and 4.55 s) look different to CLIP.
    assert np.abs(whole.semantic[1] - whole.semantic[3]).max() > 1e-3


def test_progress_is_reported_and_cancel_stops(make_clip):
    truth = make_clip("flash", "25")
    calls: list[tuple[str, float]] = []
    extract_features(truth.path, progress=lambda stage, fraction: calls.append((stage, fraction)))
    decoding = [fraction for stage, fraction in calls if stage == "decoding video"]
    assert len(decoding) >= 10 and decoding == sorted(decoding) and decoding[0] == 0.0
    assert calls[-1] == ("analysing", 1.0)

    seen: list[float] = []

    def cancel_at_half(stage: str, fraction: float) -> None:
        seen.append(fraction)
        if fraction >= 0.5:
            raise Cancelled()

    with pytest.raises(Cancelled):
        extract_features(truth.path, progress=cancel_at_half)
    assert max(seen) < 0.6  # it stopped right there, not at the end


def test_a_portrait_piece_on_a_landscape_timeline_is_not_squashed(clip_factory, encoder):
    from fractions import Fraction

    from diffv2m.benchmark.videos import ClipSpec
    from diffv2m.features.segments import Segment

    wide = clip_factory(ClipSpec(2.0, Fraction(25), 320, 180, seed=5), "aspect-wide").path
    tall = clip_factory(ClipSpec(2.0, Fraction(25), 180, 320, seed=6), "aspect-tall").path
    alone = extract_features(tall, 0.0, 2.0, clip=encoder)
    timeline = [Segment(wide, 0.0, 2.0, timeline_start=0.0), Segment(tall, 0.0, 2.0, timeline_start=2.0)]
    cut = extract_features(timeline, clip=encoder)
    # The timeline fits the tall piece into its wide analysis frame for the other features,
    # but CLIP sees the tall picture as it is: the same embeddings as the clip on its own.
    np.testing.assert_allclose(cut.semantic[2:], alone.semantic, rtol=1e-5, atol=1e-5)
