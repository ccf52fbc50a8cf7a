"""The one key-name table read both ways, and the one rule each for hub ids and config choice."""

from __future__ import annotations

import pytest

from diffv2m.model.io.official_names import CONDITIONER, DIT, RHYTHM_PREDICTOR, vae_table
from diffv2m.model.io.sources import is_hub_id, pick_config
from diffv2m.model.testing import random_stack, tiny_spec


def test_every_key_of_a_stack_round_trips_through_its_table():
    stack = random_stack(tiny_spec())
    depth = len(stack.vae.config.downsampling_ratios)
    tables = {
        "transformer": DIT,
        "rhythm_predictor": RHYTHM_PREDICTOR,
        "conditioner": CONDITIONER,
        "vae": vae_table(depth),
    }
    for name, table in tables.items():
        keys = list(getattr(stack, name).state_dict())
        released = [table.to_released(key) for key in keys]
        assert None not in released, name
        assert len(set(released)) == len(keys), name  # no two of our keys share a released name
        assert [table.to_ours(key) for key in released] == keys, name


def test_block_names_follow_the_released_layout():
    assert DIT.to_ours("transformer.layers.3.cross_attn0.to_kv.weight") == "blocks.3.emotion_attn.to_kv.weight"
    assert DIT.to_released("blocks.0.ff.ff.1.bias") == "transformer.layers.0.ff.ff.2.bias"
    assert DIT.to_ours("transformer.layers.0.unknown.weight") is None


def test_hub_id_rule(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert is_hub_id("TaylorJi/Diff-V2M")
    assert not is_hub_id("./weights") and not is_hub_id("../weights") and not is_hub_id("/abs/path")
    assert not is_hub_id("a/b/c") and not is_hub_id("~/weights")
    (tmp_path / "owner" / "name").mkdir(parents=True)
    assert not is_hub_id("owner/name")  # an existing local folder is a path


@pytest.mark.parametrize(
    ("names", "chosen"),
    [
        (["model_config.json", "model_config_odf.json", "diffv2m.json"], "model_config_odf.json"),
        (["b_config.json", "a_config.json"], "a_config.json"),
        (["diffv2m.json", "notes.json"], None),
        (["sub/model_config_odf.json", "model_config.json"], "sub/model_config_odf.json"),
    ],
)
def test_config_choice_prefers_odf(names, chosen):
    assert pick_config(names) == chosen
