"""Blender-side helpers of the add-on scenarios: build scenes, drive jobs, observe the result.

Imported by bpy_scenarios.py inside a bpy venv (never by pytest), after it has pointed
Blender's user folders at a temp dir. Only stdlib + bpy.
"""

from __future__ import annotations

import contextlib
import sys
import time

import bpy

MODULE = "bl_ext.user_default.diffv2m_score"
JOB_TIMEOUT = 240.0  # seconds; bpy_scenarios.py sets it from its config


# -- scene building ------------------------------------------------------------
def set_frame(strip, new: str, old: str, value) -> None:
    """Set a frame property by its 5.3 name where it exists (no DeprecationWarning), else the old one."""
    setattr(strip, new if new in strip.bl_rna.properties else old, value)


def get_frame(strip, new: str, old: str):
    return getattr(strip, new if new in strip.bl_rna.properties else old)


def collection(editor):
    return editor.strips if hasattr(editor, "strips") else editor.sequences


def all_strips(editor):
    return list(editor.strips_all if hasattr(editor, "strips_all") else editor.sequences_all)


def sequencer_override(scene):
    """A context with a Sequencer area showing ``scene`` (what the sidebar buttons run in)."""
    window = bpy.context.window_manager.windows[0]
    window.scene = scene
    if hasattr(window.workspace, "sequencer_scene"):
        window.workspace.sequencer_scene = scene
    area = window.screen.areas[-1]
    area.type = "SEQUENCE_EDITOR"
    region = next(r for r in area.regions if r.type == "WINDOW")
    return bpy.context.temp_override(window=window, area=area, region=region)


def new_scene(name: str, fps: int, fps_base: float):
    scene = bpy.data.scenes.new(name)
    scene.render.fps, scene.render.fps_base = fps, fps_base
    scene.sequence_editor_create()
    with sequencer_override(scene):
        pass
    return scene


def add_movie(scene, name, path, channel, start, trim_start=0, trim_end=0, auto_rate=False):
    """A movie strip whose first visible frame is ``start``, cut ``trim_*`` timeline frames in."""
    editor = scene.sequence_editor
    if auto_rate:  # what the UI does: play at the media's speed in a scene of another rate
        before = {s.name for s in all_strips(editor)}
        props = {p.identifier for p in bpy.ops.sequencer.movie_strip_add.get_rna_type().properties}
        kwargs = {
            "filepath": path,
            "frame_start": start - trim_start,
            "channel": channel,
            "sound": False,
            "adjust_playback_rate": True,
            "use_framerate": False,
        }
        for flag in ("move_strips", "move_strips_after_add"):  # default True crashes headless 5.0/5.3
            if flag in props:
                kwargs[flag] = False
        with sequencer_override(scene):
            bpy.ops.sequencer.movie_strip_add(**kwargs)
        strip = next(s for s in all_strips(editor) if s.name not in before)
        strip.name = name
    else:
        strip = collection(editor).new_movie(name, path, channel, start - trim_start)
    left = get_frame(strip, "left_handle", "frame_final_start")
    right = get_frame(strip, "right_handle", "frame_final_end")
    set_frame(strip, "left_handle", "frame_final_start", left + trim_start)
    set_frame(strip, "right_handle", "frame_final_end", right - trim_end)
    return strip


def select_only(scene, names):
    for strip in all_strips(scene.sequence_editor):
        strip.select = strip.name in names


# -- observing -----------------------------------------------------------------
def observe(scene) -> dict:
    strips = []
    for s in all_strips(scene.sequence_editor):
        tag = s.get("diffv2m_score")
        strips.append(
            {
                "name": s.name,
                "type": s.type,
                "channel": s.channel,
                "left": get_frame(s, "left_handle", "frame_final_start"),
                "right": get_frame(s, "right_handle", "frame_final_end"),
                "tag": tag.to_dict() if tag is not None else None,
                "sound": bpy.path.abspath(s.sound.filepath) if s.type == "SOUND" else None,
            }
        )
    markers = sorted([m.name, m.frame] for m in scene.timeline_markers)
    return {"strips": sorted(strips, key=lambda s: s["name"]), "markers": markers}


