"""One training forward pass: the paper's joint objective (research notes §2.5, §3.5, §5).

    rhythm predictor(CLIP, cuts, beats) ─► ODF ─► masked MSE against the audio's ODF
    conditioning: per sample, the ground-truth rhythm with probability p_real(epoch),
                  else the predicted one, encoded under no_grad (the diffusion loss
                  never reaches the predictor: it learns from its own MSE only)
    CFG dropout:  each context (semantic, rhythm, level 1) zeroed for 10 % of samples, independently
    DiT:          v-objective MSE at t ~ U[0, 1)

Every random number of a step is drawn up front from the trainer's generator
(``StepDraws``), so a resumed run replays a stopped one exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn

from ..model.dit_conditioning import DiTConditioning
from ..model.stack import RELEASED_CLASS, DiffV2M
from ..model.visual_conditioner import WindowInputs
from .losses import diffuse, masked_rhythm_loss, v_loss


@dataclass
class StepDraws:
    t: torch.Tensor  # (B,) diffusion times in [0, 1)
    noise: torch.Tensor  # (B, C, L) the diffusion noise
    latent_noise: torch.Tensor  # (B, C, L) samples the VAE posterior: z = mean + std * latent_noise
    use_real: torch.Tensor  # (B,) bool: condition on the ground-truth rhythm
    drop: torch.Tensor  # (3, B) bool: zero the semantic / rhythm / level-1 context

    @classmethod
    def draw(
        cls, generator: torch.Generator, batch: int, latent_shape: tuple[int, int], p_real: float, cfg_dropout: float
    ) -> StepDraws:
        def uniform(*shape: int) -> torch.Tensor:
            return torch.rand(shape, generator=generator)

        return cls(
            t=uniform(batch),
            noise=torch.randn((batch, *latent_shape), generator=generator),
            latent_noise=torch.randn((batch, *latent_shape), generator=generator),
            use_real=uniform(batch) < p_real,
            drop=uniform(3, batch) < cfg_dropout,
        )

    def to(self, device: torch.device) -> StepDraws:
        return StepDraws(*(value.to(device) for value in self.__dict__.values()))


def window_inputs(batch: dict[str, torch.Tensor]) -> WindowInputs:
    size = batch["clip"].shape[0]
    device = batch["clip"].device
    return WindowInputs(
        clip=batch["clip"],
        valid_seconds=batch["valid_seconds"],
        colour=batch["colour"],
        scene_cut=batch["scene_cut"],
        visual_beat=batch["visual_beat"],
        seconds_start=torch.zeros(size, device=device),
        seconds_total=batch["seconds_total"],
        class_label=torch.full((size,), RELEASED_CLASS, dtype=torch.long, device=device),
    )


def _pick(mask: torch.Tensor, when_true: torch.Tensor | None, when_false: torch.Tensor | None) -> torch.Tensor | None:
    if when_true is None or when_false is None:
        return when_true
    return torch.where(mask.view(-1, *([1] * (when_true.ndim - 1))), when_true, when_false)


def _zero(drop: torch.Tensor, tokens: torch.Tensor | None) -> torch.Tensor | None:
    if tokens is None:
        return None
    return tokens * (~drop).view(-1, 1, 1).to(tokens.dtype)


def mix_and_drop(
    real: DiTConditioning, predicted: DiTConditioning, use_real: torch.Tensor, drop: torch.Tensor, released: bool
) -> DiTConditioning:
    """Per-sample rhythm selection, then independent per-context CFG dropout (zeroed tokens, masks kept)."""
    rhythm = _pick(use_real, real.rhythm, predicted.rhythm)
    # In the released wiring level 1 attends to the rhythm context, so it follows the same choice.
    emotion = rhythm if released else real.emotion
    return replace(
        real,
        semantic=_zero(drop[0], real.semantic),
        rhythm=_zero(drop[1], rhythm),
        emotion=_zero(drop[2], emotion),
    )


class TrainingModule(nn.Module):
    """The trainable components and the joint loss (this is what DDP wraps)."""

    def __init__(self, stack: DiffV2M, emotion_source: str, rhythm_weight: float = 1.0) -> None:
        super().__init__()
        self.transformer = stack.transformer
        self.rhythm_predictor = stack.rhythm_predictor
        self.conditioner = stack.conditioner
        self.emotion_source = emotion_source
        self.rhythm_weight = rhythm_weight

    def forward(
        self, batch: dict[str, torch.Tensor], latents: torch.Tensor, draws: StepDraws
    ) -> dict[str, torch.Tensor]:
        inputs = window_inputs(batch)
        predicted_rhythm = self.rhythm_predictor(inputs.clip, inputs.class_label, inputs.scene_cut, inputs.visual_beat)
        target, mask = self.conditioner.normalise_rhythm_target(batch["rhythm"], inputs.valid_seconds)
        rhythm_loss = masked_rhythm_loss(predicted_rhythm, target, mask)

        real = self.conditioner.build(inputs, target, self.emotion_source).conditioning
        with torch.no_grad():
            predicted = self.conditioner.build(inputs, predicted_rhythm.detach(), self.emotion_source).conditioning
        conditioning = mix_and_drop(real, predicted, draws.use_real, draws.drop, self.emotion_source == "released")

        noised, target_v = diffuse(latents, draws.noise, draws.t)
        velocity = self.transformer(noised, draws.t, conditioning)
        diffusion_loss = v_loss(velocity, target_v)
        total = diffusion_loss + self.rhythm_weight * rhythm_loss
        return {"loss": total, "diffusion_loss": diffusion_loss, "rhythm_loss": rhythm_loss}
