"""The project's own weight format: a folder in the diffusers layout.

    FOLDER/
      diffv2m.json                      stack facts (sample rate, window, emotion_source, guidance, source)
      transformer/      config.json + diffusion_pytorch_model.safetensors
      rhythm_predictor/ config.json + diffusion_pytorch_model.safetensors
      conditioner/      config.json + diffusion_pytorch_model.safetensors
      vae/              config.json + diffusion_pytorch_model.safetensors

Each sub-folder is what that component's diffusers ``save_pretrained`` writes,
so ``DiffV2MTransformer.from_pretrained(FOLDER / "transformer")`` also works.
``load_pretrained`` builds the modules on the meta device and assigns the
safetensors tensors (memory-mapped), which is much faster than random
initialisation of 1.4 B parameters.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ...errors import WeightsError
from ..dit import DiffV2MTransformer
from ..rhythm_predictor import RhythmPredictor
from ..stack import DiffV2M, StackInfo
from ..vae import DiffV2MAutoencoder
from ..visual_conditioner import VisualConditioner
from .weights import build_on_meta, check_and_load

STACK_FILE = "diffv2m.json"
FORMAT = "diffv2m-stack"
VERSION = 1
COMPONENT_CLASSES = {
    "transformer": DiffV2MTransformer,
    "rhythm_predictor": RhythmPredictor,
    "conditioner": VisualConditioner,
    "vae": DiffV2MAutoencoder,
}
WEIGHTS = "diffusion_pytorch_model.safetensors"


def is_pretrained_folder(folder: Path) -> bool:
    return (folder / STACK_FILE).is_file()


def save_pretrained(stack: DiffV2M, folder: str | Path, dtype: torch.dtype | None = None) -> Path:
    """Write ``stack`` to ``folder`` (created); ``dtype`` optionally stores the DiT in bf16/fp16 to halve it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, module in stack.components.items():
        if dtype is not None and name == "transformer":
            _save_cast(module, folder / name, dtype)  # a cast copy: the live module is never touched
        else:
            module.save_pretrained(folder / name, safe_serialization=True)
    record = {"format": FORMAT, "version": VERSION, **asdict(stack.info)}
    (folder / STACK_FILE).write_text(json.dumps(record, indent=2) + "\n")
    return folder


def _save_cast(module: DiffV2MTransformer, folder: Path, dtype: torch.dtype) -> None:
    """``module.save_pretrained`` with floating tensors stored as ``dtype``, except under ``fp32_modules``."""
    keep = tuple(f"{name}." for name in getattr(module, "fp32_modules", ()))
    state = {}
    for key, value in module.state_dict().items():
        if value.is_floating_point() and not key.startswith(keep):
            value = value.to(dtype)  # a new tensor; the module's own stays as it is
        state[key] = value.detach().contiguous()
    folder.mkdir(parents=True, exist_ok=True)
    module.save_config(folder)
    save_file(state, str(folder / WEIGHTS), metadata={"format": "pt"})


def _component_state(folder: Path) -> dict[str, torch.Tensor]:
    single = folder / WEIGHTS
    if single.is_file():
        return load_file(single)
    index = folder / f"{WEIGHTS}.index.json"
    if index.is_file():
        shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        state: dict[str, torch.Tensor] = {}
        for shard in shards:
            state.update(load_file(folder / shard))
        return state
    raise WeightsError(f"The weights folder {folder} has no {WEIGHTS}.")


def load_pretrained(folder: str | Path) -> DiffV2M:
    """A folder written by ``save_pretrained`` → ``DiffV2M`` (float32, CPU, eval mode)."""
    folder = Path(folder)
    if not is_pretrained_folder(folder):
        raise WeightsError(f"The folder {folder} holds no Diff-V2M weights ({STACK_FILE} is missing).")
    try:
        record = json.loads((folder / STACK_FILE).read_text())
    except json.JSONDecodeError as exc:
        raise WeightsError(f"The file {folder / STACK_FILE} is not valid JSON ({exc.msg}).") from exc
    if record.get("format") != FORMAT or record.get("version", 0) > VERSION:
        raise WeightsError(f"The file {folder / STACK_FILE} is not a version-{VERSION} {FORMAT} record.")
    modules = {}
    for name, cls in COMPONENT_CLASSES.items():
        sub = folder / name
        try:
            config = cls.load_config(sub)
        except (OSError, ValueError) as exc:
            raise WeightsError(f"The weights folder {folder} lacks a readable {name}/config.json.") from exc
        if config.get("_class_name") not in (None, cls.__name__):
            raise WeightsError(f"The config {sub}/config.json is for {config['_class_name']}, not {cls.__name__}.")
        try:
            module = build_on_meta(lambda cls=cls, config=config: cls.from_config(config))
        except (TypeError, ValueError) as exc:
            raise WeightsError(f"The config {sub}/config.json cannot build a {cls.__name__}: {exc}.") from exc
        check_and_load(module, name, _component_state(sub), sub)
        modules[name] = module
    known = {f.name for f in fields(StackInfo)}
    info = StackInfo(**{key: value for key, value in record.items() if key in known})
    info.source = info.source or str(folder)
    return DiffV2M(info=info, **modules).eval()  # type: ignore[arg-type]
