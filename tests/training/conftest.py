"""A tiny synthetic paired set, prepared and trained once per session through the real CLI."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
import soundfile
from training_helpers import run_cli, write_config

from diffv2m.benchmark.tracks import event_track
from diffv2m.benchmark.videos import ClipSpec, periodic_events, write_clip

CLIP_SECONDS = 8.0


@pytest.fixture(scope="session")
def cli():
    return run_cli


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny random CLIP (saved like a downloaded one) and tiny project weights whose VAE makes the latents."""
    import torch
    from transformers import CLIPVisionModelWithProjection

    from diffv2m.features.semantic import tiny_clip_config
    from diffv2m.model.testing import write_tiny_weights

    folder = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    CLIPVisionModelWithProjection(tiny_clip_config()).save_pretrained(folder / "clip")
    write_tiny_weights(folder / "vae-source", seed=1, emotion_source="colour")
    return {"clip": folder / "clip", "vae": folder / "vae-source"}


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four videos with same-name WAVs of notes on their visual events, one with its own audio track, one silent."""
    folder = tmp_path_factory.mktemp("data")
    for index, (bpm, kind) in enumerate(((100.0, "flash"), (125.0, "bounce"), (90.0, "flash"), (140.0, "bounce"))):
        events = periodic_events(bpm, CLIP_SECONDS, phase=0.1 * index)
        spec = ClipSpec(CLIP_SECONDS, Fraction(25), 128, 96, events, events[4::4], kind, seed=index)  # type: ignore[arg-type]
        name = f"sub/clip{index}" if index == 2 else f"clip{index}"
        truth = write_clip(folder / f"{name}.mp4", spec)
        music = event_track(truth.event_times, CLIP_SECONDS, seed=index)
        soundfile.write(folder / f"{name}.wav", music.T, 44_100, subtype="PCM_16")
    muxed = ClipSpec(CLIP_SECONDS, Fraction(24), 128, 96, periodic_events(110.0, CLIP_SECONDS), [], "flash", audio=True)
    write_clip(folder / "with_own_track.mp4", muxed)
    silent = ClipSpec(4.0, Fraction(25), 128, 96, [1.0, 2.0], [], "flash")
    write_clip(folder / "no_music.mp4", silent)
    return folder


@pytest.fixture(scope="session")
def prepared(data_dir: Path, tiny_models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("prepared") / "set"
    run_cli(
        "prepare",
        str(data_dir),
        str(out),
        "--window",
        "4",
        "--hop",
        "2",
        "--min-seconds",
        "4",
        "--clip",
        str(tiny_models["clip"]),
        "--vae",
        str(tiny_models["vae"]),
        "--workers",
        "2",
    )
    return out


@pytest.fixture(scope="session")
def trained(prepared: Path, tiny_models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 optimiser steps of the tiny config; returns the run folder."""
    folder = tmp_path_factory.mktemp("train")
    run_cli("train", str(write_config(folder, prepared, tiny_models["vae"])))
    return folder / "run"
