"""Blender side of the add-on tests: runs inside a bpy venv, never under pytest.

    <venv>/bin/python tests/addon/bpy_scenarios.py CONFIG.json OUT.json

Installs the built extension zip into a throwaway user folder, runs the
scenarios the config names against the server it names, and writes what it
observed (strips, markers, messages, requests) to OUT.json; the pytest side
(test_addon_blender.py) asserts on it. Only stdlib + bpy here. Timers never fire
in headless bpy, so jobs are driven by calling the add-on's tick directly.
"""

from __future__ import annotations

import faulthandler
import json
import os
import sys
import tempfile
import time
import traceback

faulthandler.enable()  # a crash inside Blender prints where it happened
CONFIG = json.load(open(sys.argv[1], encoding="utf-8"))
_USER = tempfile.mkdtemp(prefix="bpy-user-", dir=CONFIG.get("tmp"))
for _key in ("BLENDER_USER_RESOURCES", "BLENDER_USER_CONFIG", "BLENDER_USER_SCRIPTS", "BLENDER_USER_EXTENSIONS"):
    os.environ[_key] = os.path.join(_USER, _key.lower())

import bpy  # noqa: E402  (the user folders must be set first)
import bpy_scene  # noqa: E402
from bpy_scene import (  # noqa: E402
    MODULE,
    add_movie,
    addon,
    check_connection,
    collection,
    draw_panel,
    draw_preferences,
    drive,
    get_frame,
    new_scene,
    observe,
    plan,
    prefs,
    recording_progress,
    require_score,
    run_operator,
    select_only,
    sequencer_override,
    set_frame,
    settled_connection,
    state,
    tick_until_submitted,
)

bpy_scene.JOB_TIMEOUT = float(CONFIG.get("job_timeout", 240))


# -- scenarios -----------------------------------------------------------------
def scenario_install(config: dict) -> dict:
    module = addon()
    return {
        "module": module.__name__,
        "operators": [
            n
            for n in ("generate_score", "regenerate_score", "cancel_score", "check_server")
            if hasattr(bpy.ops.diffv2m, n)
        ],
        "panel": hasattr(bpy.types, "SEQUENCER_PT_diffv2m_score"),
        "prefs_url": prefs().server_url,
    }


def build_cut_scene(config: dict, name: str, fps: int, fps_base: float, clips: dict) -> tuple:
    """Two movie strips cut together on channel 1, plus the user's own strips and markers."""
    scene = new_scene(name, fps, fps_base)
    a = add_movie(scene, "shot A", clips["a"], 1, 1, trim_start=5, trim_end=3)
    a_end = get_frame(a, "right_handle", "frame_final_end")
    b = add_movie(scene, "shot B", clips["b"], 1, a_end, trim_start=7, auto_rate=clips.get("b_auto_rate", False))
    b_end = get_frame(b, "right_handle", "frame_final_end")
    # The user's own work: a title over part of the range (channel 2 is taken there),
    # a sound strip on channel 3 outside the range, and markers, one named like ours.
    title = collection(scene.sequence_editor).new_effect(
        "user title", "COLOR", 2, 10, **({"length": 20} if bpy.app.version >= (5, 0, 0) else {"frame_end": 30})
    )
    title.select = False
    if config.get("user_sound"):
        collection(scene.sequence_editor).new_sound("user music", config["user_sound"], 3, b_end + 10)
    scene.timeline_markers.new("intro", frame=3)
    scene.timeline_markers.new("♪1", frame=b_end - 2)
    select_only(scene, {"shot A", "shot B"})
    scene.frame_start, scene.frame_end = 1, b_end
    return scene, (1, b_end)


