"""The add-on in real headless Blender (PyPI bpy 4.5 LTS, 5.0, 5.3) against the real server.

One Blender process per release runs every scenario (bpy_scenarios.py) on scenes
built from clips made here with PyAV; the assertions below compare what Blender
ended up with against how the scene was built and what the server returned.
"""

from __future__ import annotations

import itertools
import json
import math
import shlex
import sys
import wave
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest
from addon_support import (
    REPO,
    frame_of_grey,
    free_port,
    http_json,
    server_job_stopped,
    stop_processes_running,
    write_index_clip,
    write_tone,
)

from diffv2m.benchmark.videos import ClipSpec

RELEASES = ["4.5", "5.0", "5.3"]
# Each release also scores NTSC-rate scenes; spread so every rate runs on two releases.
NTSC = {"23.976": (24, 1.001, Fraction(24000, 1001)), "29.97": (30, 1.001, Fraction(30000, 1001))}
FPS_SCENES = {"4.5": ["23.976"], "5.0": ["23.976", "29.97"], "5.3": ["29.97"]}
START_SERVER_ON = "5.0"  # the preferences' Start Command is tried on one release (a server start each)
# The cut the scenes are built from (bpy_scenarios.build_cut_scene): A is trimmed 5
# frames at its head and 3 at its tail, B 7 at its head and starts where A ends.
A_TRIM, A_TAIL, B_TRIM, CLIP_SECONDS = 5, 3, 7, 3.0
MAPPING_STRIPS = [  # in a 24 fps scene; C lies above the A/B cut, D after a gap
    {"name": "A", "clip": "i30", "channel": 1, "start": 1, "trim_start": 4, "trim_end": 10},
    {"name": "B", "clip": "i30", "channel": 1, "start": 77, "trim_start": 6, "auto_rate": True},
    {"name": "C", "clip": "i25", "channel": 2, "start": 60, "trim_start": 3, "trim_end": 40},
    {"name": "D", "clip": "i25", "channel": 1, "start": 150, "trim_end": 50},
]
MAPPING_METAS = [{"name": "M", "members": ["C"], "right": 85}]  # C grouped (Ctrl+G), the meta trimmed


@pytest.fixture(scope="session")
def media(tmp_path_factory, clip_factory) -> dict:
    folder = tmp_path_factory.mktemp("addon-media")
    made = {
        "tone": str(write_tone(folder / "user-music.wav", 2.0)),
        "i30": str(write_index_clip(folder / "index30.mp4", Fraction(30), 90)),
        "i25": str(write_index_clip(folder / "index25.mp4", Fraction(25), 75)),
        "fps": {"i30": Fraction(30), "i25": Fraction(25)},
    }
    for key, rate in {"25": Fraction(25), **{k: v[2] for k, v in NTSC.items()}}.items():
        made[key] = {
            "a": str(clip_factory(ClipSpec(CLIP_SECONDS, rate, 160, 120, cut_times=[1.5], seed=1), f"a{key}").path),
            "b": str(clip_factory(ClipSpec(CLIP_SECONDS, rate, 160, 120, seed=2), f"b{key}").path),
            "rate": rate,
        }
    return made


@pytest.fixture(scope="session")
def observed(run_blender, score_server, media, tmp_path_factory):
    """What each release's Blender saw, run once per release on first use."""
    cache: dict[str, dict] = {}

    def get(release: str) -> dict:
        if release not in cache:
            started = tmp_path_factory.mktemp("started-server")  # unique: also finds the process to stop
            port = free_port()
            start_command = shlex.join(
                ["env", f"PYTHONPATH={REPO / 'server'}", sys.executable, "-m", "diffv2m", "serve",
                 "--port", str(port), "--cache-dir", str(started)]
            )  # fmt: skip
            start = {"name": "start_server", "start_command": start_command, "start_url": f"http://127.0.0.1:{port}"}
            scenarios = [
                {"name": "install"},
                *([start] if release == START_SERVER_ON else []),
                {"name": "score", "fps": 25, "fps_base": 1.0, "clips": media["25"]},
                {"name": "takes", "fps": 25, "fps_base": 1.0, "clips": media["25"]},
                *(
                    {
                        "name": "fps",
                        "key": f"fps {rate}",
                        "fps": NTSC[rate][0],
                        "fps_base": NTSC[rate][1],
                        "clips": media[rate],
                    }
                    for rate in FPS_SCENES[release]
                ),
                {
                    "name": "mapping",
                    "fps": 24,
                    "fps_base": 1.0,
                    "step": 3,
                    "strips": [{**s, "path": media[s["clip"]]} for s in MAPPING_STRIPS],
                    "metas": MAPPING_METAS,
                },
            ]
            config = {
                "server_url": score_server,
                "down_url": f"http://127.0.0.1:{_closed_port()}",
                "user_sound": media["tone"],
                "scenarios": [{**s, "clips": _plain(s.get("clips"))} for s in scenarios],
            }
            try:
                cache[release] = run_blender(release, config)
            finally:
                stop_processes_running(str(started))
        return cache[release]

    return get


