"""The project weight format: exact round trips, diffusers compatibility, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from official_fixture import CKPT, CONFIG
from safetensors.torch import load_file

from diffv2m.errors import WeightsError
from diffv2m.model.acceleration import dummy_conditioning
from diffv2m.model.dit import DiffV2MTransformer
from diffv2m.model.io.loading import load_weights
from diffv2m.model.io.pretrained import load_pretrained, save_pretrained
from diffv2m.model.testing import random_stack, tiny_spec


def _same_weights(a, b) -> bool:
    for name, module in a.components.items():
        ours, theirs = module.state_dict(), b.components[name].state_dict()
        if ours.keys() != theirs.keys() or not all(torch.equal(ours[k], theirs[k]) for k in ours):
            return False
    return True


@pytest.fixture(scope="module")
def stack():
    return random_stack(tiny_spec(latent_length=16, vae_strides=(2, 2), vae_mults=(1, 2)), seed=3)


def test_save_and_load_round_trip_exactly(tmp_path, stack):
    save_pretrained(stack, tmp_path / "w")
    loaded = load_pretrained(tmp_path / "w")
    assert _same_weights(stack, loaded)
    assert loaded.info.latent_length == stack.info.latent_length
    assert loaded.info.emotion_source == stack.info.emotion_source
    x = torch.randn(1, stack.transformer.config.io_channels, 16)
    with torch.no_grad():
        t = torch.tensor([0.3])
        assert torch.equal(stack.transformer(x, t, dummy_conditioning(stack)),
                           loaded.transformer(x, t, dummy_conditioning(loaded)))  # fmt: skip
        assert torch.equal(stack.decode(x), loaded.decode(x))


def test_each_component_is_a_diffusers_model_folder(tmp_path, stack):
    save_pretrained(stack, tmp_path / "w")
    dit = DiffV2MTransformer.from_pretrained(tmp_path / "w" / "transformer")
    assert all(torch.equal(v, stack.transformer.state_dict()[k]) for k, v in dit.state_dict().items())


def test_bf16_storage_halves_the_dit_and_loads_as_float32(tmp_path, stack):
    before = {k: v.clone() for k, v in stack.transformer.state_dict().items()}
    save_pretrained(stack, tmp_path / "full")
    save_pretrained(stack, tmp_path / "half", dtype=torch.bfloat16)
    sizes = [(tmp_path / n / "transformer" / "diffusion_pytorch_model.safetensors").stat().st_size
             for n in ("full", "half")]  # fmt: skip
    assert sizes[1] < 0.55 * sizes[0]
    loaded = load_pretrained(tmp_path / "half")
    assert loaded.transformer.dtype == torch.float32
    original = stack.transformer.state_dict()
    for key, value in loaded.transformer.state_dict().items():
        if key.startswith("timestep_features."):  # an fp32 module: stored exactly, in float32
            assert torch.equal(value, original[key])
        else:
            assert torch.equal(value, original[key].bfloat16().float()), key
    stored = load_file(tmp_path / "half" / "transformer" / "diffusion_pytorch_model.safetensors")
    assert {v.dtype for k, v in stored.items() if k.startswith("timestep_features.")} == {torch.float32}
    assert stack.transformer.dtype == torch.float32  # saving did not change the live model
    after = stack.transformer.state_dict()
    assert after.keys() == before.keys() and all(torch.equal(after[k], before[k]) for k in before)


def test_convert_command_makes_a_folder_equal_to_the_official_checkpoint(tmp_path, official_stack):
    out = tmp_path / "converted"
    subprocess.run([sys.executable, "-m", "diffv2m", "convert", str(CKPT), str(CONFIG), str(out)], check=True,
                   capture_output=True)  # fmt: skip
    converted = load_weights(str(out))
    assert _same_weights(official_stack, converted)
    assert converted.info.emotion_source == "released"
    again = subprocess.run([sys.executable, "-m", "diffv2m", "convert", str(CKPT), str(CONFIG), str(out)],
                           capture_output=True, text=True)  # fmt: skip
    assert again.returncode != 0 and "not empty" in again.stderr  # never overwrites


def test_weights_paths_are_resolved_or_refused_clearly(tmp_path, official_stack):
    folder = tmp_path / "official"
    folder.mkdir()
    (folder / "model_odf.ckpt").symlink_to(CKPT)
    (folder / "model_config_odf.json").symlink_to(CONFIG)
    assert _same_weights(load_weights(str(folder)), official_stack)
    assert _same_weights(load_weights(str(folder / "model_odf.ckpt")), official_stack)
    with pytest.raises(WeightsError, match="does not exist"):
        load_weights(str(tmp_path / "missing" / "weights"))
    with pytest.raises(WeightsError, match="DIFFV2M_ALLOW_DOWNLOAD"):
        load_weights("TaylorJi/Diff-V2M", allow_download=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(WeightsError, match=r"neither diffv2m\.json nor"):
        load_weights(str(empty))


def test_damaged_project_folders_are_named(tmp_path, stack):
    save_pretrained(stack, tmp_path / "w")
    (tmp_path / "w" / "vae" / "diffusion_pytorch_model.safetensors").unlink()
    with pytest.raises(WeightsError, match=r"no diffusion_pytorch_model\.safetensors"):
        load_pretrained(tmp_path / "w")
    save_pretrained(stack, tmp_path / "v")
    config = json.loads((tmp_path / "v" / "transformer" / "config.json").read_text())
    config["depth"] = 3
    (tmp_path / "v" / "transformer" / "config.json").write_text(json.dumps(config))
    with pytest.raises(WeightsError, match=r"lacks transformer weights: blocks\.2\."):
        load_pretrained(tmp_path / "v")
