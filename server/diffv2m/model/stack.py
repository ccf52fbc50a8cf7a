"""``DiffV2M``: the whole model stack behind one object.

    per-second features ─► rhythm predictor ─► conditioners ─► DiT + sampler ─► Oobleck decoder ─► audio

It owns the four components (each a diffusers ``ModelMixin``), the window
geometry (latent frames per window, sample rate) and which context feeds
level 1 (``emotion_source``). Save/load: ``pretrained.py``; the official
checkpoint: ``official_checkpoint.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from .choices import EMOTION_SOURCES
from .dit import DiffV2MTransformer
from .dit_conditioning import DiTConditioning
from .guidance import GuidedVelocity
from .io.official_config import StackSpec
from .rhythm_predictor import RhythmPredictor
from .samplers import Inpainting, StepCallback, run_sampler
from .vae import DiffV2MAutoencoder
from .visual_conditioner import ConditionerOutputs, VisualConditioner, WindowInputs

RELEASED_GUIDANCE = 3.0
RELEASED_CLASS = 2  # every released dataset uses class label 2


@dataclass
class StackInfo:
    """Stack-level facts saved with the weights (``diffv2m.json``)."""

    sample_rate: int = 44100
    latent_length: int = 645  # latent frames per window
    emotion_source: str = "colour"  # new training: the paper's design
    default_guidance: float = RELEASED_GUIDANCE
    class_label: int = RELEASED_CLASS
    source: str = ""  # where the weights came from (for results and /health)
    extras: dict[str, Any] = field(default_factory=dict)


class DiffV2M:
    def __init__(
        self,
        transformer: DiffV2MTransformer,
        rhythm_predictor: RhythmPredictor,
        conditioner: VisualConditioner,
        vae: DiffV2MAutoencoder,
        info: StackInfo,
    ) -> None:
        if info.emotion_source not in EMOTION_SOURCES:
            raise ValueError(f"unknown emotion_source '{info.emotion_source}'")
        self.transformer = transformer
        self.rhythm_predictor = rhythm_predictor
        self.conditioner = conditioner
        self.vae = vae
        self.info = info

    @classmethod
    def from_spec(cls, spec: StackSpec, emotion_source: str | None = None, source: str = "") -> DiffV2M:
        """A freshly initialised stack (the released init) with the sizes of ``spec``, on the CPU."""
        info = StackInfo(
            sample_rate=spec.sample_rate,
            latent_length=spec.latent_length,
            emotion_source=emotion_source or spec.emotion_source,
            source=source,
            extras=dict(spec.extras),
        )
        return cls(
            DiffV2MTransformer(**spec.transformer),
            RhythmPredictor(**spec.rhythm_predictor),
            VisualConditioner(**spec.conditioner),
            DiffV2MAutoencoder(**spec.vae),
            info,
        )

    # --- geometry ------------------------------------------------------------
    @property
    def components(self) -> dict[str, torch.nn.Module]:
        return {
            "transformer": self.transformer,
            "rhythm_predictor": self.rhythm_predictor,
            "conditioner": self.conditioner,
            "vae": self.vae,
        }

    @property
    def sample_rate(self) -> int:
        return self.info.sample_rate

    @property
    def downsampling_ratio(self) -> int:
        return self.vae.downsampling_ratio

    @property
    def latent_length(self) -> int:
        return self.info.latent_length

    @property
    def window_seconds(self) -> float:
        """Audio one window yields (29.95 s for the released model: 645 × 2048 samples)."""
        return self.latent_length * self.downsampling_ratio / self.sample_rate

    @property
    def max_seconds(self) -> int:
        """Per-second tokens one window takes (30)."""
        return self.conditioner.config.max_length

    @property
    def device(self) -> torch.device:
        return self.transformer.device

    def to(self, device: torch.device | str, dit_dtype: torch.dtype = torch.float32) -> DiffV2M:
        """Move everything; only the DiT changes dtype (the rest is small and stays float32), and its
        ``fp32_modules`` stay float32 too."""
        for module, dtype in (
            (self.transformer, dit_dtype),
            (self.rhythm_predictor, torch.float32),
            (self.conditioner, torch.float32),
            (self.vae, torch.float32),
        ):
            module.to(device)
            if module.dtype != dtype:
                module.to(dtype)
                for name in getattr(module, "fp32_modules", ()):
                    getattr(module, name).float()  # e.g. the timestep frequencies: bf16 would smear 2πtW
        return self

    def eval(self) -> DiffV2M:
        for module in self.components.values():
            module.eval().requires_grad_(False)
        return self

    # --- conditioning ---------------------------------------------------------
    @torch.no_grad()
    def condition(
        self, inputs: WindowInputs, emotion_source: str | None = None, rhythm_gain: float = 1.0
    ) -> ConditionerOutputs:
        """Predict the rhythm and build the DiT conditioning for a batch of windows.

        ``rhythm_gain`` scales the predicted ODF before it is encoded (an
        intensity knob the released model does see: its rhythm tokens feed
        both the level-1 and the level-2 rhythm cross-attention).
        """
        odf = self.rhythm_predictor(inputs.clip, inputs.class_label, inputs.scene_cut, inputs.visual_beat)
        return self.conditioner.build(inputs, odf * rhythm_gain, emotion_source or self.info.emotion_source)

    # --- generation -----------------------------------------------------------
    @torch.no_grad()
    def sample(
        self,
        conditioning: DiTConditioning,
        noise: torch.Tensor,
        sampler: str = "dpmpp-2m",
        steps: int | None = None,
        guidance: float | None = None,
        on_step: StepCallback | None = None,
        inpaint: Inpainting | None = None,
    ) -> torch.Tensor:
        """A clean latent (B, C, L) from ``noise`` (float32, on the model's device)."""
        scale = self.info.default_guidance if guidance is None else guidance
        velocity = GuidedVelocity(self.transformer, conditioning, scale)
        return run_sampler(sampler, velocity, noise, steps, self.transformer.hard_switch_t, on_step, inpaint)

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Latents (B, C, L) → audio (B, channels, L × ratio), float32."""
        return self.vae.decode_latents(latents).float()

    @torch.no_grad()
    def encode(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Audio (B, channels, samples) → latent mean and stdev."""
        return self.vae.encode_moments(audio)
