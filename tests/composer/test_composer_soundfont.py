"""Sampled instruments: the General-MIDI bank lookup, what each result says about it, the GM
orchestration per mood, section and seed, drums on the GM kit, and a stereo mix on every mood."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from composer_checks import frame_quantised_pulse, make_features

from diffv2m.emotion import PRESETS
from diffv2m.engines.base import GenerationRequest
from diffv2m.engines.composer import ComposerEngine
from diffv2m.engines.composer.orchestration import DRUM_KEYS, PROGRAMS, orchestrate
from diffv2m.engines.composer.sampled import KIT, KIT_CHANNELS, ON, part_events
from diffv2m.engines.composer.soundfont import (
    NUMPY_BANK_NAME,
    BankInfo,
    find_bank,
    renderer_available,
    system_candidates,
)
from diffv2m.engines.composer.timeline import Note
from diffv2m.errors import SoundBankError

needs_renderer = pytest.mark.skipif(not renderer_available(), reason="tinysoundfont not installed (scripts/setup.sh)")
DURATION = 10.0
FEATURES = make_features(frame_quantised_pulse(112, DURATION, 0.3, 25.0), DURATION, cuts=[4.8])


def timgm6mb() -> str:
    bank = next((b for b in system_candidates() if b.name == "TimGM6mb"), None)
    if bank is None:
        pytest.skip("pretty_midi (which ships TimGM6mb) is not installed")
    return str(bank.path)


def correlation(audio: np.ndarray) -> float:
    left, right = audio.astype(np.float64)
    return float((left * right).sum() / np.sqrt((left * left).sum() * (right * right).sum()))


@pytest.fixture(scope="module")
def numpy_engine() -> ComposerEngine:
    return ComposerEngine("numpy")


def generate(engine: ComposerEngine, emotion: str = "happy", seed: int = 1):
    return engine.generate(GenerationRequest(FEATURES, PRESETS[emotion], seed, DURATION))


def test_lookup_takes_the_first_installed_bank_in_order(tmp_path):
    bank = timgm6mb()
    first, second = tmp_path / "MuseScore_General.sf3", tmp_path / "FluidR3_GM.sf2"
    order = [BankInfo("MuseScore General", "MIT", str(first)), BankInfo("FluidR3_GM", "MIT", str(second))]
    if renderer_available():
        assert find_bank(None, order).name == NUMPY_BANK_NAME  # none installed: the numpy synthesis
        second.symlink_to(bank)
        assert find_bank(None, order).name == "FluidR3_GM"
        first.symlink_to(bank)
        assert find_bank(None, order).name == "MuseScore General"
    assert find_bank("numpy", order).name == NUMPY_BANK_NAME


def test_a_missing_or_corrupt_configured_bank_is_one_clear_error(tmp_path):
    with pytest.raises(SoundBankError) as missing:
        ComposerEngine(str(tmp_path / "nowhere.sf2"))
    assert "nowhere.sf2 does not exist" in missing.value.message and "\n" not in missing.value.message
    corrupt = tmp_path / "broken.sf2"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00not a soundfont at all")
    if renderer_available():
        with pytest.raises(SoundBankError) as unreadable:
            ComposerEngine(str(corrupt))
        assert "could not be read" in unreadable.value.message


@needs_renderer
def test_every_result_names_its_bank(composer, numpy_engine):
    sampled = generate(composer)
    assert sampled.extra["sound_bank"] == composer.bank_info.as_dict()
    assert sampled.extra["sound_bank"]["name"] != NUMPY_BANK_NAME and sampled.extra["sound_bank"]["licence"]
    assert composer.describe()["sound_bank"]["name"] == sampled.extra["sound_bank"]["name"]
    synthesised = generate(numpy_engine)
    assert synthesised.extra["sound_bank"]["name"] == NUMPY_BANK_NAME
    # Same score, other sound: the bank changes the audio, not the music.
    assert sampled.extra["gm_programs"] == synthesised.extra["gm_programs"]
    np.testing.assert_array_equal(sampled.beats, synthesised.beats)
    assert not np.allclose(sampled.audio, synthesised.audio)


@needs_renderer
def test_configured_bank_is_the_one_used():
    engine = ComposerEngine(timgm6mb())
    result = generate(engine, "calm", 3)
    assert result.extra["sound_bank"]["path"] == timgm6mb()
    assert np.abs(result.audio).max() > 0.1 and -15 <= result.extra["lufs"] <= -13


def test_neighbouring_seeds_change_every_parts_program():
    sections = [(0.0, 1), (5.0, 1)]
    for mood in PROGRAMS:
        takes = [orchestrate(mood, seed, sections) for seed in range(1, 5)]
        for one, two in itertools.pairwise(takes):
            for part in PROGRAMS[mood]:
                assert one.programs[part] != two.programs[part], (mood, part)
            assert one.kit != two.kit, mood


def test_loud_sections_play_the_full_programs():
    take = orchestrate("epic", 0, [(0.0, 1), (4.0, 3), (8.0, 1)])
    changed = [part for part, changes in take.programs.items() if len({p for _, p in changes}) > 1]
    assert changed, "no part changes instrument between a quiet and a loud section"
    for part in changed:
        soft, loud, again = (program for _, program in take.programs[part])
        assert soft == again != loud
        assert take.program_at(part, 5.0) == loud and take.program_at(part, 9.0) == soft


def test_drums_play_on_the_gm_percussion_channel():
    notes = [Note(voice, 0.1 * k, 0.0, 0, 0.9) for k, voice in enumerate(DRUM_KEYS)]
    events = [e for e in part_events(notes, "drums", orchestrate("happy", 1, [(0.0, 1)]), 44_100) if e.kind == ON]
    assert sorted(e.key for e in events) == sorted(DRUM_KEYS.values())
    kit_channels = {KIT, *KIT_CHANNELS.values()}
    assert {e.channel for e in events} <= kit_channels
    assert KIT == 9  # MIDI channel 10, 0-based


@needs_renderer
def test_seeds_give_different_instruments_in_the_result(composer):
    first, second = generate(composer, "tense", 1), generate(composer, "tense", 2)
    programs = [first.extra["gm_programs"], second.extra["gm_programs"]]
    differing = [part for part in programs[0] if programs[0][part] != programs[1][part]]
    assert len(differing) >= len(programs[0]) - 1, programs


@needs_renderer
def test_every_mood_is_stereo_and_happy_and_tense_are_wider_than_before(composer, numpy_engine):
    for mood in PROGRAMS:
        sampled = correlation(generate(composer, mood).audio)
        assert sampled < 0.9, (mood, sampled)
        if mood in {"happy", "tense"}:
            assert sampled < correlation(generate(numpy_engine, mood).audio) - 0.03, mood
