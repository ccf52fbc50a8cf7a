"""``diffv2m generate``: the same job path as the server, from a shell."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest
import soundfile

from diffv2m.benchmark.videos import ClipSpec, periodic_events


@pytest.fixture(scope="module")
def clip(clip_factory):
    spec = ClipSpec(3.0, Fraction(30), 320, 180, periodic_events(100, 3.0, phase=0.3), [1.5], "flash", seed=11)
    return clip_factory(spec, "cli-generate").path


def generate(*args, cache_dir) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "diffv2m", "generate", *map(str, args), "--cache-dir", str(cache_dir)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def test_generate_json_shape_and_wav(clip, tmp_path):
    out = tmp_path / "score.wav"
    run = generate(
        clip,
        "--start",
        0.5,
        "--end",
        2.5,
        "--emotion",
        "happy",
        "--seed",
        5,
        "-o",
        out,
        "--json",
        "--takes",
        2,
        cache_dir=tmp_path / "cache",
    )
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    for key in ("engine", "duration", "tempo", "beats", "downbeats"):
        assert key in summary, key
    assert summary["engine"] == "default" and summary["duration"] == 2.0 and summary["seed"] == 5
    assert summary["emotion"] == "happy"
    beats = np.asarray(summary["beats"])
    assert beats.size >= 2 and np.all((beats >= 0) & (beats < 2.0))
    assert set(summary["downbeats"]) <= set(summary["beats"])
    assert "generating" in run.stderr, "no progress bar on stderr"
    outputs = [take["output"] for take in summary["takes"]]
    assert outputs == [str(out), str(tmp_path / "score.take2.wav")]
    assert [take["seed"] for take in summary["takes"]] == [5, 6]
    for path in outputs:
        info = soundfile.info(path)
        assert (info.samplerate, info.channels, info.frames, info.subtype) == (44_100, 2, 88_200, "PCM_16")


def test_never_overwrites_without_permission(clip, tmp_path):
    out = tmp_path / "mine.wav"
    out.write_bytes(b"the user's own file")
    run = generate(clip, "--end", 1, "-o", out, cache_dir=tmp_path / "cache")
    assert run.returncode == 1
    assert (
        run.stderr.strip().splitlines()[-1]
        == f"diffv2m: error: {out} already exists; choose another name or pass --overwrite."
    )
    assert out.read_bytes() == b"the user's own file"
    run = generate(clip, "--end", 1, "-o", out, "--overwrite", "--seed", 1, "-q", cache_dir=tmp_path / "cache")
    assert run.returncode == 0, run.stderr
    assert soundfile.info(out).frames == 44_100
    assert "wrote" in run.stdout and str(out) in run.stdout
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_bad_input_is_one_line_and_writes_nothing(clip, tmp_path):
    out = tmp_path / "never.wav"
    cases = [
        ((clip, "--emotion", "grumpy"), "Unknown emotion 'grumpy'"),
        ((clip, "--start", 9), "only 3.000 s long"),
        ((clip, "--seed", -4), "seed"),
        ((tmp_path / "absent.mp4",), "does not exist"),
    ]
    notes = tmp_path / "notes.mp4"
    notes.write_text("not a video")
    cases.append(((notes,), "not a video"))
    for args, words in cases:
        run = generate(*args, "-o", out, cache_dir=tmp_path / "cache")
        assert run.returncode == 1, (args, run.stderr)
        last = run.stderr.strip().splitlines()[-1]
        assert last.startswith("diffv2m: error: ") and words in last, last
        assert "Traceback" not in run.stderr
    assert not out.exists()
    run = generate(clip, "-o", tmp_path, "--overwrite", cache_dir=tmp_path / "cache")
    assert run.returncode == 1 and "is a folder" in run.stderr.strip().splitlines()[-1]


def test_generate_with_diffv2m_weights(clip, tmp_path):
    from diffv2m.model.testing import write_tiny_weights

    weights = write_tiny_weights(tmp_path / "weights", seed=2)
    out = tmp_path / "model.wav"
    run = generate(clip, "--end", 2, "--weights", weights, "--steps", 2, "--seed", 3, "-o", out, "--json", "-q",
                   cache_dir=tmp_path / "cache")  # fmt: skip
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert summary["engine"] == "diffv2m" and summary["steps"] == 2 and summary["seed"] == 3
    assert summary["sampler"] == "dpmpp-2m"
    assert soundfile.info(out).frames == 88_200
    assert all(0 <= t < 2.0 for t in summary["beats"])

    # The released sampler, chosen by flag: same seed, another sampler, other audio.
    ddim_out = tmp_path / "ddim.wav"
    run = generate(clip, "--end", 2, "--weights", weights, "--steps", 2, "--seed", 3, "--sampler", "ddim",
                   "-o", ddim_out, "--json", "-q", cache_dir=tmp_path / "cache")  # fmt: skip
    assert run.returncode == 0, run.stderr
    ddim = json.loads(run.stdout.strip().splitlines()[-1])
    assert (ddim["engine"], ddim["sampler"], ddim["steps"], ddim["seed"]) == ("diffv2m", "ddim", 2, 3)
    assert not np.array_equal(soundfile.read(out)[0], soundfile.read(ddim_out)[0])

    # A step preset by name: the fast one as it is, and the released one with its step count overridden.
    for preset, steps, expected in (
        ("fast", (), ("dpmpp-2m", 25, "fast")),
        ("released", ("--steps", 2), ("ddim", 2, None)),
    ):
        run = generate(clip, "--end", 2, "--weights", weights, "--preset", preset, *steps, "--seed", 3, "-o",
                       tmp_path / f"{preset}.wav", "--json", "-q", cache_dir=tmp_path / "cache")  # fmt: skip
        assert run.returncode == 0, run.stderr
        summary = json.loads(run.stdout.strip().splitlines()[-1])
        assert (summary["sampler"], summary["steps"], summary["preset"]) == expected
    assert soundfile.read(tmp_path / "released.wav")[0].tolist() == soundfile.read(ddim_out)[0].tolist()

    run = generate(clip, "--weights", weights, "--sampler", "euler", "-o", tmp_path / "x.wav", cache_dir=tmp_path / "c")
    assert run.returncode == 1 and "invalid choice: 'euler'" in run.stderr and not (tmp_path / "x.wav").exists()
