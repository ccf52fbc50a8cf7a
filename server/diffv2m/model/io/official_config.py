"""Read the official config JSON (``model_config_odf.json`` format) into our components' settings.

Every size comes from the config: DiT width/depth/heads/token and global
dims, the fusion variant, the conditioners' dims and max length, the rhythm
type, the optional ``extractor_*`` sizes of the rhythm predictor (absent: the
released 512/12/8), the Oobleck VAE's channels/multipliers/strides/latent dims,
sample rate and window. The loader then checks them against the weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..fusion import fusion_from_official
from ..rhythm_predictor import RHYTHM_OUT_DIMS

RELEASED_EXTRACTOR = {"extractor_dim": 512, "extractor_depth": 12, "extractor_num_heads": 8}


class ConfigProblem(ValueError):
    """The config cannot describe a model this package runs; the message says why (one clause)."""


@dataclass
class StackSpec:
    """Constructor arguments of each component plus the stack-level facts."""

    transformer: dict[str, Any]
    rhythm_predictor: dict[str, Any]
    conditioner: dict[str, Any]
    vae: dict[str, Any]
    sample_rate: int
    latent_length: int  # latent frames per window (sample_size // downsampling ratio)
    audio_channels: int
    emotion_source: str  # the released checkpoint's default ("released", or "none" without a colour context)
    extras: dict[str, Any] = field(default_factory=dict)


def _get(tree: dict[str, Any], path: str) -> Any:
    node: Any = tree
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ConfigProblem(f"it has no '{path}'")
        node = node[part]
    return node


def _vae_spec(pretransform: dict[str, Any], sample_rate: int) -> dict[str, Any]:
    if pretransform.get("type") != "autoencoder":
        raise ConfigProblem(f"its pretransform type '{pretransform.get('type')}' is not an autoencoder")
    cfg = _get(pretransform, "config")
    encoder, decoder = _get(cfg, "encoder"), _get(cfg, "decoder")
    for side in (encoder, decoder):
        if side.get("type") != "oobleck":
            raise ConfigProblem(f"its VAE {side.get('type')} is not an Oobleck autoencoder")
        if not side.get("config", {}).get("use_snake", False) or side["config"].get("antialias_activation"):
            raise ConfigProblem("its VAE does not use plain SnakeBeta activations (all diffusers' Oobleck has)")
        if side["config"].get("use_nearest_upsample"):
            raise ConfigProblem("its VAE decoder uses nearest upsampling, which diffusers' Oobleck lacks")
    enc, dec = encoder["config"], decoder["config"]
    if list(enc["c_mults"]) != list(dec["c_mults"]) or list(enc["strides"]) != list(dec["strides"]):
        raise ConfigProblem("its VAE encoder and decoder differ in c_mults or strides")
    if cfg.get("bottleneck", {}).get("type") != "vae":
        raise ConfigProblem("its VAE bottleneck is not 'vae'")
    ratio = math.prod(enc["strides"])
    if cfg.get("downsampling_ratio", ratio) != ratio:
        raise ConfigProblem(f"its downsampling_ratio {cfg['downsampling_ratio']} is not the product of the strides")
    latent = cfg.get("latent_dim", dec["latent_dim"])
    if dec["latent_dim"] != latent or enc["latent_dim"] != 2 * latent:
        raise ConfigProblem("its VAE latent dims do not match (encoder must output 2 × latent_dim)")
    return {
        "encoder_hidden_size": enc["channels"],
        "downsampling_ratios": list(enc["strides"]),
        "channel_multiples": list(enc["c_mults"]),
        "decoder_channels": dec["channels"],
        "decoder_input_channels": latent,
        "audio_channels": enc.get("in_channels", 2),
        "sampling_rate": sample_rate,
        "encoder_latent_channels": enc["latent_dim"],
        "final_tanh": bool(dec.get("final_tanh", True)),
        "latent_scale": float(pretransform.get("scale", 1.0)),
    }


def parse_official_config(config: dict[str, Any]) -> StackSpec:
    """Official config dict → ``StackSpec``; raises ``ConfigProblem`` naming the first thing that does not fit."""
    if config.get("model_type") not in ("diffusion_cond", "diffusion_cond_inpaint"):
        raise ConfigProblem(f"its model_type is '{config.get('model_type')}', not 'diffusion_cond'")
    sample_rate = int(_get(config, "sample_rate"))
    sample_size = int(_get(config, "sample_size"))
    _get(config, "model")  # named in the error when absent
    vae = _vae_spec(_get(config, "model.pretransform"), sample_rate)
    ratio = math.prod(vae["downsampling_ratios"])

    conditioning = _get(config, "model.conditioning")
    cond_dim = int(_get(conditioning, "cond_dim"))
    by_id = {entry["id"]: entry for entry in _get(conditioning, "configs")}
    for needed in ("semantic", "rhythm", "class", "seconds_start", "seconds_total"):
        if needed not in by_id:
            raise ConfigProblem(f"its conditioning has no '{needed}' conditioner")
    semantic = by_id["semantic"]["config"]
    rhythm_type = semantic.get("rhythm_type", "mel")
    if rhythm_type not in RHYTHM_OUT_DIMS:
        raise ConfigProblem(f"its rhythm_type '{rhythm_type}' is unknown")
    rhythm = by_id["rhythm"]["config"]
    start, total = by_id["seconds_start"]["config"], by_id["seconds_total"]["config"]
    klass = by_id["class"]["config"]
    max_length = int(semantic.get("max_length", 128))

    diffusion = _get(config, "model.diffusion")
    if diffusion.get("type") != "dit":
        raise ConfigProblem(f"its diffusion type '{diffusion.get('type')}' is not 'dit'")
    if diffusion.get("diffusion_objective", "v") != "v":
        raise ConfigProblem("its diffusion objective is not 'v'")
    dit = _get(config, "model.diffusion.config")
    for key, allowed in (
        ("patch_size", 1),
        ("global_cond_type", "prepend"),
        ("timestep_cond_type", "global"),
        ("transformer_type", "continuous_transformer"),
        ("input_concat_dim", 0),
        ("prepend_cond_dim", 0),
    ):
        if dit.get(key, allowed) != allowed:
            raise ConfigProblem(f"its DiT {key} is {dit[key]!r}; only {allowed!r} is supported")
    cross_ids = list(diffusion.get("cross_attention_cond_ids", []))
    global_ids = list(diffusion.get("global_cond_ids", []))
    unknown_globals = [key for key in global_ids if key not in ("seconds_start", "seconds_total", "class")]
    if unknown_globals:
        raise ConfigProblem(f"its global_cond_ids include unsupported {unknown_globals}")
    weight_type = dit.get("attention_weight_type", "sigmoid")
    try:
        fusion = fusion_from_official(weight_type)
    except ValueError as exc:
        raise ConfigProblem(str(exc)) from exc
    has_colour = "color" in cross_ids and "color" in by_id
    level1 = has_colour and weight_type != "only_clip"

    extractor = {key: int(semantic.get(key, default)) for key, default in RELEASED_EXTRACTOR.items()}
    return StackSpec(
        transformer={
            "io_channels": int(dit["io_channels"]),
            "embed_dim": int(dit["embed_dim"]),
            "depth": int(dit["depth"]),
            "num_heads": int(dit["num_heads"]),
            "cond_token_dim": int(dit["cond_token_dim"]),
            "project_cond_tokens": bool(dit.get("project_cond_tokens", True)),
            "global_cond_dim": int(dit.get("global_cond_dim", 0)),
            "fusion": fusion,
            "emotion_level": level1,
        },
        rhythm_predictor={
            "input_dim": int(semantic["dim"]),
            "dim": extractor["extractor_dim"],
            "depth": extractor["extractor_depth"],
            "num_heads": extractor["extractor_num_heads"],
            "out_dim": RHYTHM_OUT_DIMS[rhythm_type],
            "num_classes": 3,
        },
        conditioner={
            "cond_dim": cond_dim,
            "max_length": max_length,
            "semantic_dim": int(semantic["dim"]),
            "rhythm_dim": int(rhythm["dim"]),
            "colour_dim": int(by_id["color"]["config"]["dim"]) if has_colour else 3072,
            "has_colour": has_colour,
            "num_classes": int(klass.get("max_val", 512)) - int(klass.get("min_val", 0)) + 1,
            "seconds_start_range": [float(start.get("min_val", 0)), float(start.get("max_val", 1))],
            "seconds_total_range": [float(total.get("min_val", 0)), float(total.get("max_val", 1))],
            "global_cond_ids": global_ids,
        },
        vae=vae,
        sample_rate=sample_rate,
        latent_length=sample_size // ratio,
        audio_channels=int(config.get("audio_channels", 2)),
        emotion_source="released" if level1 else "none",
        extras={"rhythm_type": rhythm_type, "attention_weight_type": weight_type},
    )
