"""The hierarchical diffusion transformer (the generator of the paper's Figure 1).

One token per latent frame plus one prepended global token (timestep Fourier
features + seconds/class embedding). Each block, exactly as released:

    x = x + SelfAttn(LN(x))                       partial rotary, positions include the global token
    x = LN(x)                                     the residual stream is *replaced* by its norm
    x = x + CrossAttn_level1(x, emotion tokens)   colour tokens (paper) / rhythm tokens (released)
    x = LN(x)                                     replaced again
    h_sem = CrossAttn_sem(x, semantic tokens)     level 2, in parallel
    h_rhy = CrossAttn_rhy(x, rhythm tokens)
    x = x + fusion(t, h_sem, h_rhy)               see fusion.py (released: FiLM + hard switch at t = 0.2)
    x = x + SwiGLU(LN(x))

Where the conditioning has no level-1 context, the block only normalises the
stream before level 2 (the released behaviour with two contexts).
"""

from __future__ import annotations

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from .dit_conditioning import DiTConditioning
from .fusion import SWITCH_T, BranchHint, build_fusion
from .layers import (
    BiasFreeLayerNorm,
    CrossAttention,
    FeedForward,
    FourierFeatures,
    SelfAttention,
    rotary_cos_sin,
    rotary_dim_for,
)


class HierarchicalBlock(nn.Module):
    def __init__(self, dim: int, head_dim: int, context_dim: int, fusion: str) -> None:
        super().__init__()
        self.self_attn_norm = BiasFreeLayerNorm(dim)
        self.self_attn = SelfAttention(dim, head_dim)
        self.level1_norm = BiasFreeLayerNorm(dim)
        self.emotion_attn = CrossAttention(dim, context_dim, head_dim)
        self.level2_norm = BiasFreeLayerNorm(dim)
        self.semantic_attn = CrossAttention(dim, context_dim, head_dim)
        self.rhythm_attn = CrossAttention(dim, context_dim, head_dim)
        self.fusion = build_fusion(fusion, dim, context_dim)
        self.ff_norm = BiasFreeLayerNorm(dim)
        self.ff = FeedForward(dim)

    def forward(
        self,
        x: torch.Tensor,
        t: torch.Tensor,
        contexts: dict[str, torch.Tensor | None],
        cos_sin: torch.Tensor,
        hint: BranchHint,
    ) -> torch.Tensor:
        x = x + self.self_attn(self.self_attn_norm(x), cos_sin)
        x = self.level1_norm(x)
        if contexts["emotion"] is not None:
            x = x + self.emotion_attn(x, contexts["emotion"], contexts["emotion_mask"])
            x = self.level2_norm(x)
        semantic, rhythm = self.fusion.modulate_contexts(t, contexts["semantic"], contexts["rhythm"])
        contexts["semantic"], contexts["rhythm"] = semantic, rhythm  # pre-FiLM chains through blocks, as released
        need_sem, need_rhy = self.fusion.needs(hint)
        h_sem = self.semantic_attn(x, semantic, contexts["semantic_mask"]) if need_sem else None
        h_rhy = self.rhythm_attn(x, rhythm, contexts["rhythm_mask"]) if need_rhy else None
        x = x + self.fusion.combine(t, h_sem, h_rhy, hint)
        return x + self.ff(self.ff_norm(x))


