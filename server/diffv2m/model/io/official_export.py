"""Write a stack back in the official format (config JSON + Lightning-style ``state_dict``).

The inverse of ``official_checkpoint.load_official``: every key is named and
shaped as the released ``DiffusionCondTrainingWrapper.state_dict()`` names it,
including what the released model carries but never uses (the conditioners'
``proj_out``, zero LayerNorm biases, rotary ``inv_freq`` buffers, the loss
weights, an EMA copy of the DiT). Tests use it to make official-format
checkpoints of any size; users can hand weights trained here to the official code.
"""

from __future__ import annotations

from typing import Any

import torch

from ..stack import DiffV2M
from .official_config import RELEASED_EXTRACTOR
from .official_names import (
    CONDITIONER,
    CONDITIONERS,
    DIT,
    EMA_DIT,
    EXTRACTOR,
    ONLINE_DIT,
    RHYTHM_PREDICTOR,
    VAE,
    KeyTable,
    vae_table,
    zero_norm_bias,
)


def _translate(state: dict[str, torch.Tensor], prefix: str, table: KeyTable) -> dict[str, torch.Tensor]:
    out = {}
    for key, value in state.items():
        name = table.to_released(key)
        if name is None:
            raise KeyError(f"no released name for '{key}'")
        out[prefix + name] = value
        bias = zero_norm_bias(name)
        if bias is not None:
            out[prefix + bias] = torch.zeros_like(value)
    return out


def _inv_freq(rotary_dim: int) -> torch.Tensor:
    return 1.0 / (10000 ** (torch.arange(0, rotary_dim, 2).float() / rotary_dim))


def export_official_state_dict(stack: DiffV2M, ema_noise: float = 0.0, seed: int = 0) -> dict[str, torch.Tensor]:
    """The released training wrapper's ``state_dict`` for ``stack``.

    The EMA copy equals the online DiT plus ``ema_noise`` × N(0, 1) (0: identical),
    so tests can tell which copy a loader picked.
    """
    dit = {k: v.detach().float().cpu() for k, v in stack.transformer.state_dict().items()}
    out = _translate(dit, ONLINE_DIT, DIT)
    out[ONLINE_DIT + "transformer.rotary_pos_emb.inv_freq"] = _inv_freq(stack.transformer.rotary)
    generator = torch.Generator().manual_seed(seed)
    for key, value in list(out.items()):
        if key.startswith(ONLINE_DIT):
            copy = value.clone()
            if ema_noise and value.is_floating_point() and not key.endswith(("norm.beta", "inv_freq")):
                copy += ema_noise * torch.randn(value.shape, generator=generator)
            out[EMA_DIT + key[len(ONLINE_DIT) :]] = copy
    out["diffusion_ema.initted"] = torch.ones(1)
    out["diffusion_ema.step"] = torch.tensor([1000])

    predictor = {k: v.detach().float().cpu() for k, v in stack.rhythm_predictor.state_dict().items()}
    out.update(_translate(predictor, EXTRACTOR, RHYTHM_PREDICTOR))
    out[EXTRACTOR + "transformer.rotary_pos_emb.inv_freq"] = _inv_freq(stack.rhythm_predictor.rotary)

    conditioner = stack.conditioner
    out.update(
        _translate(
            {k: v.detach().float().cpu() for k, v in conditioner.state_dict().items()},
            CONDITIONERS,
            CONDITIONER,
        )
    )
    cfg = conditioner.config
    unused = {"semantic": cfg.semantic_dim, "rhythm": cfg.rhythm_dim}
    if cfg.has_colour:
        unused["color"] = cfg.colour_dim
    for name, dim in unused.items():  # the released base-class proj_out, never called
        if dim != cfg.cond_dim:
            out[f"{CONDITIONERS}{name}.proj_out.weight"] = torch.randn(cfg.cond_dim, dim, generator=generator) * 0.02
            out[f"{CONDITIONERS}{name}.proj_out.bias"] = torch.zeros(cfg.cond_dim)

    vae = {k: v.detach().float().cpu() for k, v in stack.vae.state_dict().items()}
    vae = {k: v.reshape(-1) if k.endswith((".alpha", ".beta")) else v for k, v in vae.items()}
    out.update(_translate(vae, VAE, vae_table(len(stack.vae.config.downsampling_ratios))))
    out["losses.losses.0.weight"] = torch.tensor(1.0)
    out["losses.losses.1.weight"] = torch.tensor(1.0)
    return out


