"""The rhythm predictor: per-second CLIP features + scene cuts + visual beats → a per-second ODF.

As released (``RhythmExtractor``): the raw CLIP features of the window (zero
padded to ``max_length``) are z-scored per sample over all values, padding
included (unbiased std + 1e-6); the scene-cut embedding and a small MLP of the
visual-beat strength are added; a class token is prepended; a bidirectional
pre-LN transformer with partial rotary embeddings runs over all positions (no
padding mask); a linear head gives ``out_dim`` values per second (1 for the
ODF) and the class position is dropped.
"""

from __future__ import annotations

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from .layers import TransformerEncoderBlock, rotary_cos_sin, rotary_dim_for

RHYTHM_OUT_DIMS = {"odf": 1, "mel": 16, "tempo": 16, "chroma": 12}


def zscore_per_sample(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """(x − mean) / (std + eps) over every axis but the batch (the released ``normalize_tensor``)."""
    dims = tuple(range(1, x.ndim))
    return (x - x.mean(dim=dims, keepdim=True)) / (x.std(dim=dims, keepdim=True) + eps)


class RhythmPredictor(ModelMixin, ConfigMixin):
    config_name = "config.json"

    @register_to_config
    def __init__(
        self,
        input_dim: int = 512,
        dim: int = 512,
        depth: int = 12,
        num_heads: int = 8,
        out_dim: int = 1,
        num_classes: int = 3,
        beat_hidden: int = 128,
        rotary_dim: int | None = None,
    ) -> None:
        super().__init__()
        head_dim = dim // num_heads
        if head_dim * num_heads != dim:
            raise ValueError(f"rhythm predictor dim {dim} is not a multiple of num_heads {num_heads}")
        self.rotary = rotary_dim or rotary_dim_for(head_dim)
        if self.rotary > head_dim:
            raise ValueError(f"rhythm predictor rotary_dim {self.rotary} exceeds its head dim {head_dim}")
        self.class_embedding = nn.Embedding(num_classes, input_dim)
        self.scene_embedding = nn.Embedding(2, input_dim)
        self.beat_mlp = nn.Sequential(nn.Linear(1, beat_hidden), nn.ReLU(), nn.Linear(beat_hidden, input_dim))
        self.project_in = nn.Linear(input_dim, dim, bias=False)
        self.blocks = nn.ModuleList(TransformerEncoderBlock(dim, head_dim) for _ in range(depth))
        self.project_out = nn.Linear(dim, out_dim, bias=False)
        with torch.no_grad():  # the released zero-initialised branch outputs
            for block in self.blocks:
                block.self_attn.to_out.weight.zero_()
                block.ff.ff[1].weight.zero_()
                block.ff.ff[1].bias.zero_()

    def transformer_input(
        self,
        clip: torch.Tensor,
        class_label: torch.Tensor,
        scene_cut: torch.Tensor | None = None,
        visual_beat: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(B, 1 + T, input_dim): class token, then normalised CLIP + scene + beat embeddings."""
        dtype = self.project_in.weight.dtype
        x = zscore_per_sample(clip.float()).to(dtype)
        if scene_cut is not None and visual_beat is not None:
            x = x + self.scene_embedding(scene_cut.long()) + self.beat_mlp(visual_beat[..., None].to(dtype))
        return torch.cat((self.class_embedding(class_label.long())[:, None], x), dim=1)

    def forward(
        self,
        clip: torch.Tensor,
        class_label: torch.Tensor,
        scene_cut: torch.Tensor | None = None,
        visual_beat: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Predicted per-second rhythm (B, T, out_dim) from zero-padded (B, T, input_dim) CLIP features."""
        h = self.project_in(self.transformer_input(clip, class_label, scene_cut, visual_beat))
        cos_sin = rotary_cos_sin(h.shape[1], self.rotary, h.device)
        for block in self.blocks:
            h = block(h, cos_sin)
        return self.project_out(h)[:, 1:]
