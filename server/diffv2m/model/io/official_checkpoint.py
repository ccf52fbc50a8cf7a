"""Load the official Lightning checkpoint + config JSON into our modules.

The released ``inference/generation.py`` samples with the *online* DiT weights
(``diffusion.model.model.*``; ema-pytorch's ``.model`` returns the online
model), so those are the default; ``use_ema=True`` picks
``diffusion_ema.ema_model.model.*`` instead. Conditioners and the VAE have one
copy. Keys the released model carries but never uses (the conditioners'
``proj_out``, the loss weights, EMA bookkeeping, the T5 prompt conditioner)
are ignored; anything else that does not map, any expected key that is
missing, and any shape that differs is reported by name.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ...errors import WeightsError
from ..dit import DiffV2MTransformer
from ..rhythm_predictor import RhythmPredictor
from ..stack import DiffV2M, StackInfo
from ..vae import DiffV2MAutoencoder
from ..visual_conditioner import VisualConditioner
from .official_config import ConfigProblem, StackSpec, parse_official_config
from .official_names import (
    CONDITIONER,
    CONDITIONERS,
    DIT,
    EMA_DIT,
    EXTRACTOR,
    IGNORED,
    ONLINE_DIT,
    RHYTHM_PREDICTOR,
    VAE,
    KeyTable,
    vae_table,
)
from .sources import pick_config
from .weights import build_on_meta, check_and_load, listing


def read_official_checkpoint(path: Path, trust_pickle: bool = False) -> dict[str, torch.Tensor]:
    """The ``state_dict`` of a Lightning checkpoint, memory-mapped, without running pickled code by default."""
    if not path.is_file():
        raise WeightsError(f"The Diff-V2M checkpoint {path} does not exist.")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=not trust_pickle, mmap=True)
    except pickle.UnpicklingError as exc:
        raise WeightsError(
            f"The checkpoint {path} holds pickled objects beyond tensors; convert it once with "
            f"'diffv2m convert --trust-pickle' if you trust its source ({str(exc).splitlines()[0]})."
        ) from exc
    except (RuntimeError, OSError, EOFError) as exc:
        raise WeightsError(f"The checkpoint {path} cannot be read: {str(exc).splitlines()[0]}.") from exc
    state = loaded.get("state_dict", loaded) if isinstance(loaded, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"The checkpoint {path} has no state_dict of tensors.")
    return state


def read_official_config(path: Path) -> tuple[dict[str, Any], StackSpec]:
    if not path.is_file():
        raise WeightsError(f"The Diff-V2M config {path} does not exist.")
    try:
        config = json.loads(path.read_text())
        return config, parse_official_config(config)
    except json.JSONDecodeError as exc:
        raise WeightsError(f"The Diff-V2M config {path} is not valid JSON ({exc.msg}, line {exc.lineno}).") from exc
    except (ConfigProblem, KeyError, TypeError) as exc:
        raise WeightsError(f"The Diff-V2M config {path} is not a usable official config: {exc}.") from exc


def _rotary_dim(state: dict[str, torch.Tensor], key: str) -> int | None:
    return 2 * state[key].numel() if key in state else None


class _Mapper:
    """Collects renamed tensors per component and everything that could not be placed."""

    def __init__(self, state: dict[str, torch.Tensor]) -> None:
        self.state = state
        self.used: set[str] = set()
        self.out: dict[str, dict[str, torch.Tensor]] = {}
        self.nonzero_bias: list[str] = []

    def take(self, component: str, prefix: str, table: KeyTable) -> None:
        target = self.out.setdefault(component, {})
        for key, value in self.state.items():
            if not key.startswith(prefix) or key in self.used:
                continue
            rest = key[len(prefix) :]
            if rest.endswith("rotary_pos_emb.inv_freq"):
                self.used.add(key)  # recomputed from its size (checked when the rotary dim was read)
                continue
            if rest.endswith("norm.beta"):
                self.used.add(key)  # bias-free LayerNorm: the released zero buffer
                if torch.count_nonzero(value):
                    self.nonzero_bias.append(key)
                continue
            name = table.to_ours(rest)
            if name is not None:
                target[name] = value
                self.used.add(key)

    def take_vae(self, depth: int) -> None:
        """The released Oobleck weights (old-style ``weight_g``/``weight_v``, (C,) SnakeBeta) in diffusers' layout."""
        table, target = vae_table(depth), self.out.setdefault("vae", {})
        for key, value in self.state.items():
            if not key.startswith(VAE):
                continue
            name = table.to_ours(key[len(VAE) :])
            if name is None:
                raise WeightsError(f"The checkpoint's VAE key {key} does not fit an Oobleck VAE.")
            target[name] = value.reshape(1, -1, 1) if name.endswith((".alpha", ".beta")) else value
            self.used.add(key)