def export_official_config(stack: DiffV2M, extractor_keys: bool = True) -> dict[str, Any]:
    """An official-format config JSON (``model_config_odf.json`` layout) describing ``stack``."""
    dit, predictor, cond, vae = (
        m.config for m in (stack.transformer, stack.rhythm_predictor, stack.conditioner, stack.vae)
    )
    official_fusion = {
        "film_choose": "FiLM_choose",
        "film_sum": "FiLM",
        "choose": "choose",
        "gate": "gate",
        "prefilm": "preFiLM",
        "prefilm_gate": "preFiLM_gate",
        "semantic_only": "none",
        "mean": "mean",
    }[dit.fusion]
    semantic: dict[str, Any] = {
        "dim": cond.semantic_dim,
        "max_length": cond.max_length,
        "rhythm_type": stack.info.extras.get("rhythm_type", "odf"),
    }
    sizes = {
        "extractor_dim": predictor.dim,
        "extractor_depth": predictor.depth,
        "extractor_num_heads": predictor.num_heads,
    }
    if extractor_keys:
        semantic.update(sizes)
    elif sizes != RELEASED_EXTRACTOR:
        raise ValueError("a rhythm predictor of non-released size needs the extractor_* keys")
    oobleck = {"c_mults": list(vae.channel_multiples), "strides": list(vae.downsampling_ratios), "use_snake": True}
    latent = vae.decoder_input_channels
    configs = [
        {"id": "semantic", "type": "semantic", "config": semantic},
        {"id": "rhythm", "type": "rhythm", "config": {"dim": cond.rhythm_dim, "max_length": cond.max_length}},
        {"id": "class", "type": "int", "config": {"min_val": 0, "max_val": cond.num_classes - 1}},
        {
            "id": "seconds_start",
            "type": "number",
            "config": {"min_val": cond.seconds_start_range[0], "max_val": cond.seconds_start_range[1]},
        },
        {
            "id": "seconds_total",
            "type": "number",
            "config": {"min_val": cond.seconds_total_range[0], "max_val": cond.seconds_total_range[1]},
        },
    ]
    cross_ids = ["semantic", "rhythm", "seconds_start", "seconds_total"]
    if cond.has_colour:
        configs.insert(
            2, {"id": "color", "type": "color", "config": {"dim": cond.colour_dim, "max_length": cond.max_length}}
        )
        cross_ids.append("color")
    return {
        "model_type": "diffusion_cond",
        "sample_size": stack.latent_length * stack.downsampling_ratio,
        "sample_rate": stack.sample_rate,
        "audio_channels": vae.audio_channels,
        "model": {
            "pretransform": {
                "type": "autoencoder",
                "iterate_batch": True,
                "scale": vae.latent_scale,
                "config": {
                    "encoder": {
                        "type": "oobleck",
                        "requires_grad": False,
                        "config": {
                            "in_channels": vae.audio_channels,
                            "channels": vae.encoder_hidden_size,
                            "latent_dim": vae.encoder_latent_channels or 2 * latent,
                            **oobleck,
                        },
                    },
                    "decoder": {
                        "type": "oobleck",
                        "config": {
                            "out_channels": vae.audio_channels,
                            "channels": vae.decoder_channels,
                            "latent_dim": latent,
                            "final_tanh": vae.final_tanh,
                            **oobleck,
                        },
                    },
                    "bottleneck": {"type": "vae"},
                    "latent_dim": latent,
                    "downsampling_ratio": stack.downsampling_ratio,
                    "io_channels": vae.audio_channels,
                },
            },
            "conditioning": {"configs": configs, "cond_dim": cond.cond_dim},
            "diffusion": {
                "cross_attention_cond_ids": cross_ids,
                "global_cond_ids": list(cond.global_cond_ids),
                "type": "dit",
                "config": {
                    "io_channels": dit.io_channels,
                    "embed_dim": dit.embed_dim,
                    "depth": dit.depth,
                    "num_heads": dit.num_heads,
                    "cond_token_dim": dit.cond_token_dim,
                    "global_cond_dim": dit.global_cond_dim,
                    "project_cond_tokens": dit.project_cond_tokens,
                    "transformer_type": "continuous_transformer",
                    "attention_weight_type": official_fusion,
                },
            },
            "io_channels": dit.io_channels,
        },
    }
