"""Building blocks shared by the DiT and the rhythm predictor.

Everything here mirrors the released Diff-V2M / stable-audio-tools layers in
behaviour (bias-free LayerNorm with eps 1e-5, partial rotary embeddings on the
first ``rotary_dim`` channels of each head, SwiGLU feed-forward, random Fourier
timestep features, learned-frequency number embeddings), written for speed:
one fused SDPA call per attention, no per-head copies of keys and values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


class BiasFreeLayerNorm(nn.Module):
    """LayerNorm with a learnable gain and no bias (the released code keeps a zero buffer instead)."""

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # the gain follows the input: a float32 residual stream is normalised in float32 with bf16 weights
        return F.layer_norm(x, x.shape[-1:], weight=self.gamma.to(x.dtype), eps=self.eps)


def rotary_dim_for(head_dim: int) -> int:
    """The released rule: rotate max(head_dim // 2, 32) channels of each head."""
    return max(head_dim // 2, 32)


def rotary_cos_sin(seq_len: int, rotary_dim: int, device: torch.device, base: float = 10000.0) -> torch.Tensor:
    """(2, seq_len, rotary_dim) float32 cos/sin tables, positions 0..seq_len-1.

    The frequencies are computed exactly as the released RotaryEmbedding does
    (float32 ``1 / base ** (arange(0, dim, 2) / dim)``), so checkpoints' stored
    ``inv_freq`` buffers need not be loaded.
    """
    inv_freq = 1.0 / (base ** (torch.arange(0, rotary_dim, 2, device=device).float() / rotary_dim))
    positions = torch.arange(seq_len, device=device, dtype=torch.float32)
    freqs = torch.einsum("i,j->ij", positions, inv_freq)
    freqs = torch.cat((freqs, freqs), dim=-1)
    return torch.stack((freqs.cos(), freqs.sin()))


def apply_partial_rotary(x: torch.Tensor, cos_sin: torch.Tensor) -> torch.Tensor:
    """Rotate the first ``rotary_dim`` channels of each head ("rotate half" layout), in float32."""
    rotary_dim = cos_sin.shape[-1]
    dtype = x.dtype
    rotated, passthrough = x[..., :rotary_dim].float(), x[..., rotary_dim:]
    first, second = rotated.chunk(2, dim=-1)
    rotated = rotated * cos_sin[0] + torch.cat((-second, first), dim=-1) * cos_sin[1]
    return torch.cat((rotated.to(dtype), passthrough), dim=-1)


def _heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    batch, length, _ = x.shape
    return x.view(batch, length, heads, -1).transpose(1, 2)


class SelfAttention(nn.Module):
    """Multi-head self-attention with a fused QKV projection and partial rotary embeddings."""

    def __init__(self, dim: int, head_dim: int) -> None:
        super().__init__()
        self.heads = dim // head_dim
        self.to_qkv = nn.Linear(dim, dim * 3, bias=False)
        self.to_out = nn.Linear(dim, dim, bias=False)

    def forward(self, x: torch.Tensor, cos_sin: torch.Tensor | None) -> torch.Tensor:
        q, k, v = (_heads(part, self.heads) for part in self.to_qkv(x).chunk(3, dim=-1))
        if cos_sin is not None:
            q, k = apply_partial_rotary(q, cos_sin), apply_partial_rotary(k, cos_sin)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.to_out(out.transpose(1, 2).flatten(2))


@dataclass
class AttentionInputs:
    """What one cross-attention needs of its context, made once per sampling run.

    ``kv`` and ``mask`` are those of the conditional rows. ``null_out`` is the
    exact output of the trailing null rows (the CFG unconditional half), whose
    context tokens are all one token, so nothing is attended for them.
    """

    kv: torch.Tensor  # (Bc, M, 2 · context_dim)
    mask: torch.Tensor | None  # (Bc, 1, 1, M) bool, True where a token may be attended to
    null_out: torch.Tensor | None = None  # (Bn, 1, dim), broadcast over the sequence


class CrossAttention(nn.Module):
    """Cross-attention from the sequence to a (masked) token context.

    The context may carry fewer heads than the queries (768-d tokens give 12
    key/value heads for 24 query heads in the released model; each key/value
    head serves a contiguous group of query heads, as ``repeat_interleave``
    would). Instead of copying keys and values once per query head, the query
    heads of a group are folded into the query length: exact (softmax is per
    query row), no key/value copies, and it runs on every SDPA kernel,
    masked or not.
    """

    def __init__(self, dim: int, context_dim: int, head_dim: int) -> None:
        super().__init__()
        self.heads = dim // head_dim
        self.kv_heads = context_dim // head_dim
        if self.kv_heads < 1 or self.heads % self.kv_heads:
            raise ValueError(
                f"cross-attention needs query heads ({self.heads}) to be a multiple of key/value heads "
                f"({context_dim} // {head_dim})"
            )
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_kv = nn.Linear(context_dim, context_dim * 2, bias=False)
        self.to_out = nn.Linear(dim, dim, bias=False)

    def forward(self, x: torch.Tensor, context: torch.Tensor, attn_mask: torch.Tensor | None) -> torch.Tensor:
        """``attn_mask``: (B, 1, 1, M) boolean, True where a context token may be attended to."""
        return self._attend(x, self.to_kv(context), attn_mask)

    def inputs(self, context: torch.Tensor, mask: torch.Tensor | None, null: torch.Tensor | None) -> AttentionInputs:
        """K/V of ``context`` (the conditional rows) and the null rows' output, for their one token ``null``."""
        return AttentionInputs(self.to_kv(context), mask, None if null is None else self.constant_context(null, mask))

    def attend(self, x: torch.Tensor, inputs: AttentionInputs) -> torch.Tensor:
        if inputs.null_out is None:
            return self._attend(x, inputs.kv, inputs.mask)
        cond = x.shape[0] - inputs.null_out.shape[0]
        known = inputs.null_out.expand(-1, x.shape[1], -1)
        return torch.cat((self._attend(x[:cond], inputs.kv, inputs.mask), known))

    def constant_context(self, token: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """The exact output, (B, 1, dim) for every query, when each context token equals ``token`` (B, 1, C).

        Every key is then the same, so every unmasked key gets the same score
        and the softmax weights (which sum to one) average identical values:
        the attention output is V(token) whatever the query. A row whose keys
        are all masked gives 0 (PyTorch's SDPA returns zeros for fully masked
        rows). The projections have no bias, so the released all-zero null
        context gives exactly 0.
        """
        batch = token.shape[0]
        value = self.to_kv(token).chunk(2, dim=-1)[1].view(batch, 1, self.kv_heads, -1)
        value = value.repeat_interleave(self.heads // self.kv_heads, dim=2)  # query head h reads kv head h // group
        out = self.to_out(value.flatten(2))
        if mask is None:
            return out
        return out * mask.any(dim=-1).to(out.dtype)  # (B, 1, 1): no host read

    def _attend(self, x: torch.Tensor, kv: torch.Tensor, attn_mask: torch.Tensor | None) -> torch.Tensor:
        batch, length, _ = x.shape
        group = self.heads // self.kv_heads
        q = _heads(self.to_q(x), self.heads)  # (B, H, N, d)
        q = q.reshape(batch, self.kv_heads, group * length, -1)  # heads h = kv * group + j
        k, v = (_heads(part, self.kv_heads) for part in kv.chunk(2, dim=-1))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        out = out.reshape(batch, self.heads, length, -1)
        return self.to_out(out.transpose(1, 2).flatten(2))


class SwiGLU(nn.Module):
    """value * SiLU(gate) with one fused input projection (value first, gate second, as released)."""

    def __init__(self, dim_in: int, dim_out: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim_in, dim_out * 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        value, gate = self.proj(x).chunk(2, dim=-1)
        return value * F.silu(gate)


class FeedForward(nn.Module):
    """SwiGLU feed-forward, inner width ``mult * dim``."""

    def __init__(self, dim: int, mult: int = 4) -> None:
        super().__init__()
        inner = dim * mult
        self.ff = nn.Sequential(SwiGLU(dim, inner), nn.Linear(inner, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ff(x)


class FourierFeatures(nn.Module):
    """Random Fourier features of the diffusion time: [cos(2π t W), sin(2π t W)], computed in float32."""

    def __init__(self, out_features: int = 256) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features // 2, 1))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        f = 2 * math.pi * t.float()[:, None] @ self.weight.float().T
        return torch.cat((f.cos(), f.sin()), dim=-1)


class NumberEmbedder(nn.Module):
    """A number in [0, 1] → [x, sin(2π x w), cos(2π x w)] → Linear (stable-audio's NumberEmbedder)."""

    def __init__(self, features: int, dim: int = 256) -> None:
        super().__init__()
        self.weights = nn.Parameter(torch.randn(dim // 2))
        self.project = nn.Linear(dim + 1, features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, None].to(self.weights.dtype)
        freqs = x * self.weights[None] * 2 * math.pi
        return self.project(torch.cat((x, freqs.sin(), freqs.cos()), dim=-1))


class TransformerEncoderBlock(nn.Module):
    """Pre-LN self-attention + SwiGLU block (the rhythm predictor's block; the DiT adds cross-attention)."""

    def __init__(self, dim: int, head_dim: int) -> None:
        super().__init__()
        self.self_attn_norm = BiasFreeLayerNorm(dim)
        self.self_attn = SelfAttention(dim, head_dim)
        self.ff_norm = BiasFreeLayerNorm(dim)
        self.ff = FeedForward(dim)

    def forward(self, x: torch.Tensor, cos_sin: torch.Tensor | None) -> torch.Tensor:
        x = x + self.self_attn(self.self_attn_norm(x), cos_sin)
        return x + self.ff(self.ff_norm(x))