def _plain(clips: dict | None) -> dict | None:
    return {k: v for k, v in clips.items() if k in ("a", "b")} if clips else None


def _closed_port() -> int:
    return free_port()  # bound then released: nothing listens there


# -- helpers ---------------------------------------------------------------------
def generated(state: dict) -> list[dict]:
    return [s for s in state["strips"] if s["tag"] is not None]


def users(state: dict) -> list[dict]:
    return [s for s in state["strips"] if s["tag"] is None]


def new_markers(before: dict, after: dict) -> list[list]:
    added = Counter(map(tuple, after["markers"])) - Counter(map(tuple, before["markers"]))
    return sorted(list(m) for m in added.elements())


def assert_markers_on_beats(markers: list[list], beats: dict, start: int, end: int, fps: Fraction) -> None:
    expected = [start + round(Fraction(b) * fps) for b in beats["beats"]]
    expected = sorted(f for f in expected if start <= f < end)
    frames = sorted(frame for _, frame in markers)
    assert len(frames) == len(expected), (frames, expected)
    assert all(abs(a - b) <= 1 for a, b in zip(frames, expected, strict=True)), (frames, expected)
    bar_frames = sorted(frame for name, frame in markers if "." not in name)
    downbeats = sorted(f for f in (start + round(Fraction(d) * fps) for d in beats["downbeats"]) if start <= f < end)
    assert bar_frames, "no bar-start markers"
    assert len(bar_frames) == len(downbeats) and all(
        abs(a - b) <= 1 for a, b in zip(bar_frames, downbeats, strict=True)
    )
    assert all(name.startswith("♪") for name, _ in markers)


def wav_seconds(path: str) -> float:
    with wave.open(path) as handle:
        return handle.getnframes() / handle.getframerate()


def lowest_free_channel(state: dict, start: int, end: int) -> int:
    busy = {s["channel"] for s in state["strips"] if s["left"] < end and start < s["right"]}
    return next(c for c in range(1, 129) if c not in busy)


def cut_range(fps_clip: Fraction, scene_fps: Fraction) -> tuple[int, int, int]:
    """Where build_cut_scene puts A and B: (start, A's end = B's start, B's end)."""
    frames = int(CLIP_SECONDS * fps_clip + Fraction(1, 10**6))
    a_end = 1 + frames - A_TRIM - A_TAIL
    return 1, a_end, a_end + frames - B_TRIM


def assert_cut_segments(plan: dict, clips: dict, scene_fps: Fraction) -> None:
    start, a_end, b_end = cut_range(clips["rate"], scene_fps)
    assert plan["frames"] == [start, b_end]
    assert Fraction(*plan["fps"]) == scene_fps
    a, b = plan["segments"]
    assert (a["path"], b["path"]) == (clips["a"], clips["b"])
    assert a["source_start"] == pytest.approx(float(A_TRIM / clips["rate"]), abs=1e-9)
    assert a["source_end"] == pytest.approx(float((A_TRIM + a_end - start) / clips["rate"]), abs=1e-9)
    assert b["source_start"] == pytest.approx(float(B_TRIM / clips["rate"]), abs=1e-9)
    assert b["timeline_start"] == pytest.approx(float((a_end - start) / scene_fps), abs=1e-9)
    assert a["speed"] == b["speed"] == pytest.approx(float(scene_fps / clips["rate"]), abs=1e-12)


