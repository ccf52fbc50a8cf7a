"""Key names: the released checkpoint's ↔ this package's, for every component.

The released names come from the stable-audio-tools wrapper the official code
trains (``diffusion.model.model.transformer.layers.N.cross_attn0…``); ours
read like the paper's figure (``blocks.N.emotion_attn…``). Both directions
live here so the loader and the exporter cannot drift apart.
"""

from __future__ import annotations

import re

ONLINE_DIT = "diffusion.model.model."
EMA_DIT = "diffusion_ema.ema_model.model."
CONDITIONERS = "diffusion.conditioner.conditioners."
EXTRACTOR = CONDITIONERS + "semantic.extractor."
VAE = "diffusion.pretransform.model."
IGNORED = re.compile(
    r"^(losses\.|diffusion_ema\.(initted|step)$|"
    + re.escape(CONDITIONERS)
    + r"(semantic|rhythm|color)\.proj_out\.|"
    + re.escape(CONDITIONERS)
    + r"prompt\.)"
)

BLOCK_PARTS = [
    (r"pre_norm\.gamma", "self_attn_norm.gamma"),
    (r"cross_attend_norm\.gamma", "level1_norm.gamma"),
    (r"color_norm\.gamma", "level2_norm.gamma"),
    (r"ff_norm\.gamma", "ff_norm.gamma"),
    (r"self_attn\.(to_qkv|to_out)\.weight", r"self_attn.\1.weight"),
    (r"cross_attn0\.(.*)", r"emotion_attn.\1"),
    (r"cross_attn1\.(.*)", r"semantic_attn.\1"),
    (r"cross_attn2\.(.*)", r"rhythm_attn.\1"),
    (r"t_linear\.(weight|bias)", r"fusion.film.t_linear.\1"),
    (r"FiLM_(gamma|beta)_(sem|rhy)\.([02])\.(weight|bias)", r"fusion.film.\1_\2.\3.\4"),
    (r"gate\.([02])\.(weight|bias)", r"fusion.gate.\1.\2"),
    (r"ff\.ff\.0\.proj\.(weight|bias)", r"ff.ff.0.proj.\1"),
    (r"ff\.ff\.2\.(weight|bias)", r"ff.ff.1.\1"),
]
DIT_PARTS = [
    (
        r"(timestep_features\.weight|to_(timestep|cond|global)_embed\.[02]\.(weight|bias)|(pre|post)process_conv\.weight)",
        r"\1",
    ),
    (r"transformer\.project_(in|out)\.weight", r"project_\1.weight"),
]
EXTRACTOR_PARTS = [
    (r"(class|scene)_embedding\.weight", r"\1_embedding.weight"),
    (r"pseudo_linear\.([02])\.(weight|bias)", r"beat_mlp.\1.\2"),
    (r"transformer\.project_(in|out)\.weight", r"project_\1.weight"),
]
CONDITIONER_PARTS = [
    (r"semantic\.proj_out1\.(weight|bias)", r"semantic.0.\1"),
    (r"semantic\.proj_out2\.(weight|bias)", r"semantic.1.\1"),
    (r"rhythm\.proj_out1\.(weight|bias)", r"rhythm.0.\1"),
    (r"rhythm\.proj_out2\.(weight|bias)", r"rhythm.1.\1"),
    (r"color\.proj_out1\.(weight|bias)", r"colour.0.\1"),
    (r"color\.proj_out2\.(weight|bias)", r"colour.1.\1"),
    (r"class\.int_embedder\.weight", "class_embedding.weight"),
    (r"seconds_(start|total)\.embedder\.embedding\.0\.weights", r"seconds_\1.weights"),
    (r"seconds_(start|total)\.embedder\.embedding\.1\.(weight|bias)", r"seconds_\1.project.\2"),
]

BLOCK_INVERSE = [
    (r"self_attn_norm\.gamma", "pre_norm.gamma"),
    (r"level1_norm\.gamma", "cross_attend_norm.gamma"),
    (r"level2_norm\.gamma", "color_norm.gamma"),
    (r"ff_norm\.gamma", "ff_norm.gamma"),
    (r"self_attn\.(.*)", r"self_attn.\1"),
    (r"emotion_attn\.(.*)", r"cross_attn0.\1"),
    (r"semantic_attn\.(.*)", r"cross_attn1.\1"),
    (r"rhythm_attn\.(.*)", r"cross_attn2.\1"),
    (r"fusion\.film\.t_linear\.(.*)", r"t_linear.\1"),
    (r"fusion\.film\.(gamma|beta)_(sem|rhy)\.(.*)", r"FiLM_\1_\2.\3"),
    (r"fusion\.gate\.(.*)", r"gate.\1"),
    (r"ff\.ff\.0\.(.*)", r"ff.ff.0.\1"),
    (r"ff\.ff\.1\.(.*)", r"ff.ff.2.\1"),
]
CONDITIONER_INVERSE = [
    (r"(semantic|rhythm)\.0\.(.*)", r"\1.proj_out1.\2"),
    (r"(semantic|rhythm)\.1\.(.*)", r"\1.proj_out2.\2"),
    (r"colour\.0\.(.*)", r"color.proj_out1.\1"),
    (r"colour\.1\.(.*)", r"color.proj_out2.\1"),
    (r"class_embedding\.weight", "class.int_embedder.weight"),
    (r"seconds_(start|total)\.weights", r"seconds_\1.embedder.embedding.0.weights"),
    (r"seconds_(start|total)\.project\.(.*)", r"seconds_\1.embedder.embedding.1.\2"),
]
PREDICTOR_INVERSE = [
    (r"beat_mlp\.(.*)", r"pseudo_linear.\1"),
    (r"project_(in|out)\.weight", r"transformer.project_\1.weight"),
    (r"(class|scene)_embedding\.weight", r"\1_embedding.weight"),
]
DIT_INVERSE = [(r"project_(in|out)\.weight", r"transformer.project_\1.weight"), (r"(.*)", r"\1")]


