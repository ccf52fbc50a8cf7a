"""Semantic features: CLIP image embeddings of one frame per step.

``ClipEncoder`` wraps transformers' ``CLIPVisionModelWithProjection`` (ViT-B/32 in
the paper, ``openai/clip-vit-base-patch32`` on the hub). The image processor's
work (shortest side to 224, centre crop, normalise) is done without it: the
frame is scaled by FFmpeg straight from the decoded picture (``DecodedFrame.render``,
bicubic like the processor), cropped in numpy and normalised in torch, with the
mean/std read from the model's ``preprocessor_config.json`` when it has one.
(transformers' ``CLIPImageProcessor`` needs torchvision, which cannot be installed
beside this torch, and falls back to a slow PIL path.)

Output: the 512-d projected image embedding (``image_embeds``), NOT L2-normalised.
The paper's features came from ``clip-anytorch``'s ``encode_image``, which returns
the unnormalised projection, and Diff-V2M z-scores them itself before its rhythm
predictor, so raw embeddings are what its conditioners were trained on.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from ..errors import WeightsError

OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def _device(name: str) -> str:
    if name != "auto":
        return name
    return "cuda" if torch.cuda.is_available() else "cpu"


class ClipEncoder:
    """Batched CLIP image encoder: (N, S, S, 3) uint8 RGB crops in, (N, D) float32 embeddings out."""

    def __init__(
        self,
        model: torch.nn.Module,
        *,
        name: str,
        mean: tuple[float, float, float] = OPENAI_CLIP_MEAN,
        std: tuple[float, float, float] = OPENAI_CLIP_STD,
        device: str = "auto",
        batch_size: int = 32,
    ) -> None:
        self.device = _device(device)
        self.model = model.to(self.device).eval()
        self.name = name
        self.batch_size = batch_size
        self.image_size = int(model.config.image_size)
        self.embedding_dim = int(model.config.projection_dim)
        self._mean = torch.tensor(mean, dtype=torch.float32, device=self.device).view(1, 3, 1, 1) * 255.0
        self._std = torch.tensor(std, dtype=torch.float32, device=self.device).view(1, 3, 1, 1) * 255.0
        config_text = json.dumps(model.config.to_dict(), sort_keys=True, default=str)
        weights = hashlib.sha256()
        for tensor in list(model.state_dict().values())[:4]:  # cheap fingerprint of the weights
            weights.update(tensor.detach().float().cpu().numpy().tobytes()[:4096])
        self.identity = f"{name}|{hashlib.sha256(config_text.encode()).hexdigest()[:16]}|{weights.hexdigest()[:16]}"

    @classmethod
    def from_pretrained(
        cls, source: str | Path, *, allow_download: bool = False, device: str = "auto", batch_size: int = 32
    ) -> ClipEncoder:
        """Load from a local folder or a hub id (fetched only when ``allow_download``)."""
        from transformers import CLIPVisionModelWithProjection

        local = Path(source).expanduser()
        name = str(local.resolve()) if local.exists() else str(source)
        try:
            model = CLIPVisionModelWithProjection.from_pretrained(name, local_files_only=not allow_download)
        except (OSError, ValueError) as exc:
            hint = "" if allow_download or local.exists() else " (downloading is off: set DIFFV2M_ALLOW_DOWNLOAD=1)"
            raise WeightsError(f"The CLIP image encoder '{source}' could not be loaded{hint}: {exc}".strip()) from None
        mean, std = _normalisation(name, allow_download)
        return cls(model, name=name, mean=mean, std=std, device=device, batch_size=batch_size)

    @torch.inference_mode()
    def encode(self, images: np.ndarray) -> np.ndarray:
        if images.ndim != 4 or images.shape[1:] != (self.image_size, self.image_size, 3):
            raise ValueError(f"expected (N, {self.image_size}, {self.image_size}, 3) images, got {images.shape}")
        out = []
        for first in range(0, len(images), self.batch_size):
            batch = torch.from_numpy(np.ascontiguousarray(images[first : first + self.batch_size]))
            pixels = batch.to(self.device).permute(0, 3, 1, 2).float()
            pixels = (pixels - self._mean) / self._std
            out.append(self.model(pixel_values=pixels).image_embeds.float().cpu().numpy())
        if not out:
            return np.zeros((0, self.embedding_dim), np.float32)
        return np.concatenate(out).astype(np.float32)


def _normalisation(source: str, allow_download: bool) -> tuple[tuple[float, ...], tuple[float, ...]]:
    from transformers.image_processing_base import ImageProcessingMixin

    try:
        config, _ = ImageProcessingMixin.get_image_processor_dict(source, local_files_only=not allow_download)
        return tuple(config["image_mean"]), tuple(config["image_std"])
    except (OSError, KeyError, ValueError):
        return OPENAI_CLIP_MEAN, OPENAI_CLIP_STD  # the CLIP values every OpenAI checkpoint uses


def tiny_clip_config(projection_dim: int = 512, image_size: int = 224):  # noqa: ANN201 - transformers config
    """A small random-weight CLIP vision config for tests and benchmarks (same input and output shapes)."""
    from transformers import CLIPVisionConfig

    return CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        projection_dim=projection_dim,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=image_size,
        patch_size=32,
    )


def tiny_clip_encoder(seed: int = 0, device: str = "cpu", batch_size: int = 32) -> ClipEncoder:
    from transformers import CLIPVisionModelWithProjection

    torch.manual_seed(seed)
    model = CLIPVisionModelWithProjection(tiny_clip_config())
    return ClipEncoder(model, name=f"tiny-random-clip-seed{seed}", device=device, batch_size=batch_size)
