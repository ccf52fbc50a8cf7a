"""The composer on real footage through the real CLI: tempo, cuts, dynamics, ending, takes, auto.

Clips: bigbuckbunny.mp4 (its sunny meadow for ``auto``) and clips of real photographs with
pans, zooms and cuts at irregular known times (tests/conftest.py ``photo_clip``). Every
figure is measured on the WAV the CLI wrote; tempo ranges come from the style table.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
from composer_checks import detect_onsets, ending_drop, loudness_range, recall, shared_onsets, short_term_loudness

from diffv2m.engines.composer.style import TABLE

WINDOW = 0.07


def cli(video: Path, out: Path, cache: Path, emotion: str, seed: int = 1, takes: int = 2) -> dict:
    command = [sys.executable, "-m", "diffv2m", "generate", str(video), "--emotion", emotion, "--seed", str(seed)]
    command += ["--takes", str(takes), "-o", str(out), "--json", "--cache-dir", str(cache), "--engine", "default"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def scores(photo_clip, tmp_path_factory) -> dict:
    """Every mood, two takes each, on the irregular clip (one CLI run per mood)."""
    folder = tmp_path_factory.mktemp("footage-scores")
    clip = photo_clip("irregular")
    return {mood: cli(clip.path, folder / f"{mood}.wav", folder / "cache", mood) for mood in TABLE}


@pytest.fixture(scope="module")
def accelerating_scores(photo_clip, tmp_path_factory) -> dict:
    """Every mood, two takes each, on the accelerating clip. The slow moods' narrow tempo ranges leave
    both takes the same grid there, so only the playing can tell their takes apart."""
    folder = tmp_path_factory.mktemp("footage-accelerating-scores")
    clip = photo_clip("accelerating")
    return {mood: cli(clip.path, folder / f"{mood}.wav", folder / "cache", mood) for mood in TABLE}


def audio_of(take: dict) -> np.ndarray:
    audio, _ = soundfile.read(take["output"], dtype="float32", always_2d=True)
    return audio.T


def test_cuts_on_beats_tempo_in_range_and_no_short_beat(scores, photo_clip):
    cuts = photo_clip("irregular").cut_times
    tempos = {}
    for mood, summary in scores.items():
        low, _, high = TABLE[mood].tempo
        sections = summary["details"]["sections"]
        assert all(low / 1.011 <= s["tempo"] <= high * 1.011 for s in sections), [s["tempo"] for s in sections]
        beats = np.asarray(summary["beats"])
        assert recall(cuts, beats, WINDOW) >= 0.9
        assert recall(cuts, np.asarray(summary["downbeats"]), WINDOW) >= 0.9  # the cuts start bars
        intervals = np.diff(beats)
        assert intervals.min() >= 0.7 * np.median(intervals)
        tempos[mood] = summary["tempo"]
    assert tempos["happy"] >= 1.3 * tempos["sad"], tempos


def test_ending_rings_out_to_silence(scores):
    for summary in scores.values():
        for take in summary["takes"]:
            assert ending_drop(audio_of(take)) >= 30.0


@pytest.mark.parametrize("clip", ["irregular", "accelerating"])
def test_takes_are_alternatives(scores, accelerating_scores, photo_clip, clip):
    """Two takes share under 70 % of their onsets (+-30 ms, hits on cuts aside), on every mood."""
    cuts = photo_clip(clip).cut_times
    shares = {}
    for mood, summary in (scores if clip == "irregular" else accelerating_scores).items():
        first, second = summary["takes"]
        shares[mood] = shared_onsets(detect_onsets(audio_of(first)), detect_onsets(audio_of(second)), cuts)
    assert max(shares.values()) < 0.7, shares


def test_every_mood_builds_into_the_fast_cutting(accelerating_scores):
    """Where the picture's pace changes: >= 5 LU of range and >= 3 LU more in the last third than the first."""
    figures = {}
    for mood, summary in accelerating_scores.items():
        for take in summary["takes"]:
            audio = audio_of(take)
            loudness = short_term_loudness(audio)
            third = loudness.size // 3
            figures[mood, take["seed"]] = (loudness_range(audio), loudness[-third:].mean() - loudness[:third].mean())
    assert all(spread >= 5.0 and build >= 3.0 for spread, build in figures.values()), figures


def test_auto_hears_the_sunny_meadow_as_happy_or_calm(bigbuckbunny, tmp_path):
    summary = cli(bigbuckbunny, tmp_path / "meadow.wav", tmp_path / "cache", "auto", takes=1)
    assert summary["details"]["style"] in ("happy", "calm"), summary["details"]["style"]
