"""How ``diffv2m eval`` finds tracks: names, takes, muxed videos, strays, mistakes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import soundfile

from diffv2m.evaluation.results import discover, match_video


def _mux(video: Path, wav: Path, out: Path) -> None:
    """The video's own H.264 packets plus the track as AAC: what a muxing engine hands back."""
    audio, rate = soundfile.read(str(wav), dtype="float32", always_2d=True)
    with av.open(str(video)) as source, av.open(str(out), "w") as target:
        vstream = target.add_stream_from_template(source.streams.video[0])
        astream = target.add_stream("aac", rate=rate)
        astream.layout = "stereo"
        for packet in source.demux(source.streams.video[0]):
            if packet.dts is not None:
                packet.stream = vstream
                target.mux(packet)
        for offset in range(0, audio.shape[0], 1024):
            block = np.ascontiguousarray(audio[offset : offset + 1024].T)
            frame = av.AudioFrame.from_ndarray(block, format="fltp", layout="stereo")
            frame.sample_rate, frame.pts = rate, offset
            for packet in astream.encode(frame):
                target.mux(packet)
        for packet in astream.encode():
            target.mux(packet)


def test_track_names_match_the_longest_video_stem():
    stems = ["clip", "clip_b", "other"]
    assert match_video("clip", stems) == "clip"
    assert match_video("clip.take2", stems) == "clip"
    assert match_video("clip_b-default", stems) == "clip_b"
    assert match_video("clipper", stems) is None


def test_takes_muxed_videos_and_strays(small_benchmark, manifest, tmp_path, cli):
    first, second = manifest["clips"][0]["id"], manifest["clips"][6]["id"]
    oracle = small_benchmark / "reference" / "oracle"
    results = tmp_path / "results"
    results.mkdir()
    shutil.copy(oracle / f"{first}.wav", results / f"{first}.wav")
    shutil.copy(small_benchmark / "reference" / "random" / f"{first}.wav", results / f"{first}.random.wav")
    _mux(small_benchmark / f"{second}.mp4", oracle / f"{second}.wav", results / f"{second}.mp4")
    (results / "stray.wav").write_bytes((oracle / f"{first}.wav").read_bytes())
    (results / "notes.txt").write_text("not a track")

    items, unmatched = discover(results, small_benchmark)
    assert sorted(i.name for i in items) == sorted([f"{first}.wav", f"{first}.random.wav", f"{second}.mp4"])
    assert unmatched == ["stray.wav"]

    out = cli("eval", str(results), "--videos", str(small_benchmark))
    assert "stray.wav" in out.stdout
    report = json.loads((results / "eval" / "report.json").read_text())
    tracks = {t["name"]: t for t in report["tracks"]}
    assert tracks[f"{first}.wav"]["onset_bas_gain"] > tracks[f"{first}.random.wav"]["onset_bas_gain"] + 0.4
    # The muxed AAC track is scored from the container and still lines up with its picture.
    muxed = tracks[f"{second}.mp4"]
    assert muxed["onset_bas"] > 0.8 and muxed["truth"] == "manifest"
    assert (results / "eval" / "report.md").read_text().count("|") > 50
    png = (results / "eval" / "timeline.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_nothing_to_score_is_one_clear_error(small_benchmark, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "diffv2m", "eval", str(empty), "--videos", str(small_benchmark)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "No tracks to evaluate" in result.stderr and "Traceback" not in result.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "diffv2m", "eval", str(tmp_path / "nope")], capture_output=True, text=True, check=False
    )
    assert missing.returncode == 1 and "does not exist" in missing.stderr


def test_videos_without_ground_truth_use_detected_events(small_benchmark, manifest, tmp_path):
    """Any folder of videos works: the events come from diffv2m.features instead of a manifest."""
    from diffv2m.evaluation.evaluate import evaluate_folder

    clip = next(c for c in manifest["clips"] if c["id"].startswith("flash_p120"))
    folder = tmp_path / "mine"
    folder.mkdir()
    shutil.copy(small_benchmark / clip["video"], folder / "holiday.mp4")
    shutil.copy(small_benchmark / "reference" / "oracle" / f"{clip['id']}.wav", folder / "holiday.wav")
    shutil.copy(small_benchmark / "reference" / "late_120ms" / f"{clip['id']}.wav", folder / "holiday.late.wav")
    report, results = evaluate_folder(folder)
    tracks = {t["name"]: t for t in report["tracks"]}
    assert {t["truth"] for t in tracks.values()} == {"detected"}
    detected = results[0].item.visual.times
    truth = np.asarray(clip["visual_events"])
    assert len(detected) == len(truth) and np.max(np.abs(detected - truth)) < 0.041  # within a frame at 25 fps
    assert tracks["holiday.wav"]["onset_bas_gain"] > 0.6 > 0.1 > tracks["holiday.late.wav"]["onset_bas_gain"]
