"""Official-format checkpoints of other sizes load by reading sizes from config and weights; bad input is named."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from official_fixture import CKPT, CONFIG

from diffv2m.errors import WeightsError
from diffv2m.model.conformance import compute_outputs
from diffv2m.model.io.official_checkpoint import load_official
from diffv2m.model.io.official_config import parse_official_config
from diffv2m.model.io.official_export import export_official_config, export_official_state_dict
from diffv2m.model.testing import tiny_spec, write_official_checkpoint

VARIANTS = {
    # head dim 128 → rotary 64 of 128; 3 VAE stages of stride 2; 1 key/value head for 2 query heads
    "wide": dict(embed_dim=256, num_heads=2, depth=3, cond_dim=128, vae_strides=(2, 2, 2), vae_mults=(1, 2, 2)),
    # head dim 32 → every channel rotated; 3 query heads share 1 kv head; no colour (no level 1); pre-FiLM + gate
    "narrow": dict(embed_dim=96, num_heads=3, cond_dim=32, fusion="prefilm_gate", has_colour=False,
                   vae_strides=(4, 2), vae_mults=(1, 2), latent_dim=4, predictor=(96, 1, 3)),
    # 4 query heads over 2 kv heads, FiLM sum, odd VAE widths
    "grouped": dict(embed_dim=128, num_heads=4, depth=1, cond_dim=64, fusion="film_sum", vae_channels=6,
                    vae_strides=(2, 4), vae_mults=(1, 3), latent_dim=6),
}  # fmt: skip


def synthetic_inputs(stack, seconds: int = 17, seed: int = 0) -> dict[str, torch.Tensor]:
    """Conformance-style inputs of the right shapes for any stack."""
    g = torch.Generator().manual_seed(seed)
    io, length, ratio = stack.transformer.config.io_channels, stack.latent_length, stack.downsampling_ratio
    return {
        "in_class": torch.tensor([2]),
        "in_clip_features": torch.randn(1, seconds, 512, generator=g) * 0.5,
        "in_color_hist": torch.rand(1, seconds, 3072, generator=g),
        "in_gt_rhythm_odf": torch.rand(1, seconds, 1, generator=g),
        "in_pseudo_beats": torch.rand(1, seconds, generator=g) * 3,
        "in_scene_cut": (torch.rand(1, seconds, generator=g) > 0.7).long(),
        "in_seconds_start": torch.zeros(1),
        "in_seconds_total": torch.tensor([float(seconds)]),
        "dit_x": torch.randn(1, io, length, generator=g),
        "dit_t_a": torch.tensor([0.6]),
        "dit_t_b": torch.tensor([0.1]),
        "sample_noise": torch.randn(1, io, length, generator=g),
        "sample_t_schedule": torch.linspace(1, 0, 4)[:-1],
        "vae_in_audio": torch.randn(1, 2, 8 * ratio, generator=g).clamp(-1, 1),
        "vae_encode_noise": torch.randn(1, stack.vae.config.decoder_input_channels, 8, generator=g),
    }


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_other_sizes_load_exactly_and_run(tmp_path, name):
    ckpt, config, source = write_official_checkpoint(tmp_path, tiny_spec(latent_length=24, **VARIANTS[name]))
    for use_ema in (False, True):
        stack = load_official(ckpt, config, use_ema=use_ema)
        for component, module in stack.components.items():
            ours, theirs = module.state_dict(), source.components[component].state_dict()
            assert ours.keys() == theirs.keys()
            same = all(torch.equal(ours[k], theirs[k]) for k in ours)
            assert same == (component != "transformer" or not use_ema), (component, use_ema)
    outputs = compute_outputs(stack, synthetic_inputs(stack))
    io, length = stack.transformer.config.io_channels, stack.latent_length
    assert outputs["dit_v_cfg3_a"].shape == (1, io, length)
    assert len([k for k in outputs if k.startswith("dit_hidden_cond_a_")]) == stack.transformer.config.depth
    assert outputs["sample_decoded_audio"].shape == (1, 2, length * stack.downsampling_ratio)
    assert outputs["rhythm_extractor_odf"].shape == (1, 30, 1)
    assert all(torch.isfinite(v).all() for v in outputs.values())
    assert ("ctx_color" in outputs) == stack.conditioner.config.has_colour


def test_a_config_without_extractor_keys_means_the_released_rhythm_predictor(tmp_path):
    spec = tiny_spec(latent_length=16, vae_strides=(2, 2), vae_mults=(1, 2), predictor=(512, 12, 8))
    ckpt, config, source = write_official_checkpoint(tmp_path, spec, extractor_keys=False)
    assert "extractor_dim" not in config.read_text()
    stack = load_official(ckpt, config)
    predictor = stack.rhythm_predictor
    assert (predictor.config.dim, predictor.config.depth, predictor.config.num_heads) == (512, 12, 8)
    assert sum(p.numel() for p in predictor.parameters()) == pytest.approx(50.73e6, rel=1e-3)
    inputs = synthetic_inputs(stack, seconds=30)
    with torch.no_grad():
        odf = predictor(inputs["in_clip_features"], inputs["in_class"], inputs["in_scene_cut"],
                        inputs["in_pseudo_beats"])  # fmt: skip
        expected = source.rhythm_predictor(inputs["in_clip_features"], inputs["in_class"], inputs["in_scene_cut"],
                                           inputs["in_pseudo_beats"])  # fmt: skip
    assert torch.equal(odf, expected)


def test_the_official_format_writer_reproduces_the_real_fixture_layout(official_stack):
    """Guards the test checkpoints above: same keys, shapes and values as the official code's own file."""
    real = torch.load(CKPT, weights_only=True)["state_dict"]
    written = export_official_state_dict(official_stack)
    assert written.keys() == real.keys()
    assert all(written[k].shape == real[k].shape for k in real)
    unused = ("proj_out.", "diffusion_ema.ema_model")  # random / noisy in the fixture
    assert all(torch.equal(written[k].float(), real[k].float()) for k in real if not any(u in k for u in unused))
    ours = parse_official_config(export_official_config(official_stack))
    theirs = parse_official_config(json.loads(CONFIG.read_text()))
    assert (ours.transformer, ours.rhythm_predictor, ours.conditioner, ours.vae, ours.latent_length) == (
        theirs.transformer, theirs.rhythm_predictor, theirs.conditioner, theirs.vae, theirs.latent_length)  # fmt: skip


