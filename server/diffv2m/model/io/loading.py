"""Find and load a model from what a user gives as ``--weights`` / ``DIFFV2M_WEIGHTS``.

Accepted, in this order:

1. a folder written by ``save_pretrained`` (has ``diffv2m.json``);
2. a folder with the official ``*.ckpt`` and its ``*config*.json`` (``model_odf.ckpt`` +
   ``model_config_odf.json``; with several configs the ``odf`` one is taken);
3. an official ``.ckpt`` file, its config JSON next to it;
4. a hub repository id ``owner/name``, fetched only when downloads are allowed.
"""

from __future__ import annotations

from pathlib import Path

from ...errors import WeightsError
from ..stack import DiffV2M
from .hub import download_weights
from .official_checkpoint import find_official_files, load_official
from .pretrained import is_pretrained_folder, load_pretrained
from .sources import is_hub_id, pick_config


def load_local(path: Path, use_ema: bool = False, emotion_source: str | None = None) -> DiffV2M:
    """Load the model at a local folder or checkpoint file (cases 1–3 above)."""
    if path.is_dir():
        if is_pretrained_folder(path):
            stack = load_pretrained(path)
            if emotion_source:
                stack.info.emotion_source = emotion_source
            return stack
        pair = find_official_files(path)
        if pair is None:
            raise WeightsError(
                f"The folder {path} holds neither diffv2m.json nor one official .ckpt with its config JSON."
            )
        return load_official(*pair, use_ema=use_ema, emotion_source=emotion_source)
    if path.is_file() and path.suffix == ".ckpt":
        config = pick_config(p.name for p in path.parent.glob("*.json"))
        if config is None:
            raise WeightsError(f"The checkpoint {path} has no config JSON (e.g. model_config_odf.json) beside it.")
        return load_official(path, path.parent / config, use_ema=use_ema, emotion_source=emotion_source)
    raise WeightsError(f"The weights path {path} is neither a weights folder nor a .ckpt file.")


def load_weights(
    weights: str,
    allow_download: bool = False,
    cache_dir: Path | None = None,
    use_ema: bool = False,
    emotion_source: str | None = None,
) -> DiffV2M:
    """The model named by ``weights`` (a local path, or a hub id when ``allow_download``)."""
    path = Path(weights).expanduser()
    if path.exists():
        return load_local(path, use_ema, emotion_source)
    if not is_hub_id(weights):
        raise WeightsError(f"The weights path {weights} does not exist.")
    if not allow_download:
        raise WeightsError(
            f"The weights {weights} are not a local path; set DIFFV2M_ALLOW_DOWNLOAD=1 to fetch them from the hub."
        )
    folder = download_weights(weights, cache_dir or Path.home() / ".cache" / "diffv2m")
    return load_local(folder, use_ema, emotion_source)
