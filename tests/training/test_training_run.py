"""``diffv2m train`` on the tiny prepared set: the loss falls, checkpoints, exact resume, the weights serve."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from training_helpers import read_log, write_config

from diffv2m.training.checkpoint import all_checkpoints


def _mean(values: list[float]) -> float:
    return float(np.mean(values))


def test_loss_falls_and_checkpoints_are_written(trained):
    log = read_log(trained)
    assert [r["step"] for r in log] == list(range(1, 25))
    first, last = log[:6], log[-6:]
    assert _mean([r["loss"] for r in last]) < 0.6 * _mean([r["loss"] for r in first])
    assert _mean([r["diffusion_loss"] for r in last]) < _mean([r["diffusion_loss"] for r in first])
    assert _mean([r["rhythm_loss"] for r in last]) < _mean([r["rhythm_loss"] for r in first])
    # scheduled conditioning ran through its whole range
    assert log[0]["p_real"] == 1.0 and log[-1]["p_real"] == 0.0
    assert [p.name for p in all_checkpoints(trained)] == ["step-0000008", "step-0000016", "step-0000024"]
    assert (trained / "weights" / "diffv2m.json").is_file() and (trained / "weights-ema" / "diffv2m.json").is_file()


def test_resume_repeats_the_loss_trajectory_exactly(trained, tmp_path, prepared, tiny_models):
    """Stopped after step 8, resumed: steps 9..24 match the unbroken run bit for bit (same machine, 1 thread)."""
    from diffv2m.errors import InputError
    from diffv2m.training.config import load_config
    from diffv2m.training.trainer import train

    config = load_config(write_config(tmp_path, prepared, tiny_models["vae"]))
    resumed = config.output
    shutil.copytree(trained / "checkpoints" / "step-0000008", resumed / "checkpoints" / "step-0000008")
    lines = (trained / "log.jsonl").read_text().splitlines()[:8]
    (resumed / "log.jsonl").write_text("".join(line + "\n" for line in lines))
    with pytest.raises(InputError, match="--resume"):
        train(config, resume=False, log=lambda _: None)  # never silently restarts over checkpoints
    result = train(config, resume=True, log=lambda _: None)
    assert result.steps == 24
    assert read_log(resumed) == read_log(trained)


def test_trained_weights_load_into_the_engine_and_generate(trained, data_dir, tiny_models):
    from diffv2m.emotion import resolve_emotion
    from diffv2m.engines.base import GenerationRequest
    from diffv2m.engines.diffv2m_engine import DiffV2MEngine
    from diffv2m.features.extract import extract_features
    from diffv2m.features.semantic import ClipEncoder
    from diffv2m.settings import Settings

    clip = ClipEncoder.from_pretrained(tiny_models["clip"], device="cpu")
    features = extract_features(data_dir / "clip0.mp4", 0.0, 4.0, clip=clip)
    for weights in ("weights", "weights-ema"):
        settings = Settings(weights=str(trained / weights), clip=str(tiny_models["clip"]), device="cpu")
        engine = DiffV2MEngine.from_settings(settings)
        request = GenerationRequest(features, resolve_emotion("calm"), seed=5, duration=4.0, steps=3)
        result = engine.generate(request)
        assert result.audio.shape == (2, 4 * 44_100)
        assert np.all(np.isfinite(result.audio)) and np.any(result.audio != 0)
        assert result.engine == "diffv2m" and result.weights.startswith("trained by diffv2m train (24 steps)")
        assert result.weights.endswith(", EMA") == (weights == "weights-ema")


def test_config_mistakes_are_one_clear_error(tmp_path, prepared, tiny_models, cli):
    from diffv2m.errors import InputError
    from diffv2m.training.config import load_config

    config = write_config(tmp_path, prepared, tiny_models["vae"])
    text = config.read_text()
    for bad, words in (
        ('rhythm = "chroma"', "rhythm"),
        ("batch_sise = 4", "batch_sise"),
        ('grad_clip = "high"', "grad_clip"),
    ):
        config.write_text(text + bad + "\n")
        with pytest.raises(InputError, match=words):
            load_config(config)
    # Through the CLI: exit 1 and one clear message naming the typo, no traceback.
    config.write_text(text + "batch_sise = 4\n")
    result = cli("train", str(config), check=False)
    assert result.returncode == 1 and "batch_sise" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.count("diffv2m: error:") == 1, result.stderr


def test_fine_tune_from_an_official_checkpoint(data_dir, tiny_models, tmp_path):
    """init = an official-format model.ckpt (the released layout), its own VAE making the latents."""
    from diffv2m.errors import InputError
    from diffv2m.model.testing import tiny_spec, write_official_checkpoint
    from diffv2m.training.config import load_config
    from diffv2m.training.prepare import PrepareOptions, prepare
    from diffv2m.training.trainer import train

    checkpoint, _, _ = write_official_checkpoint(tmp_path / "official", tiny_spec(), seed=4)
    one = tmp_path / "one"
    one.mkdir()
    for name in ("clip1.mp4", "clip1.wav"):
        shutil.copy(data_dir / name, one / name)
    options = PrepareOptions(window=4, hop=4, min_seconds=4, clip=str(tiny_models["clip"]), vae=str(checkpoint))
    prepare(one, tmp_path / "prepared", options)
    config_path = write_config(tmp_path, tmp_path / "prepared", checkpoint, max_steps=2, batch_size=2, grad_accum=1)
    config = load_config(config_path)
    config.model.init = str(checkpoint)  # fine-tune instead of scratch
    result = train(config, log=lambda _: None)
    assert result.steps == 2 and np.isfinite(result.last_loss)
    # A VAE other than the one that made the latents is refused before any training.
    config.model.init, config.model.vae = "scratch", str(tiny_models["vae"])
    config.output = tmp_path / "other"
    with pytest.raises(InputError, match="different VAE"):
        train(config, log=lambda _: None)
