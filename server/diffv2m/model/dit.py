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

A sampling run calls ``prepare(conditioning)`` once (context embeddings,
every block's K/V, the global embedding; with CFG the unconditional half's
exact cross-attention outputs) and ``prepare_times(schedule)`` once (timestep
embedding, FiLM γ/β per step), then ``denoise`` at every step; ``forward``
does all three for one call (see dit_constants.py).
"""

from __future__ import annotations

from dataclasses import replace

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from .dit_conditioning import DiTConditioning
from .dit_constants import BlockInputs, Context, RunConstants, StepConstants
from .fusion import SWITCH_T, BranchHint, FusionStep, build_fusion
from .layers import (
    AttentionInputs,
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

    def inputs(self, semantic: Context, rhythm: Context, emotion: Context | None) -> BlockInputs:
        """This block's cross-attention K/V for a run (level 2 only where the contexts do not change with t)."""

        def level2(attn: CrossAttention, context: Context) -> AttentionInputs | None:
            return None if self.fusion.modulates_contexts else attn.inputs(context.tokens, context.mask, context.null)

        return BlockInputs(
            emotion=None if emotion is None else self.emotion_attn.inputs(emotion.tokens, emotion.mask, emotion.null),
            semantic=level2(self.semantic_attn, semantic),
            rhythm=level2(self.rhythm_attn, rhythm),
        )

    def forward(
        self, x: torch.Tensor, step: FusionStep, inputs: BlockInputs, cos_sin: torch.Tensor, hint: BranchHint
    ) -> torch.Tensor:
        """``x`` is the residual stream (float32 or the weights' dtype); every sublayer reads it in the weights'
        dtype and its output is added back in the stream's."""
        compute = self.ff_norm.gamma.dtype
        x = x + self.self_attn(self.self_attn_norm(x).to(compute), cos_sin)
        x = self.level1_norm(x)
        if inputs.emotion is not None:
            x = x + self.emotion_attn.attend(x.to(compute), inputs.emotion)
            x = self.level2_norm(x)
        need_sem, need_rhy = self.fusion.needs(hint)
        query = x.to(compute)
        h_sem = self.semantic_attn.attend(query, inputs.semantic) if need_sem else None
        h_rhy = self.rhythm_attn.attend(query, inputs.rhythm) if need_rhy else None
        x = x + self.fusion.combine(step, h_sem, h_rhy, hint)
        return x + self.ff(self.ff_norm(x).to(compute))


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
        # None: the residual stream runs in the weights' dtype; float32: an fp32 stream around bf16 matmul inputs
        # (``acceleration.PRECISIONS``). A runtime choice, not part of the saved config.
        self.residual_dtype: torch.dtype | None = None
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

    def prepare(self, conditioning: DiTConditioning, with_null: bool = False) -> RunConstants:
        """The per-run constants for ``conditioning`` (B rows).

        ``with_null`` appends B rows of the released CFG null condition (every
        context zeroed, the same masks and global vector): their
        cross-attentions are known exactly and never computed.
        """
        dtype = self.project_in.weight.dtype

        def context(tokens: torch.Tensor, mask: torch.Tensor | None) -> Context:
            null = None
            if with_null:  # computed, not assumed: bias-free linears around SiLU(0) = 0 map zeros to zeros
                null = self.to_cond_embed(tokens.new_zeros(tokens.shape[0], 1, tokens.shape[-1]).to(dtype))
            mask = None if mask is None else mask.bool()[:, None, None, :]
            return Context(self.to_cond_embed(tokens.to(dtype)), mask, null)

        use_emotion = self.config.emotion_level and conditioning.emotion is not None
        semantic = context(conditioning.semantic, conditioning.semantic_mask)
        rhythm = context(conditioning.rhythm, conditioning.rhythm_mask)
        emotion = context(conditioning.emotion, conditioning.emotion_mask) if use_emotion else None
        global_embed = self.to_global_embed(conditioning.global_cond.to(dtype))
        if with_null:
            global_embed = torch.cat((global_embed, global_embed))
        blocks = [block.inputs(semantic, rhythm, emotion) for block in self.blocks]
        return RunConstants(global_embed, semantic, rhythm, emotion, blocks)

    def prepare_times(self, t: torch.Tensor) -> StepConstants:
        """The per-step constants for times ``t`` (S,): a whole schedule at once, or one time per sample.

        ``t`` stays float32 for the timestep features and the fusion even when
        the weights are bf16/fp16 (the hard switch compares raw t to 0.2).
        """
        t = t.float()
        embed = self.to_timestep_embed(self.timestep_features(t).to(self.project_in.weight.dtype))
        return StepConstants(embed, [block.fusion.step(t) for block in self.blocks])

    def forward(
        self,
        x: torch.Tensor,
        t: torch.Tensor,
        conditioning: DiTConditioning,
        hint: BranchHint = None,
        return_hidden: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """v-prediction for latents ``x`` (B, C, L) at diffusion times ``t`` (B,) in [0, 1].

        Prepares the run and the times for this one call: the plain path (a
        sampler prepares once and calls ``denoise``). ``return_hidden`` also
        returns every block's output (global token at row 0).
        """
        return self.denoise(x, self.prepare_times(t), self.prepare(conditioning), hint, return_hidden)

    def denoise(
        self,
        x: torch.Tensor,
        step: StepConstants,
        run: RunConstants,
        hint: BranchHint = None,
        return_hidden: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """v-prediction for ``x`` (B, C, L) with a prepared run and times (one row, or one per sample)."""
        dtype = self.project_in.weight.dtype
        stream = self.residual_dtype or dtype
        global_token = run.global_embed + step.timestep_embed
        x = x.to(dtype)
        h = self.project_in((self.preprocess_conv(x) + x).transpose(1, 2))
        h = torch.cat((global_token[:, None], h), dim=1).to(stream)
        cos_sin = rotary_cos_sin(h.shape[1], self.rotary, h.device)
        chain = _ContextChain(run) if self.blocks and self.blocks[0].fusion.modulates_contexts else None
        hidden = []
        for block, inputs, block_step in zip(self.blocks, run.blocks, step.fusion, strict=True):
            if chain is not None:
                inputs = chain.advance(block, block_step, inputs)
            h = block(h, block_step, inputs, cos_sin, hint)
            if return_hidden:
                hidden.append(h)
        out = self.project_out(h[:, 1:].to(dtype)).transpose(1, 2)
        out = self.postprocess_conv(out) + out
        return (out, hidden) if return_hidden else out


class _ContextChain:
    """Pre-attention FiLM: each block modulates the contexts the block before it modulated (as released), so
    their K/V are made per step, for the conditional rows and for the null rows' single token alike."""

    def __init__(self, run: RunConstants) -> None:
        self.cond_rows = run.batch_size - run.null_rows
        self.run = run
        self.semantic, self.rhythm = run.semantic.tokens, run.rhythm.tokens
        self.null_semantic, self.null_rhythm = run.semantic.null, run.rhythm.null

    def advance(self, block: HierarchicalBlock, step: FusionStep, inputs: BlockInputs) -> BlockInputs:
        fusion, run = block.fusion, self.run
        self.semantic, self.rhythm = fusion.modulate_contexts(
            step.rows(slice(None, self.cond_rows)), self.semantic, self.rhythm
        )
        if self.null_semantic is not None:
            self.null_semantic, self.null_rhythm = fusion.modulate_contexts(
                step.rows(slice(self.cond_rows, None)), self.null_semantic, self.null_rhythm
            )
        return replace(
            inputs,
            semantic=block.semantic_attn.inputs(self.semantic, run.semantic.mask, self.null_semantic),
            rhythm=block.rhythm_attn.inputs(self.rhythm, run.rhythm.mask, self.null_rhythm),
        )
