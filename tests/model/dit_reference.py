"""The DiT forward as it was before per-run constants (issue 13), written out plainly from the modules' weights.

Everything is recomputed per call from raw contexts and t, every FiLM/gate MLP
runs inside its block, and the unconditional half attends to its zero contexts
like any other. The tests hold the prepared paths to this.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from diffv2m.model.dit import DiffV2MTransformer
from diffv2m.model.dit_conditioning import DiTConditioning
from diffv2m.model.fusion import SWITCH_T, ChooseFusion, FiLMSumFusion, GatedFusion, SemanticOnlyFusion, TimeFiLM
from diffv2m.model.layers import CrossAttention, rotary_cos_sin


def _film(film: TimeFiLM, branch: str, h: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    t_embed = film.t_linear(t[:, None])
    gamma, beta = (film.gamma_sem, film.beta_sem) if branch == "semantic" else (film.gamma_rhy, film.beta_rhy)
    return h * torch.sigmoid(gamma(t_embed))[:, None] + beta(t_embed)[:, None]


def _cross(attn: CrossAttention, x: torch.Tensor, context: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Key/value heads copied per query head (repeat_interleave), the plain way."""
    batch, length, _ = x.shape
    q = attn.to_q(x).view(batch, length, attn.heads, -1).transpose(1, 2)
    k, v = (
        part.view(batch, context.shape[1], attn.kv_heads, -1).transpose(1, 2)
        for part in attn.to_kv(context).chunk(2, dim=-1)
    )
    group = attn.heads // attn.kv_heads
    k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return attn.to_out(out.transpose(1, 2).flatten(2))


def _fuse(fusion, h_sem: torch.Tensor, h_rhy: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    if isinstance(fusion, SemanticOnlyFusion):
        return h_sem
    if isinstance(fusion, ChooseFusion):
        if fusion.film is not None:
            h_sem, h_rhy = _film(fusion.film, "semantic", h_sem, t), _film(fusion.film, "rhythm", h_rhy, t)
        return torch.where((t > SWITCH_T).view(-1, 1, 1), h_sem, h_rhy)
    if isinstance(fusion, FiLMSumFusion):
        return _film(fusion.film, "semantic", h_sem, t) + _film(fusion.film, "rhythm", h_rhy, t)
    if isinstance(fusion, GatedFusion) and fusion.gate is not None:
        alpha = fusion.gate(t[:, None])[:, :, None]
        return alpha * h_sem + (1 - alpha) * h_rhy
    return 0.5 * h_sem + 0.5 * h_rhy


@torch.no_grad()
def reference_forward(dit: DiffV2MTransformer, x: torch.Tensor, t: torch.Tensor, cond: DiTConditioning) -> torch.Tensor:
    """float32 only: v for ``x`` (B, C, L) at times ``t`` (B,)."""

    def mask(value: torch.Tensor | None) -> torch.Tensor | None:
        return None if value is None else value.bool()[:, None, None, :]

    semantic, rhythm = dit.to_cond_embed(cond.semantic), dit.to_cond_embed(cond.rhythm)
    emotion = dit.to_cond_embed(cond.emotion) if cond.emotion is not None and dit.config.emotion_level else None
    global_token = dit.to_global_embed(cond.global_cond) + dit.to_timestep_embed(dit.timestep_features(t))
    h = dit.project_in((dit.preprocess_conv(x) + x).transpose(1, 2))
    h = torch.cat((global_token[:, None], h), dim=1)
    cos_sin = rotary_cos_sin(h.shape[1], dit.rotary, h.device)
    for block in dit.blocks:
        h = h + block.self_attn(block.self_attn_norm(h), cos_sin)
        h = block.level1_norm(h)
        if emotion is not None:
            h = block.level2_norm(h + _cross(block.emotion_attn, h, emotion, mask(cond.emotion_mask)))
        fusion = block.fusion
        if isinstance(fusion, GatedFusion) and fusion.film is not None:  # pre-FiLM, chained through the blocks
            semantic, rhythm = _film(fusion.film, "semantic", semantic, t), _film(fusion.film, "rhythm", rhythm, t)
        h_sem = _cross(block.semantic_attn, h, semantic, mask(cond.semantic_mask))
        h_rhy = _cross(block.rhythm_attn, h, rhythm, mask(cond.rhythm_mask))
        h = h + _fuse(fusion, h_sem, h_rhy, t)
        h = h + block.ff(block.ff_norm(h))
    out = dit.project_out(h[:, 1:]).transpose(1, 2)
    return dit.postprocess_conv(out) + out
