"""Per-run and per-schedule constants, and the unconditional half without attention (issue 13 items 2 and 3).

Every fusion variant, on the tiny and a mid-size random DiT, in float32 on the
CPU: the prepared paths give the plain per-call forward's numbers (written out
in dit_reference.py) to 1e-6, and the work they skip is really skipped.
"""

from __future__ import annotations

import pytest
import torch
from dit_reference import reference_forward

import diffv2m.model.layers as layers
from diffv2m.model.dit import DiffV2MTransformer
from diffv2m.model.dit_conditioning import DiTConditioning
from diffv2m.model.fusion import FUSION_VARIANTS
from diffv2m.model.guidance import GuidedVelocity
from diffv2m.model.layers import CrossAttention
from diffv2m.model.samplers import run_sampler

SIZES = {  # (io channels, width, depth, heads, context width, latent frames)
    "tiny": (4, 64, 2, 2, 32, 9),
    "mid": (8, 256, 3, 4, 128, 48),  # 4 query heads over 2 key/value heads, as the released 24 over 12
}
TOLERANCE = 1e-6


def make_dit(size: str, fusion: str) -> DiffV2MTransformer:
    io, width, depth, heads, context, _ = SIZES[size]
    torch.manual_seed(0)
    dit = DiffV2MTransformer(io_channels=io, embed_dim=width, depth=depth, num_heads=heads, cond_token_dim=context,
                             global_cond_dim=3 * context, fusion=fusion)  # fmt: skip
    with torch.no_grad():
        for p in dit.parameters():
            p.add_(0.05 * torch.randn_like(p))  # make the zero-initialised branches count
    return dit.eval()


def make_conditioning(size: str, batch: int = 1) -> DiTConditioning:
    context = SIZES[size][4]
    g = torch.Generator().manual_seed(1)
    mask = torch.ones(batch, 12, dtype=torch.bool)
    mask[:, 6:10] = False  # padded seconds, as a short range masks them
    emotion_mask = torch.ones(batch, 10, dtype=torch.bool)
    emotion_mask[:, 7:] = False
    return DiTConditioning(
        semantic=torch.randn(batch, 12, context, generator=g),
        semantic_mask=mask,
        rhythm=torch.randn(batch, 12, context, generator=g),
        rhythm_mask=mask,
        global_cond=torch.randn(batch, 3 * context, generator=g),
        emotion=torch.randn(batch, 10, context, generator=g),
        emotion_mask=emotion_mask,
    )


def latent(size: str, batch: int = 1, seed: int = 2) -> torch.Tensor:
    io, *_, frames = SIZES[size]
    return torch.randn(batch, io, frames, generator=torch.Generator().manual_seed(seed))


def worst(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max())


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("fusion", FUSION_VARIANTS)
def test_prepared_run_and_times_give_the_plain_forward(size, fusion):
    dit, cond = make_dit(size, fusion), make_conditioning(size, batch=2)
    x = latent(size, batch=2)
    run = dit.prepare(cond)
    schedule = torch.tensor([0.9, 0.5, 0.2, 0.1])  # both sides of the hard switch, and on it
    table = dit.prepare_times(schedule)
    with torch.no_grad():
        for i, t in enumerate(schedule):
            expected = reference_forward(dit, x, t.repeat(2), cond)
            assert worst(dit.denoise(x, table.rows(slice(i, i + 1)), run), expected) <= TOLERANCE
        per_sample = torch.tensor([0.7, 0.1])
        assert worst(dit(x, per_sample, cond), reference_forward(dit, x, per_sample, cond)) <= TOLERANCE


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("fusion", FUSION_VARIANTS)
def test_the_null_half_is_skipped_and_equals_attending_the_zero_contexts(size, fusion):
    dit, cond = make_dit(size, fusion), make_conditioning(size)
    x = latent(size)
    pair = cond.with_guidance_batch()  # the released CFG batch: zero contexts, computed in full
    run = dit.prepare(cond, with_null=True)
    with torch.no_grad():
        for t in (0.9, 0.15):
            expected = reference_forward(dit, torch.cat((x, x)), torch.tensor([t, t]), pair)
            got = dit.denoise(torch.cat((x, x)), dit.prepare_times(torch.tensor([t])), run)
            assert worst(got, expected) <= TOLERANCE
        cond, x, times = make_conditioning(size, batch=2), latent(size, batch=2), torch.tensor([0.7, 0.1])
        _, cond_v, uncond_v = GuidedVelocity(dit, cond, 3.0).outputs(x, times)  # per-sample times (conformance)
        expected = reference_forward(dit, torch.cat((x, x)), torch.cat((times, times)), cond.with_guidance_batch())
        assert worst(torch.cat((cond_v, uncond_v)), expected) <= TOLERANCE