def assert_one_score(before: dict, after: dict, beats: dict, start: int, end: int, fps: Fraction) -> dict:
    (strip,) = generated(after)
    assert strip["type"] == "SOUND"
    assert strip["left"] == start and abs(strip["right"] - end) <= 1
    assert strip["channel"] == lowest_free_channel(before, start, end)
    assert users(after) == users(before)
    assert Path(strip["sound"]).is_file()
    assert abs(wav_seconds(strip["sound"]) - float((end - start) / fps)) <= float(1 / fps)
    assert_markers_on_beats(new_markers(before, after), beats, start, end, fps)
    return strip


# -- tests -------------------------------------------------------------------------
@pytest.mark.parametrize("release", RELEASES)
def test_extension_installs_enables_and_unregisters(observed, release):
    result = observed(release)
    assert result["version_string"].startswith(release)
    assert result["installed"]
    install = result["scenarios"]["install"]
    assert install["module"] == "bl_ext.user_default.diffv2m_score"
    assert install["operators"] == ["generate_score", "regenerate_score", "cancel_score", "check_server"]
    assert install["panel"] and install["prefs_url"] == "http://127.0.0.1:8767"
    assert result["disabled"], "the panel stayed registered after disabling"
    assert result["returncode"] == 0


def test_start_command_launches_a_server(observed):
    run = observed(START_SERVER_ON)["scenarios"]["start_server"]
    assert run["before"]["state"] == "down"
    assert run["after"]["state"] == "ok", run["after"]
    assert any(line.startswith("default: ready") for line in run["after"]["engines"])


@pytest.mark.parametrize("release", RELEASES)
def test_generate_then_regenerate_then_undo(observed, release, score_server, media):
    run = observed(release)["scenarios"]["score"]
    fps = Fraction(25)
    start, _, end = cut_range(media["25"]["rate"], fps)
    assert_cut_segments(run["plan"], media["25"], fps)
    assert run["range_text"] == f"Frames {start}-{end - 1} ({(end - start) / 25:.2f} s, selection)"
    assert run["connection"]["state"] == "ok", run["connection"]
    assert any(line.startswith("default: ready") for line in run["connection"]["engines"])

    # Generate: one sound strip over exactly the range, markers on the server's beats.
    assert run["generate_error"] is None
    job = generated(run["after_generate"])[0]["tag"]["job"]
    beats = http_json(f"{score_server}/jobs/{job}/beats?take=0")
    first = assert_one_score(run["before"], run["after_generate"], beats, start, end, fps)
    tag = first["tag"]
    assert (tag["emotion"], tag["seed"]) == ("calm", 11)
    assert tag["wav"].startswith("//scores/") and first["sound"] == str(Path(run["blend"]).parent / tag["wav"][2:])
    assert all(part in first["name"] for part in ("calm", "s11", tag["engine"]))
    # The sidebar panel at each step (drawn into a recording layout checked against the real API).
    for step in ("panel_idle", "panel_running", "panel_done", "preferences_draw"):
        assert run[step]["problems"] == [], (step, run[step]["problems"])
    assert {"diffv2m.generate_score", "diffv2m.regenerate_score"} <= set(run["panel_idle"]["operators"])
    assert {"emotion", "seed", "engine", "markers"} <= set(run["panel_idle"]["props"])
    assert "diffv2m.cancel_score" in run["panel_running"]["operators"]
    assert "diffv2m.generate_score" not in run["panel_running"]["operators"]
    assert run["panel_running"]["progress"] and run["panel_running"]["progress"][0].endswith("%")
    assert f"Replaces: {first['name']}" in " ".join(filter(None, run["panel_done"]["label"]))
    assert {"server_url", "token", "start_command", "unsaved_folder"} <= set(run["preferences_draw"]["props"])
    progress = [p["progress"] for p in run["generate_progress"]]
    assert progress == sorted(progress) and progress[0] == 0.0 and progress[-1] == 1.0, progress
    assert run["generate_state"]["level"] == "INFO" and first["name"] in run["generate_state"]["message"]

    # Regenerate with another emotion: the old take's strip and markers are replaced, nothing else.
    assert run["regenerate_error"] is None
    job = generated(run["after_regenerate"])[0]["tag"]["job"]
    second = assert_one_score(
        run["before"], run["after_regenerate"], http_json(f"{score_server}/jobs/{job}/beats?take=0"), start, end, fps
    )
    assert (second["tag"]["emotion"], second["tag"]["seed"]) == ("tense", 12)
    assert run["regenerate_connection"] == "ok", "a job the server answered must clear a stale 'down'"
    assert second["sound"] != first["sound"] and Path(first["sound"]).is_file(), "the previous take must stay on disk"
    assert Counter(map(tuple, run["before"]["markers"])) <= Counter(map(tuple, run["after_regenerate"]["markers"]))

    # One undo step per generation, and redo.
    assert run["after_undo"] == run["after_generate"]
    assert run["after_second_undo"] == run["before"]
    assert run["after_redo"] == run["after_regenerate"]
    assert run["scores_files"] == sorted(Path(s).name for s in (first["sound"], second["sound"])), (
        "only the two finished takes may be written (not the cancelled one)"
    )