@pytest.fixture(scope="module")
def small_checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("small")
    spec = tiny_spec(latent_length=8, vae_strides=(2, 2), vae_mults=(1, 2), embed_dim=64, depth=1)
    ckpt, config, _ = write_official_checkpoint(folder, spec)
    return torch.load(ckpt, weights_only=True)["state_dict"], json.loads(config.read_text())


def _write(tmp_path, state, config):
    ckpt, path = tmp_path / "model.ckpt", tmp_path / "model_config.json"
    torch.save({"state_dict": state}, ckpt)
    path.write_text(json.dumps(config))
    return ckpt, path


def test_missing_files_are_named(tmp_path):
    with pytest.raises(WeightsError, match="does not exist"):
        load_official(tmp_path / "nope.ckpt", CONFIG)
    with pytest.raises(WeightsError, match=r"config .* does not exist"):
        load_official(CKPT, tmp_path / "nope.json")


def test_a_broken_or_foreign_config_is_named(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(WeightsError, match="not valid JSON"):
        load_official(CKPT, bad)
    config = json.loads(CONFIG.read_text())
    del config["model"]["diffusion"]
    bad.write_text(json.dumps(config))
    with pytest.raises(WeightsError, match=r"model\.diffusion"):
        load_official(CKPT, bad)
    config = json.loads(CONFIG.read_text())
    config["model"]["diffusion"]["config"]["global_cond_type"] = "adaLN"
    bad.write_text(json.dumps(config))
    with pytest.raises(WeightsError, match="global_cond_type"):
        load_official(CKPT, bad)


def test_missing_unexpected_and_misshapen_keys_are_listed(tmp_path, small_checkpoint):
    state, config = small_checkpoint
    key = "diffusion.model.model.transformer.layers.0.cross_attn1.to_kv.weight"
    broken = {k: v for k, v in state.items() if k != key}
    with pytest.raises(WeightsError, match=r"lacks transformer weights: .*layers\.0\.cross_attn1\.to_kv\.weight"):
        load_official(*_write(tmp_path, broken, config))
    extra = dict(state, **{"diffusion.model.model.transformer.layers.0.mystery.weight": torch.zeros(3)})
    with pytest.raises(WeightsError, match=r"does not know: .*mystery"):
        load_official(*_write(tmp_path, extra, config))
    deeper = copy.deepcopy(config)
    deeper["model"]["diffusion"]["config"]["depth"] = 2
    with pytest.raises(WeightsError, match=r"lacks transformer weights: .*transformer\.layers\.1\."):
        load_official(*_write(tmp_path, state, deeper))
    wider = copy.deepcopy(config)
    wider["model"]["diffusion"]["config"]["cond_token_dim"] = 64
    wider["model"]["diffusion"]["config"]["global_cond_dim"] = 192
    with pytest.raises(WeightsError, match=r"does not match its config in shape: .*to_cond_embed"):
        load_official(*_write(tmp_path, state, wider))


def test_asking_for_absent_ema_weights_is_an_error(tmp_path, small_checkpoint):
    state, config = small_checkpoint
    online_only = {k: v for k, v in state.items() if not k.startswith("diffusion_ema.ema_model")}
    ckpt, path = _write(tmp_path, online_only, config)
    assert load_official(ckpt, path).transformer is not None
    with pytest.raises(WeightsError, match="no EMA DiT weights"):
        load_official(ckpt, path, use_ema=True)


def test_a_pickled_object_is_refused_unless_trusted(tmp_path, small_checkpoint):
    state, config = small_checkpoint
    ckpt, path = _write(tmp_path, state, config)
    torch.save({"state_dict": state, "hyper_parameters": {"callback": copy.deepcopy}}, ckpt)
    with pytest.raises(WeightsError, match="trust-pickle"):
        load_official(ckpt, path)
    assert load_official(ckpt, path, trust_pickle=True).latent_length == 8