@pytest.mark.parametrize("fusion", FUSION_VARIANTS)
def test_guided_sampling_equals_the_plain_path_step_by_step(fusion):
    dit, cond = make_dit("mid", fusion), make_conditioning("mid")
    fast, plain = GuidedVelocity(dit, cond, 3.0), GuidedVelocity(dit, cond, 3.0, per_run_constants=False)
    noise = latent("mid")
    seen: dict[str, list[torch.Tensor]] = {"fast": [], "plain": []}
    with torch.no_grad():
        for name, velocity in (("fast", fast), ("plain", plain)):

            def record(x, t, velocity=velocity, name=name):
                v = velocity(x, t)
                seen[name].append(v)
                return v

            record.prepare_schedule = velocity.prepare_schedule  # the sampler announces its times through this
            run_sampler("dpmpp-2m", record, noise, 6, switch_t=dit.hard_switch_t)
    assert len(fast.schedule) == 6  # the sampler announced every time it then called
    assert len(seen["fast"]) == 6
    # guided = 3·cond − 2·uncond: up to five times each half's 1e-6 (measured: 2.5e-6 at worst)
    assert max(worst(a, b) for a, b in zip(seen["fast"], seen["plain"], strict=True)) <= 5 * TOLERANCE


@pytest.mark.parametrize("fusion", ["film_choose", "prefilm_gate"])
def test_constants_are_made_once_per_run_and_schedule(fusion):
    dit, cond = make_dit("tiny", fusion), make_conditioning("tiny")
    calls = {"timestep": 0, "film": 0, "to_cond_embed": 0, "kv": 0}

    def count(name):
        def hook(*_):
            calls[name] += 1

        return hook

    dit.to_timestep_embed.register_forward_hook(count("timestep"))
    dit.to_cond_embed.register_forward_hook(count("to_cond_embed"))
    dit.blocks[0].fusion.film.t_linear.register_forward_hook(count("film"))
    dit.blocks[0].emotion_attn.to_kv.register_forward_hook(count("kv"))
    with torch.no_grad():
        velocity = GuidedVelocity(dit, cond, 3.0)
        run_sampler("ddim", velocity, latent("tiny"), 8)
    # three contexts and their three null tokens; one schedule; level-1 K/V (never modulated) once per run
    assert calls == {"timestep": 1, "film": 1, "to_cond_embed": 6, "kv": 2}


def test_the_unconditional_half_runs_no_cross_attention(monkeypatch):
    dit, cond = make_dit("mid", "film_choose"), make_conditioning("mid")
    batches: list[tuple[int, int]] = []
    sdpa = layers.F.scaled_dot_product_attention

    def spy(q, k, v, attn_mask=None):
        batches.append((q.shape[0], k.shape[2]))
        return sdpa(q, k, v, attn_mask=attn_mask)

    monkeypatch.setattr(layers.F, "scaled_dot_product_attention", spy)
    with torch.no_grad():
        GuidedVelocity(dit, cond, 3.0)(latent("mid"), 0.9)
    frames = SIZES["mid"][5] + 1
    self_attention = [b for b in batches if b[1] == frames]
    cross_attention = [b for b in batches if b[1] != frames]
    assert self_attention == [(2, frames)] * 3  # both halves, every block
    assert cross_attention == [(1, 10), (1, 12)] * 3  # level 1 and the one level-2 branch, conditional rows only


def test_constant_context_is_what_attention_over_it_gives():
    torch.manual_seed(0)
    attn = CrossAttention(dim=128, context_dim=64, head_dim=32)  # 4 query heads over 2 key/value heads
    x = torch.randn(3, 5, 128)
    token = torch.randn(3, 1, 64)
    mask = torch.tensor([[True] * 6, [True, False, True, False, False, False], [False] * 6])[:, None, None, :]
    with torch.no_grad():
        attended = attn(x, token.expand(-1, 6, -1), mask)
        known = attn.constant_context(token, mask)
        assert worst(known.expand(-1, 5, -1), attended) <= TOLERANCE
        assert torch.equal(known[2], torch.zeros_like(known[2]))  # every key masked: SDPA gives zeros
        zero = attn.constant_context(torch.zeros(3, 1, 64), mask)
        assert torch.equal(zero, torch.zeros_like(zero))  # the released null context: exactly zero, no bias
        assert torch.equal(attn(x, torch.zeros(3, 6, 64), mask), torch.zeros(3, 5, 128))