@pytest.mark.parametrize("release", RELEASES)
def test_cancel_and_server_down_change_nothing(observed, release, score_server):
    run = observed(release)["scenarios"]["score"]
    assert run["cancel_error"] is None and run["cancel_op_error"] is None
    assert run["cancel_unchanged"]
    assert "cancelled" in run["cancel_state"]["message"]
    job = run["cancelled_job"]
    assert job, "the job never reached the server"
    assert server_job_stopped(score_server, job) == "cancelled"  # the server stops the job mid-way too

    assert run["early_cancel_error"] is None and run["early_cancel_op_error"] is None
    assert "cancelled" in run["early_cancel_state"]["message"]
    assert run["early_cancel_sent"] is None, "a job cancelled before its worker ran must send nothing"
    assert run["early_cancel_unchanged"]

    assert run["down_marked"] == "down", "the failed job must mark the server down at once"
    assert run["restored_connection"] == "ok", "a new Server URL must be checked at once"
    assert run["down_connection"]["state"] == "down"
    assert run["down_state"]["level"] == "ERROR"
    assert run["down_state"]["message"].startswith("No Diff-V2M server answers at http://127.0.0.1:")
    assert run["down_unchanged"]
    assert "None of the selected strips has picture" in run["no_picture_error"]
    assert "Nothing to score" in run["empty_error"]
    assert "Online Access" in run["offline_error"] and not run["offline_running"]
    assert run["nothing_unchanged"]
    # Opening a file cancels the running job; the opened file (saved before any score) gets nothing.
    assert run["reload_error"] is None and "cancelled" in run["reload_state"]["message"]
    assert run["reload_job"], "the job never reached the server before File > Open"
    assert server_job_stopped(score_server, run["reload_job"]) == "cancelled"
    assert run["after_reload"] == run["before"]
    assert run["scores_files_after_reload"] == run["scores_files"]


@pytest.mark.parametrize(
    ("release", "rate"), [(r, rate) for r in RELEASES for rate in FPS_SCENES[r]], ids=lambda v: str(v)
)
def test_ntsc_rate_scenes_are_exact(observed, release, rate, score_server, media):
    run = observed(release)["scenarios"][f"fps {rate}"]
    fps = NTSC[rate][2]
    start, _, end = cut_range(media[rate]["rate"], fps)
    assert_cut_segments(run["plan"], media[rate], fps)
    assert run["generate_error"] is None, run["generate_error"]
    job = generated(run["after_generate"])[0]["tag"]["job"]
    strip = assert_one_score(
        run["before"], run["after_generate"], http_json(f"{score_server}/jobs/{job}/beats?take=0"), start, end, fps
    )
    # Emotion "auto" (the default): the strip says which preset the server chose.
    chosen = http_json(f"{score_server}/jobs/{job}")["result"]["emotion"]
    assert chosen != "auto" and strip["tag"]["emotion"] == chosen and chosen in strip["name"]


