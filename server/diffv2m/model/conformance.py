"""Recompute the official conformance tensors with this package's code.

``case_inputs`` reads only the *input* tensors of a cases file (``in_*``,
``dit_x``, ``dit_t_*``, ``sample_noise``, ``sample_t_schedule``,
``vae_in_audio``, ``vae_encode_noise``); ``compute_outputs`` produces every
output under the names the official fixture uses (see its ``cases.md``).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import safe_open

from .dit_conditioning import DiTConditioning
from .guidance import GuidedVelocity
from .samplers import sample_ddim
from .stack import DiffV2M
from .visual_conditioner import WindowInputs

INPUT_NAMES = ("dit_x", "sample_noise", "sample_t_schedule", "vae_in_audio", "vae_encode_noise")
INPUT_PREFIXES = ("in_", "dit_t_")
RELEASED_CFG = 3.0


def is_input(name: str) -> bool:
    return name in INPUT_NAMES or name.startswith(INPUT_PREFIXES)


def case_inputs(path: str | Path) -> dict[str, torch.Tensor]:
    """The input tensors of a cases file, and nothing else."""
    with safe_open(str(path), framework="pt") as cases:
        return {name: cases.get_tensor(name) for name in cases.keys() if is_input(name)}


def _window_inputs(stack: DiffV2M, inputs: dict[str, torch.Tensor]) -> WindowInputs:
    length = stack.max_seconds
    clip = inputs["in_clip_features"].float()
    valid = clip.shape[1]

    def pad_rows(x: torch.Tensor) -> torch.Tensor:
        x = x[:, :length]
        return F.pad(x, (0, 0, 0, length - x.shape[1])) if x.ndim == 3 else F.pad(x, (0, length - x.shape[1]))

    return WindowInputs(
        clip=pad_rows(clip),
        valid_seconds=torch.tensor([valid]),
        colour=pad_rows(inputs["in_color_hist"].float()),
        scene_cut=pad_rows(inputs["in_scene_cut"].long()),
        visual_beat=pad_rows(inputs["in_pseudo_beats"].float()),
        seconds_start=inputs["in_seconds_start"].float(),
        seconds_total=inputs["in_seconds_total"].float(),
        class_label=inputs["in_class"].long(),
    )


def _conditioner_outputs(stack: DiffV2M, window: WindowInputs, inputs: dict[str, torch.Tensor]) -> dict:
    conditioner = stack.conditioner
    parts = stack.condition(window)
    out: dict[str, torch.Tensor] = {
        "rhythm_extractor_odf": parts.predicted_rhythm,
        "rhythm_extractor_transformer_input": stack.rhythm_predictor.transformer_input(
            window.clip, window.class_label, window.scene_cut, window.visual_beat
        ),
        "cond_semantic_tokens": parts.semantic_tokens,
        "cond_semantic_mask": parts.semantic_mask,
        "cond_pred_rhythm_tokens": parts.predicted_rhythm_tokens,
        "cond_pred_rhythm_mask": parts.semantic_mask,
        "cond_seconds_start_embedding": parts.seconds_start,
        "cond_seconds_total_embedding": parts.seconds_total,
        "cond_class_embedding": parts.class_embedding,
        "ctx_semantic": parts.conditioning.semantic,
        "ctx_semantic_mask": parts.conditioning.semantic_mask.float(),
        "ctx_pred_rhythm": parts.conditioning.rhythm,
        "ctx_pred_rhythm_mask": parts.conditioning.rhythm_mask.float(),
        "global_cond": parts.conditioning.global_cond,
    }
    seconds = torch.cat((parts.seconds_start, parts.seconds_total), dim=1)
    ones = torch.ones_like(parts.semantic_mask[:, :2])
    if "in_gt_rhythm_odf" in inputs:
        gt = inputs["in_gt_rhythm_odf"].float()
        normalised, gt_mask = conditioner.normalise_rhythm_target(gt, torch.tensor([gt.shape[1]]))
        out["cond_gt_rhythm_normalized"] = normalised
        out["cond_gt_rhythm_mask"] = gt_mask
        out["cond_gt_rhythm_tokens"] = conditioner.rhythm_tokens(normalised)
        out["ctx_gt_rhythm"] = torch.cat((out["cond_gt_rhythm_tokens"], seconds), dim=1)
        out["ctx_gt_rhythm_mask"] = torch.cat((gt_mask, ones), dim=1)
    if conditioner.colour is not None:
        colour = conditioner.colour_tokens(window.colour)
        colour_rows = min(inputs["in_color_hist"].shape[1], stack.max_seconds)
        out["cond_color_tokens"] = out["ctx_color"] = colour
        out["cond_color_mask"] = out["ctx_color_mask"] = conditioner.length_mask(torch.tensor([colour_rows]))
    return out, parts.conditioning


def _dit_outputs(stack: DiffV2M, conditioning: DiTConditioning, inputs: dict[str, torch.Tensor]) -> dict:
    out = {}
    x = inputs["dit_x"].float()
    captured: list[torch.Tensor] = []
    hook = stack.transformer.blocks[0].register_forward_pre_hook(lambda _m, args: captured.append(args[0].clone()))
    try:
        for name in sorted(k for k in inputs if k.startswith("dit_t_")):
            tag, t = name[len("dit_t_") :], inputs[name].float()
            captured.clear()
            v, hidden = stack.transformer(x, t, conditioning, return_hidden=True)
            out[f"dit_block0_input_cond_{tag}"] = captured[0]
            out[f"dit_v_cond_{tag}"] = v
            for layer, h in enumerate(hidden):
                out[f"dit_hidden_cond_{tag}_layer{layer}"] = h
            guided, _, uncond = GuidedVelocity(stack.transformer, conditioning, RELEASED_CFG).outputs(x, t)
            out[f"dit_v_cfg3_{tag}"], out[f"dit_v_uncond_{tag}"] = guided, uncond
    finally:
        hook.remove()
    return out


def _sampling_outputs(stack: DiffV2M, conditioning: DiTConditioning, inputs: dict[str, torch.Tensor]) -> dict:
    xs, preds = [], []

    def record(_i: int, x: torch.Tensor, pred: torch.Tensor) -> None:
        xs.append(x[0].clone())
        preds.append(pred[0].clone())

    velocity = GuidedVelocity(stack.transformer, conditioning, RELEASED_CFG)
    final = sample_ddim(velocity, inputs["sample_noise"].float(), inputs["sample_t_schedule"].float(), record)
    return {
        "sample_final_latent": final,
        "sample_x_after_step": torch.stack(xs),
        "sample_denoised_per_step": torch.stack(preds),
        "sample_decoded_audio": stack.decode(final),
    }


def _vae_outputs(stack: DiffV2M, inputs: dict[str, torch.Tensor]) -> dict:
    audio = inputs["vae_in_audio"].float()
    pre_bottleneck = stack.vae.encoder(audio)
    mean, stdev = stack.encode(audio)
    out = {
        "vae_encode_pre_bottleneck": pre_bottleneck,
        "vae_encode_mean": mean,
        "vae_encode_stdev": stdev,
        "vae_decode_of_mean": stack.decode(mean),
    }
    if "vae_encode_noise" in inputs:
        out["vae_encode_latent_sample"] = mean + inputs["vae_encode_noise"].float() * stdev
    return out


@torch.no_grad()
def compute_outputs(stack: DiffV2M, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Every output tensor the official fixture defines, recomputed from its inputs (float32, CPU)."""
    window = _window_inputs(stack, inputs)
    out, conditioning = _conditioner_outputs(stack, window, inputs)
    out.update(_dit_outputs(stack, conditioning, inputs))
    if "sample_noise" in inputs and "sample_t_schedule" in inputs:
        out.update(_sampling_outputs(stack, conditioning, inputs))
    if "vae_in_audio" in inputs:
        out.update(_vae_outputs(stack, inputs))
    return {name: value.detach().float().cpu().clone() for name, value in out.items()}
