"""``diffv2m train CONFIG``: the TOML file that describes a run, with the paper's defaults.

    data = "prepared"                 # a folder made by ``diffv2m prepare``
    output = "runs/my-model"          # checkpoints, log.jsonl, final weights

    [model]
    init = "scratch"                  # or a weights path to fine-tune (project folder, official .ckpt)
    size = "released"                 # scratch: "released", "tiny" or an official config JSON
    vae = "weights/sao-vae"           # scratch: where the frozen VAE comes from (must match the latents)
    emotion_source = "colour"         # "colour" (the paper), "released" (the released wiring), "none"

    [train]                           # every key optional; defaults are the released recipe
    epochs = 50
    batch_size = 32
    ...

Relative paths are relative to the config file. Unknown keys are an error,
so a typo never silently trains with a default.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..model.choices import EMOTION_SOURCES

MIXED_PRECISION = ("auto", "no", "bf16", "fp16")


@dataclass
class ModelConfig:
    init: str = "scratch"
    size: str = "released"
    vae: str | None = None
    emotion_source: str = "colour"
    use_ema_init: bool = False  # fine-tuning an official checkpoint: start from its EMA DiT
    tiny: dict[str, Any] = field(default_factory=dict)  # size = "tiny": sizes passed to model.testing.tiny_spec
    # scratch: constructor arguments to override per component, e.g. [model.overrides.conditioner]
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class TrainConfig:
    epochs: int = 50
    max_steps: int = 0  # optimiser steps; 0 = run all epochs
    batch_size: int = 32
    grad_accum: int = 4
    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 1e-3
    inv_gamma: float = 1e6
    lr_power: float = 0.5
    warmup: float = 0.99
    ema_decay: float = 0.9999
    ema_power: float = 0.75
    cfg_dropout: float = 0.1
    p_real_start: float = 10.0
    p_real_end: float = 30.0
    rhythm_loss_weight: float = 1.0
    rhythm: str = "odf"  # which ground-truth rhythm trains the predictor: odf | mel | tempo
    grad_clip: float = 0.0  # 0 = off, as released
    mixed_precision: str = "auto"  # auto = bf16 autocast on CUDA, fp32 elsewhere
    seed: int = 42
    num_workers: int = 2
    checkpoint_every: int = 150
    keep_checkpoints: int = 3
    log_every: int = 10
    device: str = "auto"
    threads: int = 0  # CPU threads for torch (0 = torch's default); 1 suits tiny models on busy machines


@dataclass
class RunConfig:
    data: Path
    output: Path
    model: ModelConfig
    train: TrainConfig
    source: Path | None = None  # the TOML file


def _build(cls: type, values: dict[str, Any], section: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise InputError(f"Unknown setting(s) in [{section}]: {', '.join(unknown)}.")
    converted = {}
    for name, value in values.items():
        default = getattr(cls(), name)
        if isinstance(default, tuple):
            value = tuple(value)
        elif isinstance(default, float) and isinstance(value, int):
            value = float(value)
        elif default is not None and not isinstance(value, type(default)) and not isinstance(default, dict):
            raise InputError(f"Setting {section}.{name} must be a {type(default).__name__}, not {value!r}.")
        converted[name] = value
    return cls(**converted)


def _resolve(base: Path, value: str | None) -> str | None:
    """Relative paths are relative to the config file's folder."""
    if value is None:
        return None
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else base / path)


def parse_config(values: dict[str, Any], base: Path) -> RunConfig:
    for key in ("data", "output"):
        if key not in values:
            raise InputError(f"The training config needs '{key} = \"...\"'.")
    extra = sorted(set(values) - {"data", "output", "model", "train"})
    if extra:
        raise InputError(f"Unknown setting(s) in the training config: {', '.join(extra)}.")
    model = _build(ModelConfig, dict(values.get("model", {})), "model")
    train = _build(TrainConfig, dict(values.get("train", {})), "train")
    if model.init != "scratch" and Path(_resolve(base, model.init) or "").exists():
        model.init = _resolve(base, model.init) or model.init  # else a hub id or a path the loader reports
    model.vae = _resolve(base, model.vae)
    if model.emotion_source not in EMOTION_SOURCES:
        raise InputError(f"model.emotion_source must be one of {', '.join(EMOTION_SOURCES)}.")
    if train.mixed_precision not in MIXED_PRECISION:
        raise InputError(f"train.mixed_precision must be one of {', '.join(MIXED_PRECISION)}.")
    if train.batch_size < 1 or train.grad_accum < 1 or train.epochs < 1:
        raise InputError("train.batch_size, train.grad_accum and train.epochs must be at least 1.")
    if not 0.0 <= train.cfg_dropout < 1.0:
        raise InputError("train.cfg_dropout must be in [0, 1).")
    if train.rhythm not in ("odf", "mel", "tempo"):
        raise InputError("train.rhythm must be odf, mel or tempo.")
    data, output = Path(_resolve(base, values["data"]) or ""), Path(_resolve(base, values["output"]) or "")
    return RunConfig(data, output, model, train)


def load_config(path: str | Path) -> RunConfig:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"The training config {path} does not exist.")
    try:
        values = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"The training config {path} is not valid TOML: {exc}.") from exc
    config = parse_config(values, path.resolve().parent)
    config.source = path
    return config
