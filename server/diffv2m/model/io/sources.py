"""Where weights come from: the one rule for "is this a hub id" and the one for "which config".

Kept free of torch so the engine registry can answer ``/health`` without loading it.
A released repository or folder may carry several configs (``model_config.json``,
``model_config_odf.json``); the ODF one belongs to the released ``model_odf.ckpt``,
so it is preferred wherever a choice is made (hub download, folder, checkpoint file).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path, PurePath

# owner/name as the hub spells a repository; "./x" and "../x" are paths, not ids
_HUB_ID = re.compile(r"^\w[\w.-]*/\w[\w.-]*$")


def is_hub_id(weights: str) -> bool:
    """True for ``owner/name`` that is not an existing local path."""
    return bool(_HUB_ID.match(weights)) and not Path(weights).expanduser().exists()


def prefer_odf(names: Iterable[str]) -> list[str]:
    """``names`` sorted, narrowed to those naming the ODF variant when any does."""
    ordered = sorted(names)
    return [name for name in ordered if "odf" in PurePath(name).name] or ordered


def is_config_name(name: str) -> bool:
    """An official config JSON (``model_config_odf.json``), not the project's ``diffv2m.json``."""
    base = PurePath(name).name
    return base.endswith(".json") and "config" in base


def pick_config(names: Iterable[str]) -> str | None:
    """The config JSON to use among ``names`` (ODF preferred), or None."""
    configs = prefer_odf(name for name in names if is_config_name(name))
    return configs[0] if configs else None
