"""Key names: the released checkpoint's ↔ this package's, for every component, in one table each.

The released names come from the stable-audio-tools wrapper the official code
trains (``diffusion.model.model.transformer.layers.N.cross_attn0…``); ours
read like the paper's figure (``blocks.N.emotion_attn…``). Each ``KeyTable``
row is a pair of templates, read left-to-right by the loader and
right-to-left by the exporter, so the two directions cannot drift apart.

A template is literal text with ``{field}`` slots; a slot matches the pattern
``FIELDS`` gives it, or the alternatives written in it (``{io:in|out}``).
A row may hand its ``{inner}`` slot to another table (a transformer block's
layout, shared by the DiT and the rhythm predictor).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

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

FIELDS = {"n": r"\d+", "wb": r"weight|bias", "rest": r".+", "inner": r".+"}
_SLOT = re.compile(r"\{(\w+)(?::([^}]*))?\}")


def _slots(*texts: str) -> dict[str, str]:
    """Each slot's pattern: written in either template of a row, else from ``FIELDS``."""
    written = {m.group(1): m.group(2) for text in texts for m in _SLOT.finditer(text) if m.group(2)}
    return {m.group(1): written.get(m.group(1)) or FIELDS[m.group(1)] for text in texts for m in _SLOT.finditer(text)}


class _Template:
    def __init__(self, text: str, slots: dict[str, str]) -> None:
        pattern, fmt, last = "", "", 0
        for slot in _SLOT.finditer(text):
            literal = text[last : slot.start()]
            pattern += re.escape(literal) + f"(?P<{slot.group(1)}>{slots[slot.group(1)]})"
            fmt += literal + "{" + slot.group(1) + "}"
            last = slot.end()
        self.regex = re.compile(pattern + re.escape(text[last:]))
        self.fmt = fmt + text[last:]


@dataclass(frozen=True)
class Row:
    released: str
    ours: str
    inner: KeyTable | None = None  # translates the {inner} slot as well


class KeyTable:
    """Rows of (released name, our name) templates, read both ways."""

    def __init__(self, *rows: Row | tuple[str, str]) -> None:
        self.rows = [row if isinstance(row, Row) else Row(*row) for row in rows]
        self._compiled = []
        for row in self.rows:
            slots = _slots(row.released, row.ours)
            self._compiled.append((_Template(row.released, slots), _Template(row.ours, slots), row.inner))

    def to_ours(self, key: str) -> str | None:
        """Our name for a released key, or None when no row fits."""
        return self._convert(key, released_to_ours=True)

    def to_released(self, key: str) -> str | None:
        """The released name of one of our keys, or None when no row fits."""
        return self._convert(key, released_to_ours=False)

    def _convert(self, key: str, released_to_ours: bool) -> str | None:
        for released, ours, inner in self._compiled:
            source, target = (released, ours) if released_to_ours else (ours, released)
            match = source.regex.fullmatch(key)
            if not match:
                continue
            values = match.groupdict()
            if inner is not None:
                values["inner"] = inner._convert(values["inner"], released_to_ours)
                if values["inner"] is None:
                    return None
            return target.fmt.format(**values)
        return None


def zero_norm_bias(released: str) -> str | None:
    """The released zero LayerNorm bias buffer that goes with a block norm's gain (our norms have none)."""
    return released[: -len("gamma")] + "beta" if released.endswith("norm.gamma") else None