class DiffV2MTransformer(ModelMixin, ConfigMixin):
    """v-prediction DiT. ``forward(x, t, conditioning)`` → v, all shapes (B, io_channels, L)."""

    config_name = "config.json"
    # Kept float32 when the rest goes bf16/fp16 (``DiffV2M.to``): bf16 would smear the phases 2πtW. Not diffusers'
    # ``_keep_in_fp32_modules``, which makes its from_pretrained require accelerate.
    fp32_modules = ("timestep_features",)

    @register_to_config
    def __init__(
        self,
        io_channels: int = 64,
        embed_dim: int = 1536,
        depth: int = 24,
        num_heads: int = 24,
        cond_token_dim: int = 768,
        project_cond_tokens: bool = False,
        global_cond_dim: int = 2304,
        fusion: str = "film_choose",
        emotion_level: bool = True,
        rotary_dim: int | None = None,
        timestep_features_dim: int = 256,
    ) -> None:
        super().__init__()
        head_dim = embed_dim // num_heads
        if head_dim * num_heads != embed_dim:
            raise ValueError(f"embed_dim {embed_dim} is not a multiple of num_heads {num_heads}")
        self.rotary = rotary_dim or rotary_dim_for(head_dim)
        if self.rotary > head_dim:
            raise ValueError(f"rotary_dim {self.rotary} exceeds the head dim {head_dim}")
        context_dim = embed_dim if project_cond_tokens else cond_token_dim

        self.to_timestep_embed = nn.Sequential(
            nn.Linear(timestep_features_dim, embed_dim), nn.SiLU(), nn.Linear(embed_dim, embed_dim)
        )
        self.to_cond_embed = nn.Sequential(
            nn.Linear(cond_token_dim, context_dim, bias=False),
            nn.SiLU(),
            nn.Linear(context_dim, context_dim, bias=False),
        )
        self.to_global_embed = nn.Sequential(
            nn.Linear(global_cond_dim, embed_dim, bias=False), nn.SiLU(), nn.Linear(embed_dim, embed_dim, bias=False)
        )
        self.preprocess_conv = nn.Conv1d(io_channels, io_channels, 1, bias=False)
        self.project_in = nn.Linear(io_channels, embed_dim, bias=False)
        self.blocks = nn.ModuleList(HierarchicalBlock(embed_dim, head_dim, context_dim, fusion) for _ in range(depth))
        self.project_out = nn.Linear(embed_dim, io_channels, bias=False)
        self.postprocess_conv = nn.Conv1d(io_channels, io_channels, 1, bias=False)
        self.timestep_features = FourierFeatures(timestep_features_dim)  # registered last: ``dtype`` reads the first
        self._init_like_released()

    @property
    def hard_switch_t(self) -> float | None:
        """Where the output jumps in t (hard-switch fusions), so multistep samplers can restart there."""
        return SWITCH_T if self.blocks and self.blocks[0].fusion.hard_switch else None

    @torch.no_grad()
    def _init_like_released(self) -> None:
        """Zero the branch outputs and the pre/post convs, then halve every weight (the released DiTWrapper)."""
        zeroed = [self.preprocess_conv.weight, self.postprocess_conv.weight]
        for block in self.blocks:
            for attn in (block.self_attn, block.emotion_attn, block.semantic_attn, block.rhythm_attn):
                zeroed.append(attn.to_out.weight)
            zeroed += [block.ff.ff[1].weight, block.ff.ff[1].bias]
        for param in zeroed:
            param.zero_()
        for param in self.parameters():
            param.mul_(0.5)

    def embed_contexts(self, conditioning: DiTConditioning) -> dict[str, torch.Tensor | None]:
        """Project every context through the shared ``to_cond_embed`` and shape masks for SDPA."""
        dtype = self.project_in.weight.dtype

        def tokens(value: torch.Tensor | None) -> torch.Tensor | None:
            return None if value is None else self.to_cond_embed(value.to(dtype))

        def mask(value: torch.Tensor | None) -> torch.Tensor | None:
            return None if value is None else value.bool()[:, None, None, :]

        use_emotion = self.config.emotion_level and conditioning.emotion is not None
        return {
            "semantic": tokens(conditioning.semantic),
            "semantic_mask": mask(conditioning.semantic_mask),
            "rhythm": tokens(conditioning.rhythm),
            "rhythm_mask": mask(conditioning.rhythm_mask),
            "emotion": tokens(conditioning.emotion) if use_emotion else None,
            "emotion_mask": mask(conditioning.emotion_mask) if use_emotion else None,
        }

    def forward(
        self,
        x: torch.Tensor,
        t: torch.Tensor,
        conditioning: DiTConditioning,
        hint: BranchHint = None,
        return_hidden: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """v-prediction for latents ``x`` (B, C, L) at diffusion times ``t`` (B,) in [0, 1].

        ``t`` stays float32 for the timestep features and the fusion even when
        the weights are bf16/fp16 (the hard switch compares raw t to 0.2).
        ``return_hidden`` also returns every block's output (global token at row 0).
        """
        dtype = self.project_in.weight.dtype
        t = t.float()
        global_token = self.to_global_embed(conditioning.global_cond.to(dtype)) + self.to_timestep_embed(
            self.timestep_features(t).to(dtype)
        )
        contexts = self.embed_contexts(conditioning)
        x = x.to(dtype)
        h = self.project_in((self.preprocess_conv(x) + x).transpose(1, 2))
        h = torch.cat((global_token[:, None], h), dim=1)
        cos_sin = rotary_cos_sin(h.shape[1], self.rotary, h.device)
        hidden = []
        for block in self.blocks:
            h = block(h, t, contexts, cos_sin, hint)
            if return_hidden:
                hidden.append(h)
        out = self.project_out(h[:, 1:]).transpose(1, 2)
        out = self.postprocess_conv(out) + out
        return (out, hidden) if return_hidden else out
