"""The conditioners: per-second visual features → the token contexts and global vector of the DiT.

Shapes and arithmetic follow the released conditioners:

* semantic: CLIP (T, 512) zero-padded to ``max_length`` → [Linear(512→512) unless equal] → Linear(512→C);
* rhythm: ODF (T, 1) → Linear(1→512) → Linear(512→C), no activation; the predicted ODF goes in as is,
  a ground-truth ODF is first padded and z-scored per sample (padding included);
* colour: histogram (T, 3072) truncated/padded to ``max_length`` → Linear(3072→1024) → Linear(1024→C);
* seconds_start / seconds_total: clamp to [0, 30], /30, NumberEmbedder → (1, C) tokens;
* class: Embedding(3, C), always 2 for the released data.

``VisualConditioner.build`` assembles the DiT conditioning the released way:
the semantic and rhythm contexts get the two seconds tokens appended, the
colour context does not, and the global vector concatenates the seconds and
class embeddings.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from .choices import EMOTION_SOURCES, EmotionSource
from .dit_conditioning import DiTConditioning
from .layers import NumberEmbedder
from .rhythm_predictor import zscore_per_sample


def two_layer(dim_in: int, mid: int, dim_out: int) -> nn.Module:
    """Linear(in→mid) → Linear(mid→out) with no activation; the first is skipped when in == mid (released)."""
    first = nn.Identity() if dim_in == mid else nn.Linear(dim_in, mid)
    return nn.Sequential(first, nn.Linear(mid, dim_out))


@dataclass
class WindowInputs:
    """One batch of conditioner inputs, already padded to ``max_length`` seconds."""

    clip: torch.Tensor  # (B, T, 512) float, zero rows past the valid length
    valid_seconds: torch.Tensor  # (B,) int, number of valid rows
    colour: torch.Tensor  # (B, T, 3072)
    scene_cut: torch.Tensor  # (B, T) int 0/1
    visual_beat: torch.Tensor  # (B, T) float
    seconds_start: torch.Tensor  # (B,) float
    seconds_total: torch.Tensor  # (B,) float
    class_label: torch.Tensor  # (B,) int


@dataclass
class ConditionerOutputs:
    """Everything the conditioners computed for one window (kept for conformance and the API)."""

    semantic_tokens: torch.Tensor
    semantic_mask: torch.Tensor  # float 0/1, as released
    predicted_rhythm: torch.Tensor  # (B, T, out_dim), the rhythm predictor's output
    predicted_rhythm_tokens: torch.Tensor
    colour_tokens: torch.Tensor | None
    colour_mask: torch.Tensor | None
    seconds_start: torch.Tensor  # (B, 1, C)
    seconds_total: torch.Tensor  # (B, 1, C)
    class_embedding: torch.Tensor  # (B, 1, C)
    conditioning: DiTConditioning


class VisualConditioner(ModelMixin, ConfigMixin):
    config_name = "config.json"

    @register_to_config
    def __init__(
        self,
        cond_dim: int = 768,
        max_length: int = 30,
        semantic_dim: int = 512,
        semantic_mid_dim: int = 512,
        rhythm_dim: int = 1,
        rhythm_mid_dim: int = 512,
        colour_dim: int = 3072,
        colour_mid_dim: int = 1024,
        has_colour: bool = True,
        num_classes: int = 3,
        seconds_start_range: tuple[float, float] = (0.0, 30.0),
        seconds_total_range: tuple[float, float] = (0.0, 30.0),
        global_cond_ids: tuple[str, ...] = ("seconds_start", "seconds_total", "class"),
    ) -> None:
        super().__init__()
        self.semantic = two_layer(semantic_dim, semantic_mid_dim, cond_dim)
        self.rhythm = two_layer(rhythm_dim, rhythm_mid_dim, cond_dim)
        self.colour = two_layer(colour_dim, colour_mid_dim, cond_dim) if has_colour else None
        self.class_embedding = nn.Embedding(num_classes, cond_dim)
        self.seconds_start = NumberEmbedder(cond_dim)
        self.seconds_total = NumberEmbedder(cond_dim)

    # --- single conditioners -------------------------------------------------
    def semantic_tokens(self, clip: torch.Tensor) -> torch.Tensor:
        return self.semantic(clip.to(self.dtype))

    def rhythm_tokens(self, rhythm: torch.Tensor) -> torch.Tensor:
        return self.rhythm(rhythm.to(self.dtype))

    def colour_tokens(self, colour: torch.Tensor) -> torch.Tensor:
        if self.colour is None:
            raise ValueError("this model has no colour conditioner")
        return self.colour(colour[:, : self.config.max_length].to(self.dtype))

    def seconds_embedding(self, which: str, seconds: torch.Tensor) -> torch.Tensor:
        lo, hi = self.config.seconds_start_range if which == "seconds_start" else self.config.seconds_total_range
        normalised = (seconds.float().clamp(lo, hi) - lo) / (hi - lo)
        embedder = self.seconds_start if which == "seconds_start" else self.seconds_total
        return embedder(normalised)[:, None]

    def class_tokens(self, class_label: torch.Tensor) -> torch.Tensor:
        label = class_label.long().clamp(0, self.config.num_classes - 1)
        return self.class_embedding(label)[:, None]

    def normalise_rhythm_target(
        self, odf: torch.Tensor, valid_seconds: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A ground-truth per-second rhythm (B, T ≤ max_length, d) → (z-scored padded rhythm, mask).

        Zero padding, then a per-sample z-score over all values padding included
        (block factor 1 for the per-second ODF), as the released RhythmConditioner does.
        """
        padded = F.pad(odf.float(), (0, 0, 0, self.config.max_length - odf.shape[1]))
        return zscore_per_sample(padded), self.length_mask(valid_seconds)

    def length_mask(self, valid_seconds: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(self.config.max_length, device=valid_seconds.device)
        return (positions[None] < valid_seconds[:, None]).float()

    # --- the assembled conditioning -------------------------------------------
    def build(
        self,
        inputs: WindowInputs,
        predicted_rhythm: torch.Tensor,
        emotion_source: EmotionSource,
    ) -> ConditionerOutputs:
        """Tokens, masks and the DiT conditioning for one window, given the predicted rhythm.

        ``emotion_source``: "released" feeds the rhythm context to level 1 (the
        released checkpoint), "colour" the colour tokens (the paper), "none" skips level 1.
        """
        if emotion_source not in EMOTION_SOURCES:
            raise ValueError(f"unknown emotion_source '{emotion_source}'; choose one of {', '.join(EMOTION_SOURCES)}")
        semantic = self.semantic_tokens(inputs.clip)
        mask = self.length_mask(inputs.valid_seconds)
        rhythm = self.rhythm_tokens(predicted_rhythm)
        start = self.seconds_embedding("seconds_start", inputs.seconds_start)
        total = self.seconds_embedding("seconds_total", inputs.seconds_total)
        klass = self.class_tokens(inputs.class_label)
        ones = torch.ones_like(mask[:, :2])
        context_mask = torch.cat((mask, ones), dim=1).bool()
        globals_by_id = {"seconds_start": start, "seconds_total": total, "class": klass}
        rhythm_context = torch.cat((rhythm, start, total), dim=1)
        colour = colour_mask = emotion = emotion_mask = None
        if emotion_source == "colour":
            if self.colour is None:
                raise ValueError("emotion_source 'colour' needs a model with a colour conditioner")
            colour, colour_mask = self.colour_tokens(inputs.colour), mask
            emotion, emotion_mask = colour, mask.bool()  # colour tokens, no seconds tokens (as released)
        elif emotion_source == "released":
            emotion, emotion_mask = rhythm_context, context_mask  # the released wiring (research notes §9)
        conditioning = DiTConditioning(
            semantic=torch.cat((semantic, start, total), dim=1),
            semantic_mask=context_mask,
            rhythm=rhythm_context,
            rhythm_mask=context_mask,
            global_cond=torch.cat([globals_by_id[key] for key in self.config.global_cond_ids], dim=-1)[:, 0],
            emotion=emotion,
            emotion_mask=emotion_mask,
        )
        return ConditionerOutputs(
            semantic_tokens=semantic,
            semantic_mask=mask,
            predicted_rhythm=predicted_rhythm,
            predicted_rhythm_tokens=rhythm,
            colour_tokens=colour,
            colour_mask=colour_mask,
            seconds_start=start,
            seconds_total=total,
            class_embedding=klass,
            conditioning=conditioning,
        )
