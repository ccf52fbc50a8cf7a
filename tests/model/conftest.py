"""Shared fixtures of the model tests: the official tiny checkpoint and its expected tensors."""

from __future__ import annotations

import pytest
import torch
from official_fixture import CASES, CKPT, CONFIG
from safetensors.torch import load_file

from diffv2m.model.conformance import case_inputs, is_input
from diffv2m.model.io.official_checkpoint import load_official


@pytest.fixture(scope="session")
def official_stack():
    return load_official(CKPT, CONFIG)


@pytest.fixture(scope="session")
def expected() -> dict[str, torch.Tensor]:
    """The official outputs (only tests read these; the conformance command never does)."""
    return {name: value for name, value in load_file(CASES).items() if not is_input(name)}


@pytest.fixture(scope="session")
def inputs() -> dict[str, torch.Tensor]:
    return case_inputs(CASES)


@pytest.fixture(autouse=True)
def single_thread():
    """Tiny models run fastest on one thread, and a shared 2-core machine punishes OpenMP spinning."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
