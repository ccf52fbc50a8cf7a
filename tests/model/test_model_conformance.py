"""The released checkpoint format, reproduced: every official tensor of set A within 1e-4."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
from official_fixture import CASES, CKPT, CONFIG, TAGS, max_abs
from safetensors.torch import load_file, save_file

from diffv2m.model.conformance import compute_outputs
from diffv2m.model.io.official_checkpoint import load_official

REQUIRED = [
    "rhythm_extractor_odf",
    "cond_semantic_tokens",
    "cond_semantic_mask",
    "cond_pred_rhythm_tokens",
    "cond_pred_rhythm_mask",
    "cond_gt_rhythm_tokens",
    "cond_color_tokens",
    "cond_seconds_start_embedding",
    "cond_seconds_total_embedding",
    "cond_class_embedding",
    "ctx_semantic",
    "ctx_pred_rhythm",
    "ctx_color",
    "global_cond",
    "sample_final_latent",
    "sample_x_after_step",
    "sample_decoded_audio",
    "vae_encode_mean",
    "vae_encode_stdev",
    "vae_decode_of_mean",
] + [f"dit_{kind}_{tag}" for kind in ("v_cond", "v_uncond", "v_cfg3") for tag in TAGS]


@pytest.fixture(scope="module")
def command_outputs(tmp_path_factory, inputs):
    """Run ``diffv2m conformance`` on a cases file that holds the inputs only (so it cannot read outputs)."""
    folder = tmp_path_factory.mktemp("conformance")
    inputs_only, out = folder / "inputs_only.safetensors", folder / "out.safetensors"
    save_file(inputs, str(inputs_only))
    result = subprocess.run(
        [sys.executable, "-m", "diffv2m", "conformance", str(CKPT), str(CONFIG), str(inputs_only), str(out)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr
    return load_file(str(out))


def test_every_official_output_is_reproduced_within_1e_4(command_outputs, expected):
    missing = [name for name in REQUIRED if name not in command_outputs]
    assert not missing, f"conformance did not write {missing}"
    online = {name: value for name, value in expected.items() if not name.endswith("_ema_weights")}
    not_written = sorted(set(online) - set(command_outputs))
    assert not_written == [], f"official outputs not recomputed: {not_written}"
    errors = {name: max_abs(command_outputs[name], value) for name, value in online.items()}
    worst = max(errors, key=errors.get)
    assert errors[worst] <= 1e-4, f"{worst} differs by {errors[worst]:.3g}"
    assert len(errors) >= 45


def test_only_input_tensors_are_read_from_the_cases_file(official_stack, command_outputs):
    from diffv2m.model.conformance import case_inputs

    read = case_inputs(CASES)  # the cases file holds the official outputs too: none of them may be read
    assert read and not set(REQUIRED) & set(read), sorted(set(REQUIRED) & set(read))
    assert all(
        name.startswith(("in_", "dit_t_"))
        or name in {"dit_x", "sample_noise", "sample_t_schedule", "vae_in_audio", "vae_encode_noise"}
        for name in read
    )
    in_process = compute_outputs(official_stack, read)
    assert in_process.keys() == command_outputs.keys()
    assert all(torch.equal(in_process[name], command_outputs[name]) for name in in_process)


def test_ema_weights_fail_against_the_official_inference_and_match_their_own_reference(inputs, expected):
    ema = load_official(CKPT, CONFIG, use_ema=True)
    conditioning = ema.condition(_window(ema, inputs)).conditioning
    for tag in TAGS:
        with torch.no_grad():
            v = ema.transformer(inputs["dit_x"], inputs[f"dit_t_{tag}"], conditioning)
        assert max_abs(v, expected[f"dit_v_cond_{tag}_ema_weights"]) <= 1e-4
        assert max_abs(v, expected[f"dit_v_cond_{tag}"]) > 1e-2


def test_the_fusion_switch_uses_raw_t_not_sigma(official_stack, inputs, expected):
    """At t = 0.15, sigma = sin(0.15 π/2) = 0.233 > 0.2: a sigma switch would take the semantic branch."""
    stack = official_stack
    conditioning = stack.condition(_window(stack, inputs)).conditioning
    t = inputs["dit_t_t0p15"]
    with torch.no_grad():
        released = stack.transformer(inputs["dit_x"], t, conditioning)
        sigma_switched = stack.transformer(inputs["dit_x"], t, conditioning, hint="semantic")
    assert max_abs(released, expected["dit_v_cond_t0p15"]) <= 1e-4
    assert max_abs(sigma_switched, expected["dit_v_cond_t0p15"]) > 1e-2
    # at t = 0.7 both rules agree, and forcing the semantic branch changes nothing
    with torch.no_grad():
        forced = stack.transformer(inputs["dit_x"], inputs["dit_t_t0p7"], conditioning, hint="semantic")
    assert max_abs(forced, expected["dit_v_cond_t0p7"]) <= 1e-4


def _window(stack, inputs):
    from diffv2m.model.conformance import _window_inputs

    return _window_inputs(stack, inputs)
