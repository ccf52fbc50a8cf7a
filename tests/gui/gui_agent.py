"""Runs inside the GUI Blender (``blender --python gui_agent.py``): sets the stage, then only watches.

The clicks and keys under test come from xdotool (gui_window.py). This script
builds the scene a user would have (two movie strips cut together in a
full-window Sequencer with the Score sidebar tab open), then a 25 ms timer
writes what it sees to ``state.json`` (atomically) for the test to read:
strips, markers, the add-on's job state, the sidebar's rectangle, the undo
step, and the largest gap between two timer calls while a job runs (the
responsiveness figure). Set-up requests the test sends (reset the scene,
set the server URL, pick an emotion) arrive as ``command-N.json`` files;
none of them clicks or runs the add-on's operators.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback

import bpy

WORK = os.environ["DIFFV2M_GUI_WORK"]
CONFIG = json.load(open(os.path.join(WORK, "config.json"), encoding="utf-8"))
MODULE = CONFIG["module"]
TICK = 0.025
_seen = {"last": None, "max_gap": 0.0, "gaps": 0, "running_since": None, "commands": 0, "error": None,
         "long_gaps": []}  # fmt: skip


def addon():
    """The add-on package: ``addon`` below the extension when Blender built it from the repository root."""
    return sys.modules.get(f"{MODULE}.addon") or sys.modules.get(MODULE)


def sequencer():
    """The window's one area, made a Sequencer with its sidebar on the Score tab."""
    window = bpy.context.window_manager.windows[0]
    area = max(window.screen.areas, key=lambda a: a.width * a.height)
    if area.type != "SEQUENCE_EDITOR":
        area.type = "SEQUENCE_EDITOR"
    space = area.spaces.active
    space.view_type = "SEQUENCER"
    space.show_region_ui = True
    return window, area


def sidebar(area):
    return next(r for r in area.regions if r.type == "UI")


def build_scene(long: bool = False) -> None:
    """The two-shot cut, or (``long``) one long shot whose job lasts long enough to cancel late."""
    scene = bpy.context.window_manager.windows[0].scene
    scene.render.fps, scene.render.fps_base = CONFIG["fps"], 1.0
    editor = scene.sequence_editor or scene.sequence_editor_create()
    strips = editor.strips if hasattr(editor, "strips") else editor.sequences
    for strip in list(strips):
        strips.remove(strip)
    for marker in list(scene.timeline_markers):
        scene.timeline_markers.remove(marker)
    for key in list(scene.keys()):
        if key.startswith("diffv2m"):
            del scene[key]
    start = 1
    two = [("shot A", CONFIG["clips"][0]), ("shot B", CONFIG["clips"][1])]
    shots = [("shot L", CONFIG["long_clip"])] if long else two
    for name, path in shots:
        strip = strips.new_movie(name, path, 1, start, fit_method="FIT")
        strip.select = True
        start = strip.frame_final_end
    scene.timeline_markers.new("intro", frame=3)  # the user's own marker: never touched
    scene.frame_start, scene.frame_end = 1, start - 1
    settings = scene.diffv2m_score_settings
    settings.emotion, settings.use_random_seed, settings.seed = "calm", False, 7
    bpy.context.preferences.addons[MODULE].preferences.server_url = CONFIG["server_url"]
    bpy.ops.wm.save_as_mainfile(filepath=os.path.join(WORK, "project.blend"))
    window, area = sequencer()
    strips_region = next(r for r in area.regions if r.type == "WINDOW")  # (in the sidebar it zooms the panel)
    with bpy.context.temp_override(window=window, area=area, region=strips_region):
        bpy.ops.sequencer.view_all()
    bpy.ops.ed.undo_push(message="scene built")


def run_command(command: dict) -> None:
    kind = command["kind"]
    scene = bpy.context.window_manager.windows[0].scene
    if kind == "reset":
        build_scene(long=command.get("long", False))
    elif kind == "server_url":
        bpy.context.preferences.addons[MODULE].preferences.server_url = command["value"]
    elif kind == "emotion":
        scene.diffv2m_score_settings.emotion = command["value"]
        scene.diffv2m_score_settings.seed = command.get("seed", scene.diffv2m_score_settings.seed)
    elif kind == "select_shots":
        editor = scene.sequence_editor
        for strip in editor.strips_all if hasattr(editor, "strips_all") else editor.sequences_all:
            strip.select = strip.name in ("shot A", "shot B")
        editor.active_strip = None
    elif kind == "quit":
        bpy.ops.wm.quit_blender()


