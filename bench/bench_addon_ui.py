"""How long the add-on holds Blender's main thread: the UI must never freeze for long.

    .venv-bpy50/bin/python bench/bench_addon_ui.py [--strips 200] [--minutes 2] [--json OUT.json]

Runs in a bpy venv (scripts/setup.sh --test), installs the extension zip built by
addon/build.py into a throwaway user folder, and times the main-thread work:
  snapshot  Generate's click: read the range and every strip into segments (N cut strips);
  place     the tick placing a finished score: sound strip + one marker per beat (120 bpm);
  replace   Regenerate's removal of that strip and its markers;
  undo_push the undo step pushed after placing;
  tick      one idle tick (what runs every 0.1 s while a job waits on the server).
Network and generation happen in the worker thread and are not part of these numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from fractions import Fraction
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_USER = tempfile.mkdtemp(prefix="bench-bpy-user-")
for _key in ("BLENDER_USER_RESOURCES", "BLENDER_USER_CONFIG", "BLENDER_USER_SCRIPTS", "BLENDER_USER_EXTENSIONS"):
    os.environ[_key] = os.path.join(_USER, _key.lower())

import bpy  # noqa: E402  (user folders first)

MODULE = "bl_ext.user_default.diffv2m_score"


def timed(function, repeats: int) -> dict:
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        runs.append(time.perf_counter() - start)
    return {"median_ms": 1000 * statistics.median(runs), "max_ms": 1000 * max(runs), "repeats": repeats}


def make_clip(folder: Path, frames: int = 48) -> str:
    """A small H.264 clip rendered by Blender's own FFmpeg (the bpy venv has no PyAV)."""
    scene = bpy.data.scenes.new("clip")
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 64, 64, 100
    scene.frame_start, scene.frame_end = 1, frames
    editor = scene.sequence_editor_create()
    collection = editor.strips if hasattr(editor, "strips") else editor.sequences
    extra = {"length": frames} if bpy.app.version >= (5, 0, 0) else {"frame_end": frames + 1}
    collection.new_effect("colour", "COLOR", 1, 1, **extra)
    settings = scene.render.image_settings
    if hasattr(settings, "media_type"):
        settings.media_type = "VIDEO"
    settings.file_format = "FFMPEG"
    scene.render.ffmpeg.format, scene.render.ffmpeg.codec = "MPEG4", "H264"
    path = folder / "clip.mp4"
    scene.render.filepath, scene.render.use_file_extension = str(path), False
    with bpy.context.temp_override(scene=scene):
        bpy.ops.render.render(animation=True, scene=scene.name)
    return str(path)


def write_silence(path: Path, seconds: float) -> str:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(2)
        handle.setsampwidth(2)
        handle.setframerate(44100)
        handle.writeframes(bytes(4 * int(seconds * 44100)))
    return str(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strips", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-addon-"))
    built = subprocess.run(
        [sys.executable, str(REPO / "addon" / "build.py"), "--plain", "--output-dir", str(folder)],
        check=True,
        capture_output=True,
        text=True,
    )
    bpy.ops.extensions.package_install_files(
        filepath=built.stdout.strip().splitlines()[-1], repo="user_default", enable_on_install=True
    )
    addon = sys.modules[MODULE]
    try:
        clip = make_clip(folder)
        scene = bpy.data.scenes.new("bench")
        scene.render.fps, scene.render.fps_base = 24, 1.0
        editor = scene.sequence_editor_create()
        collection = editor.strips if hasattr(editor, "strips") else editor.sequences
        for i in range(args.strips):  # a cut every 20 frames, alternating channels, each head-trimmed
            strip = collection.new_movie(f"shot {i}", clip, 1 + i % 2, 1 + 20 * i - 4)
            addon.compat.set_frame(strip, "left_handle", 1 + 20 * i)
            addon.compat.set_frame(strip, "right_handle", 21 + 20 * i)
            strip.select = True
        window = bpy.context.window_manager.windows[0]
        window.scene = scene
        if hasattr(window.workspace, "sequencer_scene"):
            window.workspace.sequencer_scene = scene

        results = {"blender": bpy.app.version_string, "strips": args.strips, "machine": platform.processor()}
        with bpy.context.temp_override(window=window):
            results["snapshot"] = timed(lambda: addon.snapshot.plan_from_context(bpy.context), args.repeats)
        results["segments"] = len(addon.snapshot.plan_from_context(bpy.context).segments)

        seconds = args.minutes * 60
        frames = addon.timeline.FrameRange(1, 1 + round(seconds * 24))
        beats = [0.25 + 0.5 * k for k in range(int((seconds - 0.25) / 0.5) + 1)]
        wav = write_silence(folder / "score.wav", seconds)
        result = {"job_id": "bench", "wav_path": wav, "requested_emotion": "calm", "replaces": 0,
                  "result": {"engine": "default", "seed": 1, "emotion": "calm"},
                  "beats": {"beats": beats, "downbeats": beats[::4], "tempo": 120.0}}  # fmt: skip
        place, replace, push = [], [], []
        for _ in range(args.repeats):
            start = time.perf_counter()
            strip = addon.placement.place_score(scene, frames, Fraction(24), result, "BEATS")
            place.append(time.perf_counter() - start)
            start = time.perf_counter()
            addon.ticker.undo_push("bench")
            push.append(time.perf_counter() - start)
            gid = addon.placement.generation_of_strip(strip)
            start = time.perf_counter()
            addon.placement.remove_generation(scene, gid)
            replace.append(time.perf_counter() - start)
        for name, runs in (("place", place), ("replace", replace), ("undo_push", push)):
            results[name] = {"median_ms": 1000 * statistics.median(runs), "max_ms": 1000 * max(runs)}
        results["markers"] = len(beats)
        results["tick"] = timed(addon.ticker.tick, 1000)
    finally:
        bpy.ops.preferences.addon_disable(module=MODULE)
    text = json.dumps(results, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text)
    sys.stdout.flush()
    os._exit(0)  # bpy 4.5 can hang in interpreter teardown


if __name__ == "__main__":
    main()