def _official_label(component: str, dit_prefix: str, vae_depth: int) -> Callable[[str], str]:
    """Our key → the checkpoint's name for it (for error messages)."""
    prefix, table = {
        "transformer": (dit_prefix, DIT),
        "rhythm_predictor": (EXTRACTOR, RHYTHM_PREDICTOR),
        "conditioner": (CONDITIONERS, CONDITIONER),
    }.get(component, (VAE, vae_table(vae_depth)))

    def label(key: str) -> str:
        name = table.to_released(key)
        return key if name is None else prefix + name

    return label


def load_official(
    checkpoint: str | Path,
    config: str | Path,
    use_ema: bool = False,
    emotion_source: str | None = None,
    trust_pickle: bool = False,
) -> DiffV2M:
    """Official ``model_odf.ckpt`` + ``model_config_odf.json`` → ``DiffV2M`` (float32, CPU, eval mode)."""
    checkpoint, config = Path(checkpoint), Path(config)
    _, spec = read_official_config(config)
    state = read_official_checkpoint(checkpoint, trust_pickle)
    dit_prefix = EMA_DIT if use_ema else ONLINE_DIT
    if not any(key.startswith(dit_prefix) for key in state):
        which = "EMA" if use_ema else "online"
        raise WeightsError(f"The checkpoint {checkpoint} has no {which} DiT weights ({dit_prefix}*).")
    spec.transformer["rotary_dim"] = _rotary_dim(state, dit_prefix + "transformer.rotary_pos_emb.inv_freq")
    spec.rhythm_predictor["rotary_dim"] = _rotary_dim(state, EXTRACTOR + "transformer.rotary_pos_emb.inv_freq")
    try:
        modules = {
            "transformer": build_on_meta(lambda: DiffV2MTransformer(**spec.transformer)),
            "rhythm_predictor": build_on_meta(lambda: RhythmPredictor(**spec.rhythm_predictor)),
            "conditioner": build_on_meta(lambda: VisualConditioner(**spec.conditioner)),
            "vae": build_on_meta(lambda: DiffV2MAutoencoder(**spec.vae)),
        }
    except ValueError as exc:
        raise WeightsError(f"The Diff-V2M config {config} describes a model that cannot be built: {exc}.") from exc

    mapper = _Mapper(state)
    mapper.take("transformer", dit_prefix, DIT)
    mapper.take("rhythm_predictor", EXTRACTOR, RHYTHM_PREDICTOR)
    mapper.take("conditioner", CONDITIONERS, CONDITIONER)
    mapper.take_vae(len(spec.vae["downsampling_ratios"]))
    other_dit = ONLINE_DIT if use_ema else EMA_DIT
    leftover = sorted(k for k in state if k not in mapper.used and not k.startswith(other_dit) and not IGNORED.match(k))
    if leftover:
        raise WeightsError(f"The checkpoint {checkpoint} has keys this loader does not know: {listing(leftover)}.")
    if mapper.nonzero_bias:
        raise WeightsError(
            f"The checkpoint {checkpoint} has LayerNorm biases, which Diff-V2M does not use: "
            f"{listing(mapper.nonzero_bias)}."
        )
    for name, module in modules.items():
        label = _official_label(name, dit_prefix, len(spec.vae["downsampling_ratios"]))
        check_and_load(module, name, mapper.out.get(name, {}), checkpoint, label)

    info = StackInfo(
        sample_rate=spec.sample_rate,
        latent_length=spec.latent_length,
        emotion_source=emotion_source or spec.emotion_source,
        source=f"{checkpoint} ({'EMA' if use_ema else 'online'} weights)",
        extras=dict(spec.extras),
    )
    stack = DiffV2M(info=info, **modules)  # type: ignore[arg-type]
    return stack.eval()


def find_official_files(folder: Path) -> tuple[Path, Path] | None:
    """The (checkpoint, config) pair in a folder: one ``*.ckpt`` and its ``*config*.json`` (odf preferred)."""
    checkpoints = sorted(folder.glob("*.ckpt"))
    config = pick_config(p.name for p in folder.glob("*.json"))
    if len(checkpoints) != 1 or config is None:
        return None
    return checkpoints[0], folder / config
