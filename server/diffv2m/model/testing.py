"""Tiny random-weight models for tests and demos (here and in the server's API tests).

``write_tiny_weights(folder)`` writes a complete project-format weights folder
(tiny DiT, rhythm predictor, conditioners and Oobleck VAE with the released
30-s window geometry: 44.1 kHz, ratio 2048, 645 latent frames) that
``DiffV2MEngine.from_settings`` loads like real weights. The music it makes is
noise-like; the plumbing is real. ``write_official_checkpoint`` writes an
official-format ``model.ckpt`` + config JSON of any size.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .io.official_config import StackSpec, parse_official_config
from .io.official_export import export_official_config, export_official_state_dict
from .io.pretrained import save_pretrained
from .longform import RangeFeatures
from .stack import DiffV2M


def tiny_spec(
    embed_dim: int = 64,
    depth: int = 2,
    num_heads: int = 2,
    cond_dim: int = 32,
    fusion: str = "film_choose",
    predictor: tuple[int, int, int] = (64, 2, 2),
    vae_channels: int = 4,
    vae_strides: tuple[int, ...] = (2, 4, 4, 8, 8),
    vae_mults: tuple[int, ...] = (1, 2, 4, 8, 16),
    latent_dim: int = 8,
    io_channels: int | None = None,
    latent_length: int | None = None,
    has_colour: bool = True,
) -> StackSpec:
    """Sizes of a tiny stack (defaults: the released window and VAE geometry, a few hundred kB of weights)."""
    io = io_channels or latent_dim
    ratio = 1
    for stride in vae_strides:
        ratio *= stride
    return StackSpec(
        transformer={
            "io_channels": io,
            "embed_dim": embed_dim,
            "depth": depth,
            "num_heads": num_heads,
            "cond_token_dim": cond_dim,
            "project_cond_tokens": False,
            "global_cond_dim": 3 * cond_dim,
            "fusion": fusion,
            "emotion_level": has_colour,
        },
        rhythm_predictor={
            "input_dim": 512,
            "dim": predictor[0],
            "depth": predictor[1],
            "num_heads": predictor[2],
            "out_dim": 1,
            "num_classes": 3,
        },
        conditioner={
            "cond_dim": cond_dim,
            "max_length": 30,
            "has_colour": has_colour,
            "num_classes": 3,
            "global_cond_ids": ["seconds_start", "seconds_total", "class"],
        },
        vae={
            "encoder_hidden_size": vae_channels,
            "downsampling_ratios": list(vae_strides),
            "channel_multiples": list(vae_mults),
            "decoder_channels": vae_channels,
            "decoder_input_channels": latent_dim,
            "audio_channels": 2,
            "sampling_rate": 44100,
            "encoder_latent_channels": 2 * latent_dim,
            "final_tanh": False,
            "latent_scale": 1.0,
        },
        sample_rate=44100,
        latent_length=latent_length or 1323000 // ratio,  # default: the released 30-s window
        audio_channels=2,
        emotion_source="released" if has_colour else "none",
        extras={"rhythm_type": "odf"},
    )


@torch.no_grad()
def random_stack(spec: StackSpec, seed: int = 0, noise: float = 0.05, emotion_source: str | None = None) -> DiffV2M:
    """A stack with the released init plus ``noise`` × N(0, 1) on every weight (so no branch is zero)."""
    torch.manual_seed(seed)
    stack = DiffV2M.from_spec(copy.deepcopy(spec), emotion_source=emotion_source, source=f"random (seed {seed})")
    generator = torch.Generator().manual_seed(seed + 1)
    for module in stack.components.values():
        for _, param in sorted(module.named_parameters()):
            param.add_(noise * torch.randn(param.shape, generator=generator))
    return stack.eval()


def random_range_features(seconds: int, seed: int = 0) -> RangeFeatures:
    """Random per-second model inputs of the right shapes and ranges (CLIP-like vectors, histograms, events)."""
    rng = np.random.default_rng(seed)
    colour = rng.random((seconds, 3072)).astype(np.float32)
    return RangeFeatures(
        clip=(rng.normal(size=(seconds, 512)) * 0.5).astype(np.float32),
        colour=colour / colour.reshape(seconds, 3, 1024).sum(-1).repeat(1024, axis=1),
        scene_cut=(rng.random(seconds) > 0.8).astype(np.float32),
        visual_beat=rng.random(seconds).astype(np.float32),
    )


def write_tiny_clip(folder: str | Path, seed: int = 0) -> Path:
    """A tiny random CLIP vision model (224-px input, 512-d output like ViT-B/32) in transformers' format."""
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(seed)
    config = CLIPVisionConfig(hidden_size=32, intermediate_size=64, projection_dim=512, num_hidden_layers=2,
                              num_attention_heads=2, image_size=224, patch_size=32)  # fmt: skip
    CLIPVisionModelWithProjection(config).save_pretrained(folder)
    return Path(folder)


def write_tiny_weights(
    folder: str | Path, seed: int = 0, emotion_source: str = "released", with_clip: bool = True, **sizes: Any
) -> Path:
    """Write a tiny random-weight model in the project format to ``folder``; returns the folder.

    ``with_clip`` also writes a tiny CLIP to ``folder/clip``, which the engine
    uses when ``DIFFV2M_CLIP`` is not set, so ``Settings(weights=folder)`` is all a test needs.
    """
    stack = random_stack(tiny_spec(**sizes), seed=seed, emotion_source=emotion_source)
    stack.info.source = "tiny random weights (testing)"
    save_pretrained(stack, folder)
    if with_clip:
        write_tiny_clip(Path(folder) / "clip", seed=seed)
    return Path(folder)


def write_official_checkpoint(
    folder: str | Path,
    spec: StackSpec,
    seed: int = 0,
    ema_noise: float = 0.01,
    extractor_keys: bool = True,
) -> tuple[Path, Path, DiffV2M]:
    """An official-format ``model.ckpt`` + ``model_config.json`` for a random stack of ``spec``'s sizes."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stack = random_stack(spec, seed=seed)
    config = export_official_config(stack, extractor_keys=extractor_keys)
    parse_official_config(config)  # what is written must read back
    ckpt, config_path = folder / "model.ckpt", folder / "model_config.json"
    torch.save({"state_dict": export_official_state_dict(stack, ema_noise=ema_noise, seed=seed)}, ckpt)
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    return ckpt, config_path, stack