def scenario_score(config: dict) -> dict:
    """Generate, Regenerate with another emotion, Undo, server down, cancel: the whole story."""
    out: dict = {}
    scene, _ = build_cut_scene(config, "cut", config["fps"], config["fps_base"], config["clips"])
    blend = os.path.join(config["tmp"], f"project-{bpy.app.version_string.split()[0]}.blend")
    bpy.ops.wm.save_as_mainfile(filepath=blend)
    out["blend"] = blend
    scene = bpy.data.scenes["cut"]
    settings = scene.diffv2m_score_settings
    prefs().server_url = config["server_url"]

    out["connection"] = check_connection()
    out["plan"] = plan(scene)
    with sequencer_override(scene):
        out["range_text"] = addon().panel._range_text(bpy.context, scene)
    out["before"] = observe(scene)
    bpy.ops.ed.undo_push(message="scene built")

    settings.emotion, settings.use_random_seed, settings.seed = "calm", False, 11
    out["panel_idle"] = draw_panel(scene)
    out["preferences_draw"] = draw_preferences()
    with recording_progress() as applied:
        out["generate_error"] = run_operator(scene, "generate_score")
        # Drawn before any tick: on a fast machine with the features cached the whole job can
        # end within one tick, so "running" is only certain right after the click.
        out["panel_running"] = draw_panel(scene)
        drive()
    out["generate_progress"] = applied
    out["panel_done"] = draw_panel(scene)
    out["after_generate"] = observe(scene)
    out["generate_state"] = state()
    require_score(out["after_generate"])

    settings.emotion, settings.seed = "tense", 12
    # The indicator says "down" (the server was started after Blender): a job the server answers
    # must put it right.
    addon().connection.mark_down("No Diff-V2M server answers (the start-up check)")
    out["regenerate_error"] = run_operator(scene, "regenerate_score")
    drive()
    out["regenerate_connection"] = settled_connection()
    out["after_regenerate"] = observe(scene)
    require_score(out["after_regenerate"])

    bpy.ops.ed.undo()
    scene = bpy.data.scenes["cut"]
    out["after_undo"] = observe(scene)
    bpy.ops.ed.undo()
    scene = bpy.data.scenes["cut"]
    out["after_second_undo"] = observe(scene)
    bpy.ops.ed.redo()
    bpy.ops.ed.redo()
    scene = bpy.data.scenes["cut"]
    out["after_redo"] = observe(scene)

    # Cancel mid-job: nothing may change, and the server's job must stop.
    scene.diffv2m_score_settings.emotion = "happy"
    before_cancel = observe(scene)
    out["cancel_error"] = run_operator(scene, "generate_score")
    out["cancelled_job"] = tick_until_submitted()
    out["cancel_op_error"] = run_operator(scene, "cancel_score")
    drive()
    out["cancel_state"] = state()
    out["cancel_unchanged"] = observe(scene) == before_cancel
    out["after_cancel"] = observe(scene)

    # Cancel before the worker ran (Esc right after the click): nothing is sent at all.
    out["early_cancel_error"] = run_operator(scene, "generate_score")
    early = addon().ticker.active()
    out["early_cancel_op_error"] = run_operator(scene, "cancel_score")
    drive()
    out["early_cancel_state"] = state()
    out["early_cancel_sent"] = early.job_id if early else "no job"
    out["early_cancel_unchanged"] = observe(scene) == before_cancel

    # Server down: a clear report, nothing changed, and the job itself marks the server down
    # (the indicator said "ok" until then).
    prefs().server_url = config["down_url"]
    before_down = observe(scene)
    out["down_error"] = run_operator(scene, "generate_score")
    drive()
    out["down_state"] = state()
    out["down_marked"] = addon().connection.STATUS.state
    out["down_unchanged"] = observe(scene) == before_down
    out["down_connection"] = check_connection()
    prefs().server_url = config["server_url"]
    out["restored_connection"] = settled_connection()  # a new address is checked at once

    # A server elsewhere needs Blender's Online Access; refused before any network use.
    if not bpy.app.online_access:
        prefs().server_url = "http://scoring-server.invalid:8767"
        select_only(scene, {"shot A", "shot B"})
        out["offline_error"] = run_operator(scene, "generate_score")
        out["offline_running"] = addon().ticker.active() is not None
        prefs().server_url = config["server_url"]

    # Nothing to score: a strip without picture selected, then nothing selected.
    select_only(scene, {"user title"})
    out["no_picture_error"] = run_operator(scene, "generate_score")
    select_only(scene, set())
    scene.use_preview_range = False
    out["empty_error"] = run_operator(scene, "generate_score")
    out["nothing_unchanged"] = observe(scene) == out["after_cancel"]
    scores = os.path.join(os.path.dirname(blend), "scores")
    out["scores_files"] = sorted(os.listdir(scores)) if os.path.isdir(scores) else []

    # File > Open while a job runs: the job is cancelled, the opened file gets nothing.
    select_only(scene, {"shot A", "shot B"})
    out["reload_error"] = run_operator(scene, "generate_score")
    out["reload_job"] = tick_until_submitted()
    bpy.ops.wm.open_mainfile(filepath=blend)
    drive()
    out["reload_state"] = state()
    out["after_reload"] = observe(bpy.data.scenes["cut"])
    out["scores_files_after_reload"] = sorted(os.listdir(scores)) if os.path.isdir(scores) else []
    return out


