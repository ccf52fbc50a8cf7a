"""The add-on in a real Blender 4.3 window, driven with real clicks and keys (xdotool under Xvfb).

Against the real server on its embedded default engine. Each test starts from the
same two-shot scene (tests/gui/gui_agent.py builds it) and leaves screenshots of
its steps (conftest.py says where). Only the start of the scene, the server URL
and the emotion are set by the agent; everything under test is a click or a key.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from addon_support import free_port
from gui_window import CLIP_SECONDS, FPS, GuiBlender

MAX_GAP_MS = 250  # the bar for "editing stays responsive" on this machine
RANGE = (1, 1 + round(2 * CLIP_SECONDS * FPS))  # the two shots, end exclusive
SEQUENCER = (300, 400)  # a point over the Sequencer's strips area (gui_window's layout)
AWAY = (1250, 780)  # over the Properties editor: far from any report popup


def takes(state: dict) -> list[dict]:
    return sorted((s for s in state["strips"] if s["tag"]), key=lambda s: s["tag"]["generation"])


def ours(state: dict) -> list[list]:
    return [m for m in state["markers"] if m[0].startswith("♪")]


def scores(window: GuiBlender) -> list[str]:
    folder = window.work / "scores"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def wait_idle(window: GuiBlender, timeout: float = 180) -> dict:
    window.wait_for(lambda s: not s["active_job"] and not s["job"]["running"], timeout, "the job to end")
    time.sleep(0.6)  # the Esc watcher's last timer event: its report reaches the status bar
    return window.state()


def status_bar(window: GuiBlender, shot: Path, left: float = 0.0, right: float = 0.5) -> np.ndarray:
    """A stretch of the status bar, as fractions of the window's width (the left half by default)."""
    size = window.state()["window"]
    height, width = size["height"], size["width"]
    return window.pixels(shot)[height - 22 : height, round(left * width) : round(right * width)].astype(int)


def report_area(window: GuiBlender, shot: Path) -> np.ndarray:
    """The middle of the status bar, where Blender shows the last report."""
    return status_bar(window, shot, 0.3, 0.75)


def fresh(window: GuiBlender, long: bool = False) -> dict:
    window.command("reset", long=long)
    leave_popups(window)
    return wait_idle(window)


def leave_popups(window: GuiBlender) -> None:
    """Move the pointer away, as a user does, so Blender closes a report popup left open.

    An ERROR report from an operator run from the UI opens a popup at the pointer; while the
    pointer stays near it, it keeps the keyboard (a shortcut pressed there does nothing).
    """
    window.move(*AWAY)
    time.sleep(0.5)


def click_job(window: GuiBlender, at: tuple[int, int]) -> dict:
    """Click a button that starts a job; wait for the job to start, then to end."""
    message = window.state()["job"]["message"]
    window.click(*at)
    window.wait_for(lambda s: s["active_job"] or s["job"]["message"] != message, 30, "the job to start")
    return wait_idle(window)


def generate(window: GuiBlender, name: str) -> dict:
    """Click Generate Score and wait for the job to end; the state then."""
    generate_at, _ = window.panel_buttons(f"{name}-before")
    return click_job(window, generate_at)


def test_install_file_enables_the_extension(built_extension, window):
    """Blender's own builder at the repository root, its validator, then install-file --enable."""
    build, validate, install = built_extension["build"], built_extension["validate"], built_extension["install"]
    assert build.returncode == 0 and len(built_extension["archives"]) == 1, build.stdout + build.stderr
    assert validate.returncode == 0 and "warning" not in (validate.stdout + validate.stderr).lower(), validate.stdout
    assert install.returncode == 0 and "Installed" in install.stdout, install.stdout + install.stderr
    state = window.state()
    assert state["enabled"] and state["tab"] == "Score"
    # The start-up check ran (against the default URL, before the agent set the test's): it used to
    # be dropped when Blender opened a .blend on start-up, as a double-clicked file does.
    assert state["connection"] in ("ok", "down"), state["connection"]
    window.screenshot("installed")


