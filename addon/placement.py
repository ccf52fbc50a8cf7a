"""Putting a finished score into the timeline, and taking a generation back out.

Each generation is recorded twice: on its sound strip (custom property
``diffv2m_score``, survives save/reload and is visible in the strip's
properties) and in the scene's registry (same key) with the exact markers it
created. Regenerate removes the strip carrying that generation id and the
markers on that list, by name *and* frame, and nothing else; the user's strips
and markers are never looked at. WAV files are never deleted here: a replaced
take stays on disk in case the editor wants it back.
"""

from __future__ import annotations

import json
import os
from fractions import Fraction

import bpy

from . import compat
from .naming import beat_markers, is_marker_name, strip_name
from .timeline import FrameRange, lowest_free_channel, seconds_to_frame

KEY = "diffv2m_score"
SCORES_FOLDER = "//scores"


def output_folder(unsaved_folder: str, package: str) -> str:
    """Where a new WAV goes: ``//scores`` next to a saved .blend, else the preference folder.

    Unsaved files fall back to the extension's user folder so a first try never
    fails for want of a setting.
    """
    if bpy.data.filepath:
        return bpy.path.abspath(SCORES_FOLDER)
    if unsaved_folder:
        return bpy.path.abspath(unsaved_folder)
    return bpy.utils.extension_path_user(package, path="scores", create=True)


def stored_path(path: str) -> str:
    """Relative (``//scores/...``) when the .blend is saved, so the project moves as a whole."""
    if bpy.data.filepath:
        try:
            return bpy.path.relpath(path)
        except ValueError:  # another drive on Windows
            return path
    return path


def registry(scene: object) -> dict:
    """The scene's generations as plain Python data (``{"last": id, "generations": {id: record}}``)."""
    raw = scene.get(KEY)
    if raw is None:
        return {"last": 0, "next": 1, "generations": {}}
    data = raw.to_dict() if hasattr(raw, "to_dict") else dict(raw)
    data.setdefault("generations", {})
    return data


def _save_registry(scene: object, data: dict) -> None:
    scene[KEY] = data


def generation_of_strip(strip: object) -> int | None:
    tag = strip.get(KEY) if strip is not None else None
    return int(tag["generation"]) if tag is not None and "generation" in tag else None


def target_generation(scene: object) -> dict | None:
    """What Regenerate replaces: the active strip's generation, else the scene's latest."""
    data = registry(scene)
    gid = generation_of_strip(compat.active_strip(scene))
    if gid is None or str(gid) not in data["generations"]:
        gid = data.get("last", 0)
    record = data["generations"].get(str(gid))
    return dict(record) if record else None


def free_channel(editor: object, frames: FrameRange) -> int:
    occupied = [(int(s.channel), *compat.strip_extent(s)) for s in compat.strips(editor)]
    return lowest_free_channel(occupied, frames)


def _remove_markers(scene: object, record: dict) -> None:
    """Remove the markers ``record`` created (matched by name and frame), and forget them."""
    for name, frame in json.loads(record.get("markers", "[]")):
        for marker in scene.timeline_markers:
            if marker.name == name and marker.frame == frame and is_marker_name(marker.name):
                scene.timeline_markers.remove(marker)
                break
    record["markers"] = "[]"


def remove_generation(scene: object, gid: int) -> None:
    """Remove generation ``gid``'s strip and markers (wherever the strip was moved)."""
    data = registry(scene)
    record = data["generations"].pop(str(gid), None)
    editor = scene.sequence_editor
    if editor is not None:
        for strip in compat.strips(editor, recursive=True):
            if generation_of_strip(strip) == gid:
                compat.remove_strip(editor, strip)
    if record:
        _remove_markers(scene, record)
    if data.get("last") == gid:
        data["last"] = 0
    _save_registry(scene, data)


def place_score(scene: object, frames: FrameRange, fps: Fraction, job: dict, markers_mode: str) -> object:
    """Insert a finished job: sound strip at ``frames.start`` on a free channel, then its markers.

    ``job`` holds ``job_id``, ``wav_path``, ``result`` and ``beats`` (a jobs.ScoreResult as a
    dict) plus ``requested_emotion`` and ``replaces`` (a generation id or 0).

    Markers belong to one take (docs/addon.md): the new take's markers replace every earlier
    take's, and the takes kept on other channels keep their strips but no markers. All or
    nothing: when placing fails half-way, what it added is taken out again and it raises.
    """
    if job.get("replaces"):
        remove_generation(scene, int(job["replaces"]))
    editor = scene.sequence_editor or scene.sequence_editor_create()
    added: dict = {"strip": None, "markers": []}
    try:
        strip = _add_take(scene, editor, frames, fps, job, markers_mode, added)
    except BaseException:
        _remove_markers(scene, {"markers": json.dumps(added["markers"])})
        if added["strip"] is not None:
            compat.remove_strip(editor, added["strip"])
        raise
    data = registry(scene)
    for gid, record in data["generations"].items():
        if gid != str(data["last"]):
            _remove_markers(scene, record)
    _save_registry(scene, data)
    return strip


def _add_take(
    scene: object, editor: object, frames: FrameRange, fps: Fraction, job: dict, markers_mode: str, added: dict
) -> object:
    result, beats = job["result"], job["beats"]
    emotion = str(result.get("emotion") or job.get("requested_emotion") or "auto")
    seed, engine = int(result.get("seed", 0)), str(result.get("engine") or "")
    data = registry(scene)
    gid = max(int(data.get("next", 1)), *(int(k) + 1 for k in data["generations"]), 1)

    wav = stored_path(job["wav_path"])
    strip = compat.new_sound_strip(
        editor, strip_name(emotion, seed, engine), wav, free_channel(editor, frames), frames.start
    )
    added["strip"] = strip
    created = added["markers"]
    # The WAV is exactly the range long; Blender may round its length up by a frame.
    if compat.frame(strip, "right_handle") > frames.end:
        compat.set_frame(strip, "right_handle", frames.end)
    strip[KEY] = {
        "generation": gid,
        "job": str(job["job_id"]),
        "emotion": emotion,
        "seed": seed,
        "engine": engine,
        "wav": wav,
    }

    if markers_mode != "NONE":
        for marker in beat_markers(beats.get("beats", []), beats.get("downbeats", []), markers_mode == "BARS"):
            at = seconds_to_frame(marker.seconds, frames, fps)
            if frames.start <= at < frames.end:
                scene.timeline_markers.new(marker.name, frame=at)
                created.append([marker.name, at])

    data["generations"][str(gid)] = {
        "generation": gid,
        "strip": strip.name,
        "job": str(job["job_id"]),
        "emotion": emotion,
        "requested_emotion": str(job.get("requested_emotion") or emotion),
        "seed": seed,
        "engine": engine,
        "weights": str(result.get("weights") or ""),
        "tempo": float(beats.get("tempo") or result.get("tempo") or 0.0),
        "wav": wav,
        "range": [frames.start, frames.end],
        "markers": json.dumps(created),
    }
    data["last"] = gid
    data["next"] = gid + 1
    _save_registry(scene, data)
    return strip


def wav_exists(record: dict) -> bool:
    return os.path.isfile(bpy.path.abspath(record.get("wav", "")))