def snapshot() -> dict:
    window = bpy.context.window_manager.windows[0]
    scene = window.scene
    editor = scene.sequence_editor
    strips = []
    for s in (editor.strips_all if hasattr(editor, "strips_all") else editor.sequences_all) if editor else []:
        tag = s.get("diffv2m_score")
        strips.append(
            {
                "name": s.name,
                "type": s.type,
                "channel": s.channel,
                "start": s.frame_final_start,
                "end": s.frame_final_end,
                "tag": tag.to_dict() if tag is not None else None,
                "sound": bpy.path.abspath(s.sound.filepath) if s.type == "SOUND" else None,
            }
        )
    module = addon()
    wm = bpy.context.window_manager
    state = getattr(wm, "diffv2m_score_state", None)
    area = max(window.screen.areas, key=lambda a: a.width * a.height)
    ui = next((r for r in area.regions if r.type == "UI"), None)
    status_bar = next((a for a in window.screen.areas if a.type == "STATUSBAR"), None)
    registry = scene.get("diffv2m_score")
    return {
        "time": time.time(),
        "enabled": module is not None and MODULE in bpy.context.preferences.addons,
        "window": {"width": window.width, "height": window.height},
        "sidebar": {"x": ui.x, "y": ui.y, "width": ui.width, "height": ui.height} if ui else None,
        "tab": getattr(ui, "active_panel_category", None) if ui else None,
        "status_bar": {"x": status_bar.x, "y": status_bar.y, "width": status_bar.width, "height": status_bar.height}
        if status_bar
        else None,
        "strips": sorted(strips, key=lambda s: s["name"]),
        "markers": sorted([m.name, m.frame] for m in scene.timeline_markers),
        "frame": scene.frame_current,
        "operators": [op.bl_idname for op in bpy.context.window_manager.operators],
        "connection": module.connection.STATUS.state if module else None,
        "registry": registry.to_dict() if registry is not None else None,
        "job": None
        if state is None
        else {
            "running": state.running,
            "stage": state.stage,
            "progress": state.progress,
            "message": state.message,
            "level": state.message_level,
        },
        "active_job": bool(module and module.ticker.active()),
        "max_gap_ms": round(1000 * _seen["max_gap"], 1),
        "max_gap_stage": _seen.get("max_gap_stage"),
        "long_gaps": _seen["long_gaps"][-200:],
        "gaps": _seen["gaps"],
        "commands": _seen["commands"],
        "error": _seen["error"],
    }


def watch() -> float:
    now = time.perf_counter()
    try:
        module = addon()
        running = bool(module and module.ticker.active())
        if running and _seen["last"] is not None and _seen["running_since"] is not None:
            if now - _seen["last"] > 0.05:  # wall-clock span, to match against the test's own X calls
                wall = time.time()
                _seen["long_gaps"].append([wall - (now - _seen["last"]), wall, round(1000 * (now - _seen["last"]), 1)])
            if now - _seen["last"] > _seen["max_gap"]:
                _seen["max_gap"] = now - _seen["last"]
                job = bpy.context.window_manager.diffv2m_score_state
                _seen["max_gap_stage"] = f"{job.stage} {job.progress:.2f}"
            _seen["gaps"] += 1
        if running and _seen["running_since"] is None:
            _seen["running_since"], _seen["max_gap"], _seen["gaps"] = now, 0.0, 0
            _seen["long_gaps"] = []
        if not running:
            _seen["running_since"] = None
        _seen["last"] = now
        name = os.path.join(WORK, f"command-{_seen['commands']}.json")
        if os.path.exists(name):
            command = json.load(open(name, encoding="utf-8"))
            _seen["commands"] += 1
            run_command(command)
        _write(snapshot())
    except Exception:
        _seen["error"] = traceback.format_exc()
        _write({"error": _seen["error"]})
    return TICK


def _write(state: dict) -> None:
    out = os.path.join(WORK, "state.json")
    with open(out + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(state, handle)
    os.replace(out + ".tmp", out)


def start() -> None:
    try:
        build_scene()
    except Exception:
        _seen["error"] = traceback.format_exc()
    bpy.app.timers.register(watch, first_interval=TICK, persistent=True)


bpy.app.timers.register(start, first_interval=0.5)