def scenario_takes(config: dict) -> dict:
    """Markers follow one take; a cancel that lands after the worker finished still changes nothing;
    Online Access off keeps the connection check off the network."""
    scene, _ = build_cut_scene(config, "takes", config["fps"], config["fps_base"], config["clips"])
    prefs().server_url = config["server_url"]
    prefs().unsaved_folder = os.path.join(config["tmp"], "takes-scores")
    settings = scene.diffv2m_score_settings
    settings.use_random_seed, settings.markers = False, "BEATS"
    out: dict = {"before": observe(scene), "registry": []}
    for key, (operator, emotion, seed) in {
        "first": ("generate_score", "calm", 1),
        "second": ("generate_score", "happy", 2),
        "regenerated": ("regenerate_score", "tense", 3),
    }.items():
        settings.emotion, settings.seed = emotion, seed
        select_only(scene, {"shot A", "shot B"})
        out[f"{key}_error"] = run_operator(scene, operator)
        drive()
        out[key] = observe(scene)
        require_score(out[key])
        out[f"{key}_registry"] = addon().placement.registry(scene)

    # Cancel after the worker has finished (WAV downloaded, result queued) but before the tick
    # placed it: the moment the Cancel click lost the race to.
    settings.emotion, settings.seed = "sad", 4
    select_only(scene, {"shot A", "shot B"})
    before_cancel = observe(scene)
    out["race_error"] = run_operator(scene, "generate_score")
    job = addon().ticker.active()
    tick_until_submitted()
    job.join(bpy_scene.JOB_TIMEOUT)
    out["race_finished_result"] = not job.is_alive() and any(
        getattr(m, "result", None) is not None for m in list(job.messages.queue)
    )
    out["race_wav"] = next((m.result.wav_path for m in list(job.messages.queue) if getattr(m, "result", None)), "")
    out["race_cancel_error"] = run_operator(scene, "cancel_score")
    drive()
    out["race_state"] = state()
    out["race_unchanged"] = observe(scene) == before_cancel
    out["race_wav_exists"] = os.path.exists(out["race_wav"]) if out["race_wav"] else None

    # Online Access is off in the bpy module: a remote server is not contacted by Check either.
    out["online_access"] = bpy.app.online_access
    prefs().server_url = "http://scoring-server.invalid:8767"
    with sequencer_override(scene):
        bpy.ops.diffv2m.check_server()
    out["offline_pending"] = addon().connection._pending is not None or addon().connection.busy()
    out["offline_status"] = {"state": addon().connection.STATUS.state, "text": addon().connection.STATUS.text}
    prefs().server_url = config["server_url"]
    return out


def scenario_fps(config: dict) -> dict:
    """A 23.976 or 29.97 fps scene: generate once, report geometry and the request."""
    scene, _ = build_cut_scene(config, f"fps{config['fps']}", config["fps"], config["fps_base"], config["clips"])
    prefs().server_url = config["server_url"]
    prefs().unsaved_folder = os.path.join(config["tmp"], "unsaved-scores")
    scene.diffv2m_score_settings.use_random_seed = False
    out = {"plan": plan(scene), "before": observe(scene)}
    out["generate_error"] = run_operator(scene, "generate_score")
    drive()
    out["after_generate"] = observe(scene)
    out["generate_state"] = state()
    return out