BLOCK = KeyTable(
    ("pre_norm.gamma", "self_attn_norm.gamma"),
    ("cross_attend_norm.gamma", "level1_norm.gamma"),
    ("color_norm.gamma", "level2_norm.gamma"),
    ("ff_norm.gamma", "ff_norm.gamma"),
    ("self_attn.{part:to_qkv|to_out}.weight", "self_attn.{part}.weight"),
    ("cross_attn0.{rest}", "emotion_attn.{rest}"),
    ("cross_attn1.{rest}", "semantic_attn.{rest}"),
    ("cross_attn2.{rest}", "rhythm_attn.{rest}"),
    ("t_linear.{wb}", "fusion.film.t_linear.{wb}"),
    ("FiLM_{gb:gamma|beta}_{ctx:sem|rhy}.{i:[02]}.{wb}", "fusion.film.{gb}_{ctx}.{i}.{wb}"),
    ("gate.{i:[02]}.{wb}", "fusion.gate.{i}.{wb}"),
    ("ff.ff.0.proj.{wb}", "ff.ff.0.proj.{wb}"),
    ("ff.ff.2.{wb}", "ff.ff.1.{wb}"),
)
_BLOCKS = Row("transformer.layers.{n}.{inner}", "blocks.{n}.{inner}", BLOCK)
_PROJECT = ("transformer.project_{io:in|out}.weight", "project_{io}.weight")

DIT = KeyTable(
    _BLOCKS,
    ("timestep_features.weight", "timestep_features.weight"),
    ("to_{e:timestep|cond|global}_embed.{i:[02]}.{wb}", "to_{e}_embed.{i}.{wb}"),
    ("{side:pre|post}process_conv.weight", "{side}process_conv.weight"),
    _PROJECT,
)
RHYTHM_PREDICTOR = KeyTable(
    _BLOCKS,
    ("{e:class|scene}_embedding.weight", "{e}_embedding.weight"),
    ("pseudo_linear.{i:[02]}.{wb}", "beat_mlp.{i}.{wb}"),
    _PROJECT,
)
CONDITIONER = KeyTable(
    ("{c:semantic|rhythm}.proj_out1.{wb}", "{c}.0.{wb}"),
    ("{c:semantic|rhythm}.proj_out2.{wb}", "{c}.1.{wb}"),
    ("color.proj_out1.{wb}", "colour.0.{wb}"),
    ("color.proj_out2.{wb}", "colour.1.{wb}"),
    ("class.int_embedder.weight", "class_embedding.weight"),
    ("seconds_{s:start|total}.embedder.embedding.0.weights", "seconds_{s}.weights"),
    ("seconds_{s:start|total}.embedder.embedding.1.{wb}", "seconds_{s}.project.{wb}"),
)


@lru_cache(maxsize=8)
def vae_table(depth: int) -> KeyTable:
    """The released Oobleck layout (``encoder.layers.I.layers.J…``) ↔ diffusers' names, for ``depth`` blocks.

    Encoder block: 3 residual units, snake, strided conv; decoder block: snake,
    transposed conv, 3 residual units. Each residual unit: snake, conv, snake, conv.
    """
    rows: list[tuple[str, str]] = []
    unit_layers = ("snake1", "conv1", "snake2", "conv2")
    for side in ("encoder", "decoder"):
        rows += [
            (f"{side}.layers.0.{{rest}}", f"{side}.conv1.{{rest}}"),
            (f"{side}.layers.{depth + 1}.{{rest}}", f"{side}.snake1.{{rest}}"),
            (f"{side}.layers.{depth + 2}.{{rest}}", f"{side}.conv2.{{rest}}"),
        ]
        units = (0, 1, 2) if side == "encoder" else (2, 3, 4)
        others = {3: "snake1", 4: "conv1"} if side == "encoder" else {0: "snake1", 1: "conv_t1"}
        for index in range(depth):
            released, ours = f"{side}.layers.{index + 1}.layers", f"{side}.block.{index}"
            for unit, position in enumerate(units, start=1):
                for layer, name in enumerate(unit_layers):
                    rows.append(
                        (f"{released}.{position}.layers.{layer}.{{rest}}", f"{ours}.res_unit{unit}.{name}.{{rest}}")
                    )
            rows += [
                (f"{released}.{position}.{{rest}}", f"{ours}.{name}.{{rest}}") for position, name in others.items()
            ]
    return KeyTable(*rows)