def test_generate_shows_progress_keeps_editing_responsive_and_places_the_score(window):
    before = fresh(window)
    idle_shot = window.screenshot("generate-idle")
    generate_at, _ = window.panel_buttons("generate-buttons")
    window.click(*generate_at)
    running = window.wait_for(lambda s: s["job"]["running"] and s["job"]["progress"] > 0, 60, "progress")
    running_shot = window.screenshot("generate-progress")
    frame = running["frame"]
    window.key("Right", "Right", "Right", at=SEQUENCER)  # editing while the score is made
    moved = window.wait_for(lambda s: s["frame"] == frame + 3 or not s["active_job"], 10, "the frame to move")
    after = wait_idle(window)
    placed_shot = window.screenshot("generate-placed")

    own = window.own_gap_ms(after)
    print(f"\nbench: largest UI gap while generating: {own} ms apart from the test's own screen grabs "
          f"({after['max_gap_ms']} ms with them, at {after['max_gap_stage']}; {after['gaps']} calls)")  # fmt: skip
    assert moved["frame"] == frame + 3 and moved["active_job"], "the arrow keys must act while the job runs"
    assert running["job"]["stage"] and 0 < running["job"]["progress"] <= 1
    assert not np.array_equal(status_bar(window, idle_shot), status_bar(window, running_shot)), "no status text"
    assert not np.array_equal(status_bar(window, running_shot), status_bar(window, placed_shot)), "no final report"
    assert after["gaps"] > 10
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if load <= cores:  # a machine busy with other work measures its scheduler, not Blender
        assert own <= MAX_GAP_MS
    else:
        print(f"bench: the {MAX_GAP_MS} ms bar not asserted: load {load:.1f} on {cores} cores")
    (take,) = takes(after)
    assert (take["start"], take["end"], take["channel"]) == (*RANGE, 2) and take["type"] == "SOUND"
    assert Path(take["sound"]).is_file() and take["tag"]["emotion"] == "calm"
    markers = ours(after)
    assert len(markers) >= 10 and all(RANGE[0] <= f < RANGE[1] for _, f in markers)
    assert ["intro", 3] in after["markers"] and ["intro", 3] in before["markers"]
    assert after["job"]["message"].startswith(f"Added '{take['name']}'") and after["job"]["level"] == "INFO"
    assert "DIFFV2M_OT_generate_score" in after["operators"], "Generate is listed in the Info editor"


def test_regenerate_with_another_emotion_then_ctrl_z(window):
    first = generate(window, "regenerate-first") if not takes(window.state()) else window.state()
    (old,) = takes(first)
    window.command("emotion", value="tense", seed=12)  # set-up: the user picks another mood and seed
    _, regenerate_at = window.panel_buttons("regenerate-idle")
    after = click_job(window, regenerate_at)
    window.screenshot("regenerate-placed")
    (new,) = takes(after)
    assert new["tag"]["job"] != old["tag"]["job"] and (new["start"], new["end"]) == RANGE and ours(after)
    assert (new["tag"]["emotion"], new["tag"]["seed"]) == ("tense", 12) and new["channel"] == old["channel"]
    assert "DIFFV2M_OT_regenerate_score" in after["operators"]

    window.key("ctrl+z", at=SEQUENCER)  # one step back: the old take, with its markers
    # By job, not name: the same emotion and seed give the new take the old one's name.
    undone = window.wait_for(lambda s: takes(s) and takes(s)[0]["tag"]["job"] == old["tag"]["job"], 10, "the undo")
    window.screenshot("regenerate-undone")
    assert takes(undone) == takes(first) and undone["markers"] == first["markers"]