def scenario_mapping(config: dict) -> dict:
    """Render frames and read back which source frame Blender shows, next to the segments sent."""
    scene = new_scene("mapping", config["fps"], config["fps_base"])
    scene.render.resolution_x = scene.render.resolution_y = 32
    scene.render.resolution_percentage = 100
    scene.view_settings.view_transform = "Standard"
    scene.render.image_settings.file_format = "PNG"
    for spec in config["strips"]:
        add_movie(
            scene,
            spec["name"],
            spec["path"],
            spec["channel"],
            spec["start"],
            spec.get("trim_start", 0),
            spec.get("trim_end", 0),
            spec.get("auto_rate", False),
        )
    for spec in config.get("metas", []):  # group strips as the user does (Ctrl+G), then trim the meta
        select_only(scene, set(spec["members"]))
        with sequencer_override(scene):
            bpy.ops.sequencer.meta_make()
        meta = scene.sequence_editor.active_strip
        meta.name = spec["name"]
        if "right" in spec:
            set_frame(meta, "right_handle", "frame_final_end", spec["right"])
    select_only(scene, {s["name"] for s in config["strips"]} | {m["name"] for m in config.get("metas", [])})
    out = {"plan": plan(scene), "shown": [], "strips": observe(scene)["strips"]}
    image_path = os.path.join(config["tmp"], "frame.png")
    first, last = out["plan"]["frames"]
    for frame in range(first, last, config.get("step", 5)):
        scene.frame_set(frame)
        scene.render.filepath = image_path
        with sequencer_override(scene):
            bpy.ops.render.render(write_still=True)
        image = bpy.data.images.load(image_path)
        grey = round(image.pixels[0] * 255)
        bpy.data.images.remove(image)
        out["shown"].append([frame, grey])
    return out


def scenario_start_server(config: dict) -> dict:
    """The preferences' Start Command launches a server; the indicator then shows it."""
    prefs().server_url = config["start_url"]
    out = {"before": check_connection()}
    prefs().start_command = config["start_command"]
    with sequencer_override(bpy.context.window_manager.windows[0].scene):
        bpy.ops.diffv2m.start_server()
    deadline = time.monotonic() + 120
    while (status := check_connection())["state"] != "ok" and time.monotonic() < deadline:
        time.sleep(1.0)
    out["after"] = status
    return out


SCENARIOS = {
    "start_server": scenario_start_server,
    "install": scenario_install,
    "score": scenario_score,
    "fps": scenario_fps,
    "takes": scenario_takes,
    "mapping": scenario_mapping,
}


def main() -> int:
    result: dict = {"version": list(bpy.app.version), "version_string": bpy.app.version_string, "scenarios": {}}
    status = 0
    try:
        bpy.ops.extensions.package_install_files(filepath=CONFIG["zip"], repo="user_default", enable_on_install=True)
        result["installed"] = MODULE in sys.modules
        for item in CONFIG["scenarios"]:
            name, options = item["name"], {**CONFIG, **item}
            try:
                result["scenarios"][item.get("key", name)] = SCENARIOS[name](options)
            except Exception:
                result["scenarios"][item.get("key", name)] = {"crash": traceback.format_exc()}
    except Exception:
        result["crash"] = traceback.format_exc()
        status = 1
    finally:
        try:
            bpy.ops.preferences.addon_disable(module=MODULE)
            result["disabled"] = not hasattr(bpy.types, "SEQUENCER_PT_diffv2m_score")
        except Exception:
            result["disable_crash"] = traceback.format_exc()
        with open(sys.argv[2], "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=1)
    sys.stdout.flush()
    # bpy 4.5 can hang in interpreter teardown; everything is written, leave now.
    os._exit(status)


if __name__ == "__main__":
    main()
