"""``diffv2m prepare`` on a tiny paired set: windows, targets, latents, skips, resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest


def _manifest(prepared: Path) -> dict:
    return json.loads((prepared / "prepared.json").read_text())


def test_every_video_with_music_becomes_windows(prepared):
    manifest = _manifest(prepared)
    videos = {Path(w["video"]).name for w in manifest["windows"]}
    assert videos == {"clip0.mp4", "clip1.mp4", "clip2.mp4", "clip3.mp4", "with_own_track.mp4"}
    # 8 s clips, 4 s windows every 2 s: starts 0, 2, 4
    assert len(manifest["windows"]) == 5 * 3
    assert sorted({w["start"] for w in manifest["windows"]}) == [0.0, 2.0, 4.0]
    own = [w for w in manifest["windows"] if w["video"].endswith("with_own_track.mp4")]
    assert all(w["audio"] == w["video"] for w in own)  # the video's own track is its music
    sub = [w for w in manifest["windows"] if w["video"].endswith("clip2.mp4")]
    assert all(w["audio"].endswith("sub/clip2.wav") for w in sub)
    skipped = {Path(s["video"]).name: s["reason"] for s in manifest["skipped"]}
    assert skipped == {"no_music.mp4": "no music: no same-name sound file and no audio track"}
    assert manifest["settings"]["vae"] and manifest["settings"]["max_length"] == 4


def test_window_arrays_have_the_model_shapes(prepared):
    manifest = _manifest(prepared)
    ratio = manifest["settings"]["downsampling_ratio"]
    for window in manifest["windows"]:
        with np.load(prepared / window["file"]) as data:
            assert data["clip"].shape == (4, 512) and data["colour"].shape == (4, 3072)
            assert data["scene_cut"].shape == data["visual_beat"].shape == (4,)
            assert data["odf"].shape == (4, 1)
            channels, frames = data["latent_mean"].shape
            assert channels == manifest["settings"]["latent_channels"] and frames == 4 * 44_100 // ratio
            assert np.all(data["latent_std"] > 0) and np.all(np.isfinite(data["latent_mean"]))
            assert "audio" not in data.files  # a VAE was given and --keep-audio was not
            assert float(data["seconds"]) == 4.0


def test_targets_follow_the_music_and_the_picture(prepared):
    """The ODF target peaks in seconds with notes; the visual beats fire in seconds with flashes."""
    manifest = _manifest(prepared)
    window = next(w for w in manifest["windows"] if w["video"].endswith("clip0.mp4") and w["start"] == 0.0)
    with np.load(prepared / window["file"]) as data:
        assert np.count_nonzero(data["odf"]) >= 3  # 100 BPM: notes in every second
        assert np.count_nonzero(data["visual_beat"]) >= 3
        assert np.std(data["clip"]) > 0


def test_rerun_resumes_and_changed_settings_are_refused(prepared, data_dir, tiny_models):
    from diffv2m.errors import InputError
    from diffv2m.training.prepare import PrepareOptions, prepare

    files = sorted((prepared / "windows").rglob("*.npz"))
    stamps = [f.stat().st_mtime_ns for f in files]
    # One video lost its done marker (interrupted): only that one is redone.
    marker = next((prepared / "windows").glob("clip1-*/done.json"))
    marker.unlink()
    options = PrepareOptions(window=4, hop=2, min_seconds=4, clip=str(tiny_models["clip"]), vae=str(tiny_models["vae"]))
    manifest = prepare(data_dir, prepared, options, workers=1)
    assert manifest["resumed"] == 4 and len(manifest["windows"]) == 15
    redone = [f for f, s in zip(files, stamps, strict=True) if f.stat().st_mtime_ns != s]
    assert redone and all(f.parent == marker.parent for f in redone)
    with pytest.raises(InputError, match="other settings"):
        prepare(data_dir, prepared, PrepareOptions(window=3, min_seconds=3, clip=str(tiny_models["clip"])), workers=1)


def test_without_a_vae_the_audio_is_kept_and_encoded_while_training(data_dir, tiny_models, tmp_path):
    import shutil

    from training_helpers import write_config

    from diffv2m.training.config import load_config
    from diffv2m.training.prepare import PrepareOptions, prepare
    from diffv2m.training.trainer import train

    one = tmp_path / "one"
    one.mkdir()
    for name in ("clip0.mp4", "clip0.wav"):
        shutil.copy(data_dir / name, one / name)
    out = tmp_path / "prepared"
    manifest = prepare(one, out, PrepareOptions(window=4, hop=4, min_seconds=4, clip=str(tiny_models["clip"])))
    assert manifest["settings"]["vae"] is None and len(manifest["windows"]) == 2
    with np.load(out / manifest["windows"][0]["file"]) as data:
        assert data["audio"].dtype == np.int16 and data["audio"].shape == (2, 4 * 44_100)
        assert "latent_mean" not in data.files
    config = load_config(
        write_config(tmp_path, out, tiny_models["vae"], max_steps=2, batch_size=2, grad_accum=1, checkpoint_every=2)
    )
    result = train(config, log=lambda _: None)  # the frozen VAE encodes each batch's audio
    assert result.steps == 2 and np.isfinite(result.last_loss)
