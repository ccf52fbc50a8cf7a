"""``diffv2m generate --midi``: a standard MIDI file with the tempo map, cut markers and one track per part,
and ``sound_bank`` in ``--json``; through the real CLI on real footage and on a clip with known cuts."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction

import mido
import numpy as np
import pytest

from diffv2m.benchmark.videos import ClipSpec, periodic_events
from diffv2m.engines.composer.soundfont import NUMPY_BANK_NAME, renderer_available

CUTS = [2.0, 4.28]


@pytest.fixture(scope="module")
def cut_clip(clip_factory):
    spec = ClipSpec(6.0, Fraction(25), 320, 180, periodic_events(108, 6.0, phase=0.2), CUTS, "flash", seed=4)
    return clip_factory(spec, "midi-cuts")


def generate(*args, cache_dir) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "diffv2m", "generate", *map(str, args), "--cache-dir", str(cache_dir), "-q"]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def seconds_of(song: mido.MidiFile) -> list[tuple[float, mido.Message]]:
    """Every message with its absolute time in seconds, through the file's own tempo map."""
    now, timed = 0.0, []
    for message in song:  # mido converts delta ticks to seconds with the tempo changes
        now += message.time
        timed.append((now, message))
    return timed


def test_midi_has_tempo_map_markers_and_parts(cut_clip, tmp_path):
    wav, midi = tmp_path / "score.wav", tmp_path / "score.mid"
    run = generate(cut_clip.path, "-o", wav, "--midi", midi, "--emotion", "happy", "--seed", 3, "--json",
                   cache_dir=tmp_path / "cache")  # fmt: skip
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert summary["takes"][0]["midi"] == str(midi)
    song = mido.MidiFile(midi)
    assert song.type == 1
    names = [next(m.name for m in track if m.type == "track_name") for track in song.tracks]
    assert names[0] == "conductor" and {"drums", "bass", "melody"} <= set(names[1:])
    timed = seconds_of(song)
    tempo_times = np.array([t for t, m in timed if m.type == "set_tempo"])
    for beat in summary["beats"]:  # a tempo change on every beat: the DAW's grid is the music's
        assert np.abs(tempo_times - beat).min() < 0.002, beat
    markers = [t for t, m in timed if m.type == "marker"]
    truth = cut_clip.cut_times[(cut_clip.cut_times > 0) & (cut_clip.cut_times < summary["duration"])]
    assert len(markers) == truth.size and np.allclose(markers, truth, atol=0.06), (markers, truth)
    drums = [m for _, m in timed if m.type == "note_on" and m.channel == 9 and m.velocity > 0]
    assert drums and {m.note for m in drums} <= set(range(35, 82))  # the GM percussion key range
    onsets = [t for t, m in timed if m.type == "note_on" and m.velocity > 0]
    assert 0 <= min(onsets) and max(onsets) < summary["duration"]
    programs = summary["details"]["gm_programs"]
    midi_programs = {m.program for _, m in timed if m.type == "program_change" and m.channel != 9}
    assert set(programs["melody"]) <= midi_programs and set(programs["bass"]) <= midi_programs


def test_bikes_reports_its_bank_and_writes_midi_per_take_without_overwriting(bikes, tmp_path):
    wav, midi = tmp_path / "bikes.wav", tmp_path / "bikes.mid"
    run = generate(bikes, "--end", 4, "-o", wav, "--midi", midi, "--takes", 2, "--seed", 8, "--json",
                   cache_dir=tmp_path / "cache")  # fmt: skip
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    bank = summary["sound_bank"]
    assert bank["licence"] and (bank["name"] != NUMPY_BANK_NAME) == renderer_available()
    second = tmp_path / "bikes.take2.mid"
    assert [t["midi"] for t in summary["takes"]] == [str(midi), str(second)]
    first_bytes = midi.read_bytes()
    assert mido.MidiFile(second).tracks and first_bytes != second.read_bytes()
    again = generate(bikes, "--end", 4, "-o", tmp_path / "other.wav", "--midi", midi, cache_dir=tmp_path / "cache")
    assert again.returncode != 0 and "already exists" in again.stderr
    assert midi.read_bytes() == first_bytes and not (tmp_path / "other.wav").exists()


def test_numpy_synthesis_is_reported_and_a_missing_bank_is_refused(bikes, tmp_path):
    run = generate(bikes, "--end", 2, "-o", tmp_path / "n.wav", "--sound-bank", "numpy", "--json",
                   cache_dir=tmp_path / "cache")  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1])["sound_bank"]["name"] == NUMPY_BANK_NAME
    missing = generate(bikes, "-o", tmp_path / "m.wav", "--sound-bank", tmp_path / "no.sf2", cache_dir=tmp_path / "c")
    assert missing.returncode != 0 and "no.sf2 does not exist" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1, missing.stderr