def test_ctrl_z_while_the_score_is_made_leaves_the_take_to_undo_after(window):
    """Ctrl+Z before the take is placed undoes the step before it; once placed, Ctrl+Z removes it."""
    # The 45 s one-shot scene: its job lasts long enough that the warning is seen while it runs.
    fresh(window, long=True)
    fresh(window, long=True)  # the step an early Ctrl+Z goes back to is then a fresh scene too
    generate_at, _ = window.panel_buttons("undo-early-idle")
    window.click(*generate_at)
    window.wait_for(lambda s: s["active_job"], 10, "the job to start")
    window.move(*SEQUENCER)
    before_shot = window.screenshot("undo-before-ctrl-z")
    window.key("ctrl+z")
    time.sleep(0.6)  # the key, then the report's redraw
    warned_shot = window.screenshot("undo-while-running")
    still_running = window.state()["active_job"]
    placed = wait_idle(window)
    assert still_running, "the job ended before the Ctrl+Z warning could be checked"
    # While the job runs, only the Ctrl+Z warning can replace the start's report.
    assert not np.array_equal(report_area(window, before_shot), report_area(window, warned_shot)), (
        "Ctrl+Z while the score is made must say what it undid"
    )
    assert len(takes(placed)) == 1, "the score still lands after an early Ctrl+Z"
    window.key("ctrl+z", at=SEQUENCER)
    undone = window.wait_for(lambda s: not takes(s), 10, "the undo of the take")
    window.screenshot("undo-after-placed")
    assert not ours(undone)


@pytest.mark.parametrize("moment", ["early", "late"])
@pytest.mark.parametrize("how", ["esc", "cancel"])
def test_cancel_changes_nothing(window, how, moment):
    before = fresh(window, long=moment == "late")
    files = scores(window)
    generate_at, cancel_at = window.panel_buttons(f"cancel-{how}-{moment}-idle")  # Cancel takes Regenerate's row
    window.click(*generate_at)
    # The pointer goes where the cancel happens first (the Sequencer for Esc, the spot where
    # Cancel appears), so the press itself is the only event after the wait: past half-way
    # the rest of a 12 s take can take well under a second here.
    window.move(*(SEQUENCER if how == "esc" else cancel_at))
    if moment == "late":
        window.wait_for(lambda s: s["job"]["progress"] >= 0.5, 120, "the job to pass half-way")
    else:
        window.wait_for(lambda s: s["active_job"], 10, "the job to start")
    if how == "esc":
        window.key("Escape")
    else:
        window.press()
    after = wait_idle(window)
    window.screenshot(f"cancel-{how}-{moment}")
    assert "cancelled" in after["job"]["message"], after["job"]
    assert after["strips"] == before["strips"] and after["markers"] == before["markers"]
    assert after["registry"] == before["registry"]
    assert scores(window) == files, "a cancelled take leaves no WAV"


def test_server_down_says_so_in_full(window):
    before = fresh(window)
    port = free_port()
    window.command("server_url", value=f"http://127.0.0.1:{port}")
    try:
        generate_at, _ = window.panel_buttons("server-down-idle")
        started = time.monotonic()
        window.click(*generate_at)
        after = window.wait_for(lambda s: s["job"]["level"] == "ERROR", 30, "the error")
        seconds = time.monotonic() - started
        time.sleep(0.6)
        window.screenshot("server-down")
    finally:
        window.command("server_url", value=json.loads((window.work / "config.json").read_text())["server_url"])
        leave_popups(window)
    # Back on the live server's address: the indicator says so without a click on Check.
    window.wait_for(lambda s: s["connection"] == "ok", 15, "the indicator to see the restored server")
    print(f"\nbench: Generate with the server down failed after {seconds:.2f} s (click to message)")
    message = after["job"]["message"]
    assert message.startswith(f"No Diff-V2M server answers at http://127.0.0.1:{port}") and "diffv2m serve" in message
    assert after["strips"] == before["strips"] and after["markers"] == before["markers"]


def test_generate_twice_markers_follow_the_newest_take(window):
    fresh(window)
    window.key("shift+alt+m", at=SEQUENCER)  # the add-on's shortcut
    first = window.wait_for(lambda s: len(takes(s)) == 1 and not s["active_job"], 180, "the shortcut's take")
    first = wait_idle(window)
    window.command("select_shots")
    second = generate(window, "twice-second")
    window.screenshot("twice-placed")
    older, newer = takes(second)
    assert older["name"] == takes(first)[0]["name"] and {older["channel"], newer["channel"]} == {2, 3}
    records = second["registry"]["generations"]
    assert json.loads(records[str(older["tag"]["generation"])]["markers"]) == []
    newest = [list(m) for m in json.loads(records[str(newer["tag"]["generation"])]["markers"])]
    assert newest and sorted(ours(second)) == sorted(newest)