class RecordingLayout:
    """Stands in for UILayout when drawing headless (no region draws): records what a draw
    asks for and checks it against the real API (icon names, operator ids, property names)."""

    ICONS = frozenset(bpy.types.UILayout.bl_rna.functions["label"].parameters["icon"].enum_items.keys())

    def __init__(self, log: dict) -> None:
        self.log = log

    def __getattr__(self, method: str):
        def call(*args, **kwargs):
            log = self.log
            if kwargs.get("icon") is not None and kwargs["icon"] not in self.ICONS:
                log["problems"].append(f"unknown icon {kwargs['icon']}")
            if method == "operator":
                category, _, name = args[0].partition(".")
                if not hasattr(getattr(bpy.ops, category), name):
                    log["problems"].append(f"unknown operator {args[0]}")
                log["operators"].append(args[0])
            elif method == "prop":
                if args[1] not in args[0].bl_rna.properties:
                    log["problems"].append(f"unknown property {args[1]}")
                log["props"].append(args[1])
            elif method in ("label", "progress"):
                log[method].append(kwargs.get("text"))
            return RecordingLayout(log)

        return call


class WithLayout:
    """``self`` for a draw method: the real object, with a recording layout."""

    def __init__(self, real, layout) -> None:
        self._real, self.layout = real, layout

    def __getattr__(self, name: str):
        return getattr(self._real, name)


def draw_panel(scene) -> dict:
    log = {"problems": [], "operators": [], "props": [], "label": [], "progress": []}
    with sequencer_override(scene):
        bpy.types.SEQUENCER_PT_diffv2m_score.draw(WithLayout(None, RecordingLayout(log)), bpy.context)
    return log


def draw_preferences() -> dict:
    log = {"problems": [], "operators": [], "props": [], "label": [], "progress": []}
    prefs().draw.__func__(WithLayout(prefs(), RecordingLayout(log)), bpy.context)
    return log


def require_score(observed: dict) -> None:
    """Stop the scenario with the add-on's own message when no score was placed (the rest depends on it)."""
    if not any(s["tag"] for s in observed["strips"]):
        raise RuntimeError(f"no score was placed: {state()['message']}")


def addon():
    return sys.modules[MODULE]


def state() -> dict:
    s = bpy.context.window_manager.diffv2m_score_state
    return {
        "running": s.running,
        "stage": s.stage,
        "progress": s.progress,
        "message": s.message,
        "level": s.message_level,
    }


def run_operator(scene, name: str) -> str | None:
    """Run a sidebar operator as a click would; returns its error report, if any."""
    with sequencer_override(scene):
        try:
            getattr(bpy.ops.diffv2m, name)()
        except RuntimeError as exc:  # background bpy raises ERROR reports
            return str(exc)
    return None


def progress_sample() -> dict:
    state = bpy.context.window_manager.diffv2m_score_state
    return {"stage": state.stage, "progress": state.progress}


@contextlib.contextmanager
def recording_progress():
    """Every progress report the add-on shows, as the UI state holds right after showing it.

    Sampling between ticks misses reports when several arrive within one tick.
    """
    ticker = addon().ticker
    show = ticker._show_progress
    seen: list[dict] = []

    def recording(job, message) -> None:
        show(job, message)
        seen.append(progress_sample())

    ticker._show_progress = recording
    try:
        yield seen
    finally:
        ticker._show_progress = show


def tick_until_submitted() -> str | None:
    """Tick until the active job is on the server (the worker starts on the first tick); its id."""
    job = addon().ticker.active()
    while job is not None and job.job_id is None and (job.is_alive() or not job.started):
        addon().ticker.tick()
        time.sleep(0.02)
    return job.job_id if job else None


def drive(timeout: float | None = None) -> None:
    """Tick until the job ends (timers never fire headless)."""
    deadline = time.monotonic() + (JOB_TIMEOUT if timeout is None else timeout)
    while addon().ticker.tick() is not None:
        if time.monotonic() > deadline:
            addon().ticker.cancel()
            raise TimeoutError("the job did not finish in time")
        time.sleep(0.05)


def plan(scene) -> dict:
    with sequencer_override(scene):
        p = addon().snapshot.plan_from_context(bpy.context)
    return {
        "frames": [p.frames.start, p.frames.end],
        "fps": [p.fps.numerator, p.fps.denominator],
        "segments": [dict(s.as_request(), strip=s.strip, frames=[s.frames.start, s.frames.end]) for s in p.segments],
    }


def prefs():
    return bpy.context.preferences.addons[MODULE].preferences


def settled_connection(timeout: float = 10.0) -> str:
    """Tick until the indicator leaves "down"/"checking" (or the timeout); its state then."""
    deadline = time.monotonic() + timeout
    while addon().connection.STATUS.state in ("down", "checking") and time.monotonic() < deadline:
        addon().ticker.tick()
        time.sleep(0.05)
    return addon().connection.STATUS.state


def check_connection() -> dict:
    with sequencer_override(bpy.context.window_manager.windows[0].scene):
        bpy.ops.diffv2m.check_server()
    drive(10)
    status = addon().connection.STATUS
    return {"state": status.state, "text": status.text, "engines": status.engine_lines()}
