"""The DiT's precisions (issue 13 item 5): bf16 by default on CUDA, an fp32 residual stream as an option, FP8 refused.

The bound below is measured on the CPU (bf16 matmuls are emulated exactly
enough there: the error is the bf16 rounding of weights and activations, the
same on any device) on a mid-size random DiT: 384 wide, 6 deep, 6 query
heads over 6 key/value heads, 128 latent frames, contexts of 32 tokens.
"""

from __future__ import annotations

import copy

import pytest
import torch

from diffv2m.engines.diffv2m_engine import DiffV2MEngine
from diffv2m.errors import WeightsError
from diffv2m.model.acceleration import prepare_for_inference, resolve_precision
from diffv2m.model.dit_conditioning import DiTConditioning
from diffv2m.model.guidance import GuidedVelocity
from diffv2m.model.testing import random_stack, tiny_spec
from diffv2m.settings import Settings

# Measured (torch 2.13 CPU, this config, seeds 3-5, t = 0.9 / 0.5 / 0.15): the guided v's relative RMS error
# against float32 is 0.014-0.016 in bf16 and 0.011-0.014 with the float32 stream (an 8-deep, 512-wide DiT:
# 0.023-0.030). bf16 keeps 8 significant bits (unit roundoff 2^-9 ≈ 0.2 %) and the roundings of ~40 GEMMs
# and the bf16 weights themselves add up, so a few per cent is what bf16 costs. 0.04 is 2.5 times the worst
# measured, room for other kernels, and still fails at once for a real fault (a branch in the wrong dtype,
# timestep phases rounded to bf16: errors of 10 % and more).
BF16_RELATIVE_ERROR = 0.04


@pytest.fixture(scope="module")
def mid_stack():
    spec = tiny_spec(embed_dim=384, depth=6, num_heads=6, cond_dim=384, latent_dim=64, latent_length=128)
    return random_stack(spec, seed=3)


def conditioning(stack) -> DiTConditioning:
    g = torch.Generator().manual_seed(1)
    width, tokens = stack.transformer.config.cond_token_dim, stack.max_seconds + 2
    mask = torch.ones(1, tokens, dtype=torch.bool)
    mask[:, 20:30] = False  # a 20-s range: the last ten seconds padded
    return DiTConditioning(
        semantic=torch.randn(1, tokens, width, generator=g),
        semantic_mask=mask,
        rhythm=torch.randn(1, tokens, width, generator=g),
        rhythm_mask=mask,
        global_cond=torch.randn(1, 3 * width, generator=g),
        emotion=torch.randn(1, tokens, width, generator=g),
        emotion_mask=mask,
    )


def guided(stack, times) -> list[torch.Tensor]:
    x = torch.randn(1, 64, stack.latent_length, generator=torch.Generator().manual_seed(2))
    velocity = GuidedVelocity(stack.transformer, conditioning(stack), 3.0)
    with torch.no_grad():
        return [velocity(x, t) for t in times]


def relative(low: list[torch.Tensor], reference: list[torch.Tensor]) -> float:
    return max(float((a - b).norm() / b.norm()) for a, b in zip(low, reference, strict=True))


def test_bf16_and_the_fp32_stream_stay_within_the_measured_bound(mid_stack):
    times = (0.9, 0.5, 0.15)  # both sides of the released hard switch
    reference = guided(mid_stack, times)
    errors = {}
    for precision in ("bf16", "bf16-fp32-residual"):
        stack = prepare_for_inference(copy.deepcopy(mid_stack), "cpu", precision)
        assert stack.transformer.dtype == torch.bfloat16
        assert stack.transformer.timestep_features.weight.dtype == torch.float32  # 2πtW is never rounded to bf16
        errors[precision] = relative(guided(stack, times), reference)
    assert errors["bf16"] <= BF16_RELATIVE_ERROR, errors
    assert errors["bf16-fp32-residual"] <= errors["bf16"], errors  # measured 15-25 % lower; never worse
    assert errors["bf16"] > 1e-3, errors  # the bf16 path really ran in bf16


def test_the_fp32_stream_is_float32_between_bf16_sublayers(mid_stack):
    stack = prepare_for_inference(copy.deepcopy(mid_stack), "cpu", "bf16-fp32-residual")
    dit = stack.transformer
    x = torch.randn(1, 64, 16)
    with torch.no_grad():
        v, hidden = dit(x, torch.tensor([0.5]), conditioning(stack), return_hidden=True)
    assert all(h.dtype == torch.float32 for h in hidden)
    assert v.dtype == torch.bfloat16  # the output projection reads bf16 like every other matmul
    dit.residual_dtype = None
    with torch.no_grad():
        _, hidden = dit(x, torch.tensor([0.5]), conditioning(stack), return_hidden=True)
    assert all(h.dtype == torch.bfloat16 for h in hidden)


def test_precision_names_defaults_and_the_fp8_refusal():
    assert resolve_precision(None, "cpu") == (torch.float32, None)
    assert resolve_precision("bf16-fp32-residual", "cuda") == (torch.bfloat16, torch.float32)
    with pytest.raises(ValueError, match="FP8 is not available"):
        resolve_precision("fp8", "cuda")
    with pytest.raises(ValueError, match="Unknown precision 'int4'; choose one of auto, bf16"):
        resolve_precision("int4", "cuda")


def test_the_engine_refuses_fp8_before_loading_any_weights(tmp_path):
    settings = Settings(weights=str(tmp_path / "absent"), precision="fp8", device="cpu")
    with pytest.raises(WeightsError, match="FP8 is not available"):
        DiffV2MEngine.from_settings(settings)
