"""Loading weights into modules built on the meta device, with errors that name what is wrong."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import torch

from ...errors import WeightsError


def listing(keys: list[str], limit: int = 6) -> str:
    """The first few names and how many more, for one-sentence errors."""
    shown = ", ".join(keys[:limit])
    return shown + (f" (+{len(keys) - limit} more)" if len(keys) > limit else "")


def check_and_load(
    module: torch.nn.Module,
    name: str,
    state: dict[str, torch.Tensor],
    source: Path,
    label: Callable[[str], str] = str,
) -> None:
    """Load ``state`` into a meta-built ``module`` (assigning its tensors), after naming any
    missing key, unexpected key or shape mismatch in one WeightsError (``label`` names keys
    the way the user's file names them)."""
    expected = module.state_dict()
    missing = sorted(label(key) for key in set(expected) - set(state))
    unexpected = sorted(label(key) for key in set(state) - set(expected))
    if missing:
        raise WeightsError(f"The checkpoint {source} lacks {name} weights: {listing(missing)}.")
    if unexpected:
        raise WeightsError(
            f"The checkpoint {source} has {name} weights its config does not describe: {listing(unexpected)}."
        )
    wrong = [
        f"{label(key)} {tuple(state[key].shape)} vs config {tuple(expected[key].shape)}"
        for key in expected
        if state[key].shape != expected[key].shape
    ]
    if wrong:
        raise WeightsError(f"The checkpoint {source} does not match its config in shape: {listing(wrong, 3)}.")
    module.load_state_dict({key: value.float() for key, value in state.items()}, strict=True, assign=True)


def build_on_meta(factory: Callable[[], torch.nn.Module]) -> torch.nn.Module:
    """Construct a module without allocating or initialising its weights."""
    with torch.device("meta"), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch's old weight_norm, used by diffusers' Oobleck
        return factory()