@pytest.mark.parametrize("release", RELEASES)
def test_segments_describe_what_blender_shows(observed, release, media):
    """Render frames, read the source frame number back from the grey level, compare with the segments."""
    run = observed(release)["scenarios"]["mapping"]
    fps = Fraction(24)
    plan = run["plan"]
    # C (in a meta) is on top of the A/B cut; a meta held past its content adds a still of C.
    assert [name for name, _ in itertools.groupby(s["strip"] for s in plan["segments"])] == ["A", "C", "B", "D"]
    by_path = {media[k]: media["fps"][k] for k in ("i30", "i25")}
    checked_gap = 0
    for frame, grey in run["shown"]:
        segment = next((s for s in plan["segments"] if s["frames"][0] <= frame < s["frames"][1]), None)
        if segment is None:
            assert grey <= 2, f"frame {frame} lies in a gap but shows grey {grey}"
            checked_gap += 1
            continue
        rate = by_path[segment["path"]]
        if (segment["source_end"] - segment["source_start"]) * rate == pytest.approx(1.0):
            expected = segment["source_start"] * rate  # a still: exactly that one source frame
        else:
            expected = (segment["source_start"] + (frame - segment["frames"][0]) / fps * segment["speed"]) * rate
        # Blender shows the nearest whole source frame; the grey read back is within one level.
        read = frame_of_grey(grey)
        shown = {k for k in (math.floor(read), math.ceil(read)) if abs(k - read) <= 0.5}
        assert any(abs(k - float(expected)) <= 0.5 + 1e-6 for k in shown), (release, frame, grey, expected, segment)
    assert checked_gap >= 2


def take_markers(before: dict, after: dict) -> list[list]:
    return new_markers(before, after)


@pytest.mark.parametrize("release", RELEASES)
def test_markers_belong_to_the_newest_take(observed, release, score_server, media):
    """Generate twice, then Regenerate: only the newest take has markers, the kept take none
    (docs/addon.md). Fails on main: the second Generate stacked its markers on the first's."""
    run = observed(release)["scenarios"]["takes"]
    fps = Fraction(25)
    start, _, end = cut_range(media["25"]["rate"], fps)
    assert run["first_error"] is run["second_error"] is run["regenerated_error"] is None
    for key, takes in (("first", 1), ("second", 2), ("regenerated", 2)):
        after = run[key]
        assert len(generated(after)) == takes, key
        newest = max(generated(after), key=lambda s: s["tag"]["generation"])
        beats = http_json(f"{score_server}/jobs/{newest['tag']['job']}/beats?take=0")
        assert_markers_on_beats(take_markers(run["before"], after), beats, start, end, fps)
        records = run[f"{key}_registry"]["generations"]
        newest_record = records[str(newest["tag"]["generation"])]
        assert json.loads(newest_record["markers"]), key
        assert all(json.loads(r["markers"]) == [] for g, r in records.items() if r is not newest_record), key
    kept = min(generated(run["regenerated"]), key=lambda s: s["tag"]["generation"])
    assert kept["tag"]["emotion"] == "calm", "Regenerate replaces the newest take, the first stays"
    assert {s["tag"]["emotion"] for s in generated(run["regenerated"])} == {"calm", "tense"}


@pytest.mark.parametrize("release", RELEASES)
def test_a_cancel_after_the_worker_finished_changes_nothing(observed, release):
    """The Cancel click that arrives when the score is downloaded but not yet placed.
    Fails on main: the finish path placed the strip, the markers and kept the WAV."""
    run = observed(release)["scenarios"]["takes"]
    assert run["race_error"] is None and run["race_cancel_error"] is None
    assert run["race_finished_result"], "the worker should have finished with a result before the cancel"
    assert run["race_unchanged"]
    assert "cancelled" in run["race_state"]["message"] and not run["race_state"]["running"]
    assert run["race_wav_exists"] is False, "the cancelled take's WAV must not be left behind"


@pytest.mark.parametrize("release", RELEASES)
def test_check_server_respects_online_access(observed, release):
    """Check (and the start-up check, same function) does not contact a remote server while
    Blender's Online Access is off. Fails on main: the health check ran."""
    run = observed(release)["scenarios"]["takes"]
    assert run["online_access"] is False
    assert not run["offline_pending"]
    assert run["offline_status"]["state"] == "offline" and "Online Access" in run["offline_status"]["text"]
