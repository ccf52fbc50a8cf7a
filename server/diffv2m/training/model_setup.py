"""The stack a run trains: fresh (the paper: DiT and conditioners from scratch, VAE frozen) or loaded.

All model code is the model package's (``diffv2m.model``); this module only
chooses sizes, finds the frozen VAE and checks it is the one that made the
prepared latents (a fingerprint of its weights is stored by ``prepare``).
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import torch

from ..errors import InputError, WeightsError
from ..model.stack import DiffV2M
from ..model.vae import DiffV2MAutoencoder
from .config import ModelConfig

# The released architecture (research notes §3): DiT 1536 wide, 24 blocks of 24 heads, 768-d tokens;
# rhythm predictor 512 wide, 12 blocks, 8 heads; Stable Audio Open's Oobleck VAE (128 channels, 64-d latents).
RELEASED_SIZES = {
    "embed_dim": 1536,
    "depth": 24,
    "num_heads": 24,
    "cond_dim": 768,
    "predictor": (512, 12, 8),
    "vae_channels": 128,
    "latent_dim": 64,
}


def vae_fingerprint(vae: torch.nn.Module) -> str:
    """Identifies VAE weights: latents made by one VAE must not train a model that decodes with another."""
    digest = hashlib.sha256(json.dumps(dict(vae.config), sort_keys=True, default=str).encode())
    for name, tensor in sorted(vae.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().numpy().tobytes()[:8192])
    return digest.hexdigest()[:20]


def load_vae(source: str, allow_download: bool = False) -> DiffV2MAutoencoder:
    """The frozen VAE from a project weights folder, an official checkpoint or an Oobleck folder
    (``config.json`` + safetensors, e.g. the ``vae/`` folder of Stable Audio Open in diffusers' layout)."""
    path = Path(source).expanduser()
    if path.is_dir() and (path / "config.json").is_file() and not (path / "diffv2m.json").is_file():
        try:
            vae = DiffV2MAutoencoder.from_pretrained(str(path))
        except (OSError, ValueError, RuntimeError) as exc:
            raise WeightsError(f"The VAE folder {path} could not be loaded: {exc}.") from exc
        return vae.eval().requires_grad_(False)
    from ..model.io.loading import load_weights

    return load_weights(source, allow_download=allow_download).vae.eval().requires_grad_(False)


def _fresh_stack(model: ModelConfig) -> DiffV2M:
    from ..model.testing import tiny_spec

    if model.size == "tiny":
        spec = tiny_spec(**model.tiny)
    elif model.size == "released":
        spec = tiny_spec(**RELEASED_SIZES)  # a size builder: every size is given here
    else:
        from ..model.io.official_checkpoint import read_official_config

        path = Path(model.size)
        if not path.is_file():
            raise InputError(f"model.size must be 'released', 'tiny' or an official config JSON; {path} is none.")
        _, spec = read_official_config(path)
    spec = copy.deepcopy(spec)
    for component, values in model.overrides.items():
        arguments = getattr(spec, component, None)
        if not isinstance(arguments, dict):
            raise InputError(f"model.overrides.{component} names no model component.")
        arguments.update(values)
    return DiffV2M.from_spec(spec, emotion_source=model.emotion_source, source="trained from scratch")


def build_stack(model: ModelConfig, prepared_vae: str | None, allow_download: bool = False) -> DiffV2M:
    """The stack to train, its VAE frozen and matching the prepared latents (``prepared_vae`` fingerprint)."""
    if model.init == "scratch":
        stack = _fresh_stack(model)
        if model.vae is None:
            raise InputError("Training from scratch needs model.vae: the frozen VAE the prepared latents came from.")
        vae = load_vae(model.vae, allow_download)
        if dict(vae.config) != dict(stack.vae.config):
            stack.vae = vae  # the VAE decides the latent geometry; the DiT's io width must match it
        else:
            stack.vae.load_state_dict(vae.state_dict())
    else:
        from ..model.io.loading import load_weights

        stack = load_weights(
            model.init, allow_download=allow_download, use_ema=model.use_ema_init, emotion_source=model.emotion_source
        )
    stack.vae.eval().requires_grad_(False)
    for trainable in (stack.transformer, stack.rhythm_predictor, stack.conditioner):
        trainable.requires_grad_(True)  # loaded stacks come frozen for inference
    latent_width = stack.vae.config.decoder_input_channels
    if stack.transformer.config.io_channels != latent_width:
        raise InputError(
            f"The DiT works on {stack.transformer.config.io_channels}-channel latents but the VAE makes {latent_width}."
        )
    if prepared_vae is not None and vae_fingerprint(stack.vae) != prepared_vae:
        raise InputError("The prepared latents were made by a different VAE than this model's; prepare again.")
    stack.info.emotion_source = model.emotion_source
    return stack