def project_name(key: str, rules: list[tuple[str, str]]) -> str | None:
    block = re.fullmatch(r"transformer\.layers\.(\d+)\.(.*)", key)
    if block:  # the DiT's and the rhythm predictor's transformer blocks share the block layout
        inner = project_name(block.group(2), BLOCK_PARTS)
        return None if inner is None else f"blocks.{block.group(1)}.{inner}"
    for pattern, target in rules:
        if re.fullmatch(pattern, key):
            return re.sub(pattern, target, key)
    return None


def official_name(key: str, rules: list[tuple[str, str]]) -> tuple[str, list[str]]:
    """Released name of one of our keys, plus the names of the zero LayerNorm bias buffers it implies."""
    block = re.fullmatch(r"blocks\.(\d+)\.(.*)", key)
    if block:
        inner, _ = official_name(block.group(2), BLOCK_INVERSE)
        name = f"transformer.layers.{block.group(1)}.{inner}"
        return name, [name[: -len("gamma")] + "beta"] if name.endswith("norm.gamma") else []
    for pattern, target in rules:
        if re.fullmatch(pattern, key):
            return re.sub(pattern, target, key), []
    raise KeyError(key)


_RESIDUAL = {"0": "snake1", "1": "conv1", "2": "snake2", "3": "conv2"}


def vae_project_name(key: str, depth: int) -> str:
    """Translate one released Oobleck key (without the ``encoder.``/``decoder.`` side) to diffusers' name."""
    side, rest = key.split(".", 1)
    match = re.fullmatch(r"layers\.(\d+)\.(.*)", rest)
    if not match:
        raise KeyError(key)
    index, tail = int(match.group(1)), match.group(2)
    if index == 0:
        return f"{side}.conv1.{tail}"
    if index == depth + 1:
        return f"{side}.snake1.{tail}"
    if index == depth + 2:
        return f"{side}.conv2.{tail}"
    block = f"{side}.block.{index - 1}"
    sub = re.fullmatch(r"layers\.(\d+)\.(.*)", tail)
    if not sub:
        raise KeyError(key)
    position, tail = int(sub.group(1)), sub.group(2)
    # encoder block: 3 residual units, snake, strided conv; decoder block: snake, transposed conv, 3 residual units
    units = (0, 1, 2) if side == "encoder" else (2, 3, 4)
    if position in units:
        unit = re.fullmatch(r"layers\.(\d)\.(.*)", tail)
        if not unit:
            raise KeyError(key)
        return f"{block}.res_unit{units.index(position) + 1}.{_RESIDUAL[unit.group(1)]}.{unit.group(2)}"
    if side == "encoder":
        return f"{block}.{ {3: 'snake1', 4: 'conv1'}[position] }.{tail}"
    return f"{block}.{ {0: 'snake1', 1: 'conv_t1'}[position] }.{tail}"


def vae_official_name(key: str, depth: int) -> str:
    side, rest = key.split(".", 1)
    top = {"conv1": 0, "snake1": depth + 1, "conv2": depth + 2}
    head, _, tail = rest.partition(".")
    if head in top:
        return f"{side}.layers.{top[head]}.{tail}"
    match = re.fullmatch(r"block\.(\d+)\.(\w+)\.(.*)", rest)
    if not match:
        raise KeyError(key)
    index, part, tail = int(match.group(1)), match.group(2), match.group(3)
    unit = re.fullmatch(r"res_unit(\d)", part)
    if unit:
        position = int(unit.group(1)) - 1 + (0 if side == "encoder" else 2)
        layer, _, tail = tail.partition(".")
        inner = {"snake1": 0, "conv1": 1, "snake2": 2, "conv2": 3}[layer]
        return f"{side}.layers.{index + 1}.layers.{position}.layers.{inner}.{tail}"
    position = {"encoder": {"snake1": 3, "conv1": 4}, "decoder": {"snake1": 0, "conv_t1": 1}}[side][part]
    return f"{side}.layers.{index + 1}.layers.{position}.{tail}"
