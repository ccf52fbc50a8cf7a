"""The DiT at full size (on the meta device), its fusion variants, and its attention against plain references."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from diffv2m.model.dit import DiffV2MTransformer
from diffv2m.model.dit_conditioning import DiTConditioning
from diffv2m.model.fusion import FUSION_VARIANTS, fusion_from_official
from diffv2m.model.io.official_config import parse_official_config
from diffv2m.model.io.official_export import export_official_config
from diffv2m.model.io.weights import build_on_meta
from diffv2m.model.layers import CrossAttention, apply_partial_rotary, rotary_cos_sin
from diffv2m.model.stack import DiffV2M

RELEASED_DIT_PARAMETERS = 1_380_657_280


def _released_spec():
    """The released model_config_odf.json, rebuilt from the tiny fixture config with the released sizes."""
    import json

    from official_fixture import CONFIG

    config = json.loads(CONFIG.read_text())
    config["sample_size"] = 1_323_000
    model = config["model"]
    for side in ("encoder", "decoder"):
        oobleck = model["pretransform"]["config"][side]["config"]
        oobleck.update(channels=128, c_mults=[1, 2, 4, 8, 16], strides=[2, 4, 4, 8, 8])
    model["pretransform"]["config"]["encoder"]["config"]["latent_dim"] = 128
    model["pretransform"]["config"]["decoder"]["config"]["latent_dim"] = 64
    model["pretransform"]["config"].update(latent_dim=64, downsampling_ratio=2048)
    model["conditioning"]["cond_dim"] = 768
    for entry in model["conditioning"]["configs"]:
        for key in ("extractor_dim", "extractor_depth", "extractor_num_heads"):
            entry["config"].pop(key, None)
    model["diffusion"]["config"].update(io_channels=64, embed_dim=1536, depth=24, num_heads=24, cond_token_dim=768,
                                        global_cond_dim=2304)  # fmt: skip
    model["io_channels"] = 64
    return parse_official_config(config)


def test_the_released_size_builds_on_meta_with_the_exact_parameter_count():
    spec = _released_spec()
    stack = build_on_meta(lambda: DiffV2M.from_spec(spec))
    count = {name: sum(p.numel() for p in m.parameters()) for name, m in stack.components.items()}
    assert count["transformer"] == RELEASED_DIT_PARAMETERS
    assert count["rhythm_predictor"] == pytest.approx(50.73e6, rel=1e-3)  # research notes §4
    assert 155e6 < count["vae"] < 157e6  # encoder ≈ 78.0 M + decoder ≈ 78.1 M
    assert stack.latent_length == 645 and math.isclose(stack.window_seconds, 645 * 2048 / 44100)
    assert stack.transformer.rotary == 32 and stack.transformer.blocks[0].semantic_attn.kv_heads == 12
    assert parse_official_config(export_official_config(stack, extractor_keys=False)).transformer == spec.transformer


def test_grouped_cross_attention_equals_repeat_interleave_reference():
    torch.manual_seed(0)
    attn = CrossAttention(dim=256, context_dim=128, head_dim=32)  # 8 query heads, 4 key/value heads
    x, context = torch.randn(2, 11, 256), torch.randn(2, 7, 128)
    mask = torch.tensor([[True] * 7, [True] * 4 + [False] * 3])[:, None, None, :]
    q = attn.to_q(x).view(2, 11, 8, 32).transpose(1, 2)
    k, v = (t.view(2, 7, 4, 32).transpose(1, 2).repeat_interleave(2, dim=1) for t in attn.to_kv(context).chunk(2, -1))
    logits = (q @ k.transpose(-1, -2)) / math.sqrt(32)
    reference = (logits.masked_fill(~mask, -torch.finfo(logits.dtype).max).softmax(-1) @ v).transpose(1, 2)
    expected = attn.to_out(reference.reshape(2, 11, 256))
    assert torch.allclose(attn(x, context, mask), expected, atol=1e-5)


def test_partial_rotary_rotates_only_the_leading_channels_and_keeps_norms():
    x = torch.randn(1, 2, 9, 64)
    rotated = apply_partial_rotary(x, rotary_cos_sin(9, 32, x.device))
    assert torch.equal(rotated[..., 32:], x[..., 32:])
    assert torch.equal(rotated[..., 0, :], x[..., 0, :])  # position 0: angle 0
    assert torch.allclose(rotated[..., :32].norm(dim=-1), x[..., :32].norm(dim=-1), atol=1e-5)
    assert not torch.allclose(rotated[..., 1:, :32], x[..., 1:, :32])


def _conditioning(batch: int, dim: int, emotion: bool) -> DiTConditioning:
    g = torch.Generator().manual_seed(1)
    context = torch.randn(batch, 12, dim, generator=g)
    mask = torch.ones(batch, 12, dtype=torch.bool)
    mask[:, 8:10] = False
    return DiTConditioning(
        semantic=context,
        semantic_mask=mask,
        rhythm=torch.randn(batch, 12, dim, generator=g),
        rhythm_mask=mask,
        global_cond=torch.randn(batch, 3 * dim, generator=g),
        emotion=torch.randn(batch, 10, dim, generator=g) if emotion else None,
        emotion_mask=torch.ones(batch, 10, dtype=torch.bool) if emotion else None,
    )


def _small_dit(fusion: str = "film_choose") -> DiffV2MTransformer:
    """A 2-block DiT whose zero-initialised branches are made non-zero (so every path shows in the output)."""
    torch.manual_seed(0)
    dit = DiffV2MTransformer(io_channels=4, embed_dim=64, depth=2, num_heads=2, cond_token_dim=32,
                             global_cond_dim=96, fusion=fusion)  # fmt: skip
    with torch.no_grad():
        for p in dit.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return dit


@pytest.mark.parametrize("fusion", FUSION_VARIANTS)
def test_every_fusion_variant_runs_and_depends_on_both_contexts_as_designed(fusion):
    dit = _small_dit(fusion)
    x, cond = torch.randn(2, 4, 9), _conditioning(2, 32, emotion=True)
    t = torch.tensor([0.7, 0.1])
    with torch.no_grad():
        v = dit(x, t, cond)
        changed_rhythm = dit(x, t, DiTConditioning(**{**vars(cond), "rhythm": cond.rhythm * 0}))
    assert v.shape == x.shape and torch.isfinite(v).all()
    uses_rhythm = (v - changed_rhythm).abs().amax(dim=(1, 2)) > 1e-6  # per sample
    if fusion == "semantic_only":
        assert not uses_rhythm.any()
    elif fusion in ("choose", "film_choose"):
        assert uses_rhythm.tolist() == [False, True]  # t = 0.7: semantic branch; t = 0.1: rhythm branch
    else:
        assert uses_rhythm.all()


def test_branch_hint_skips_work_without_changing_the_result():
    dit = _small_dit()
    x, cond = torch.randn(1, 4, 9), _conditioning(1, 32, emotion=True)
    for t, hint in ((0.9, "semantic"), (0.2, "rhythm"), (0.05, "rhythm")):
        times = torch.tensor([t])
        with torch.no_grad():
            assert torch.equal(dit(x, times, cond), dit(x, times, cond, hint=hint))


def test_official_fusion_names_map_like_the_released_branches():
    assert fusion_from_official("FiLM_choose") == "film_choose"
    assert fusion_from_official("FiLM") == "film_sum"
    assert fusion_from_official("preFiLM_gate") == "prefilm_gate"
    assert fusion_from_official("preFiLM") == "prefilm"
    assert fusion_from_official("gate") == "gate"
    assert fusion_from_official("only_clip") == "semantic_only"
    assert fusion_from_official("sigmoid") == "mean"
    with pytest.raises(ValueError):
        fusion_from_official("FiLM_gate")  # no FiLM layers exist for it in the released code


def test_bf16_forward_stays_close_to_fp32():
    dit = _small_dit()
    x, cond, t = torch.randn(1, 4, 9), _conditioning(1, 32, emotion=False), torch.tensor([0.15])
    with torch.no_grad():
        reference = dit(x, t, cond)
        low = dit.to(torch.bfloat16)(x, t, cond).float()
    assert F.mse_loss(low, reference) < 1e-3 * reference.pow(2).mean() + 1e-6
