"""One place for the Blender API differences between 4.2 LTS, 4.5 LTS and 5.x.

- 4.4 added ``SequenceEditor.strips`` and ``context.selected_strips``; 5.0 removed
  ``sequences``/``selected_sequences`` (checked with ``hasattr``: an empty
  collection is falsy, so ``getattr(...) or ...`` would pick the wrong one).
- 5.0 added ``context.sequencer_scene``: the sequencer may edit another scene.
- 5.3 renamed the frame properties (``frame_final_start`` -> ``left_handle``,
  ``frame_start`` -> ``content_start``, ``animation_offset_start`` ->
  ``content_trim_start``, ...) and deprecated the old names; the new one is used
  wherever it exists so no DeprecationWarning is raised.
"""

from __future__ import annotations

import os
from fractions import Fraction

import bpy

from .timeline import MovieStripTiming, media_fps, playback_rate

# new name (5.3+) -> old name (4.2 .. 5.2)
_FRAME_PROPS = {
    "left_handle": "frame_final_start",
    "right_handle": "frame_final_end",
    "duration": "frame_final_duration",
    "content_start": "frame_start",
    "content_duration": "frame_duration",
    "content_trim_start": "animation_offset_start",
    "content_trim_end": "animation_offset_end",
}


def _prop_name(strip: object, new: str) -> str:
    return new if new in strip.bl_rna.properties else _FRAME_PROPS[new]


def frame(strip: object, new: str) -> float:
    """Read a frame property by its 5.3 name on any version (``frame(s, "left_handle")``)."""
    return getattr(strip, _prop_name(strip, new))


def set_frame(strip: object, new: str, value: float) -> None:
    setattr(strip, _prop_name(strip, new), value)


def vse_scene(context: object) -> object:
    """The scene the sequencer edits (5.0+: may differ from the window's scene)."""
    return getattr(context, "sequencer_scene", None) or context.scene


def strips(editor: object, recursive: bool = False) -> list:
    """Top-level strips (or all, inside metas too) of a SequenceEditor."""
    if hasattr(editor, "strips"):
        return list(editor.strips_all if recursive else editor.strips)
    return list(editor.sequences_all if recursive else editor.sequences)


def strips_collection(editor: object) -> object:
    """The top-level collection with ``new_sound``/``remove``."""
    return editor.strips if hasattr(editor, "strips") else editor.sequences


def selected_strips(context: object, scene: object) -> list:
    """Selected top-level strips; outside a sequencer area the context lists are None."""
    for attr in ("selected_strips", "selected_sequences"):
        value = getattr(context, attr, None)
        if value is not None:
            return list(value)
    editor = scene.sequence_editor
    return [s for s in strips(editor) if s.select] if editor else []


def active_strip(scene: object) -> object | None:
    editor = scene.sequence_editor
    return getattr(editor, "active_strip", None) if editor else None


def channel_muted(editor: object, channel: int) -> bool:
    channels = getattr(editor, "channels", None)  # 3.5+: per-channel mute/lock
    if channels is None or channel >= len(channels):
        return False
    return bool(channels[channel].mute)


def strip_extent(strip: object) -> tuple[int, int]:
    return int(frame(strip, "left_handle")), int(frame(strip, "right_handle"))


def movie_facts(path: str, cache: dict[str, tuple[int, float]]) -> tuple[int, float]:
    """Frame count and frame rate of a movie file, read once per file by Blender's own decoder.

    A MovieClip is loaded then removed. (``MovieStrip.fps`` reopens the file on every
    read, about 5 ms, which over a long timeline would freeze the UI.)
    """
    if path not in cache:
        existing = {c.name for c in bpy.data.movieclips}
        clip = bpy.data.movieclips.load(path, check_existing=True)
        try:
            cache[path] = (int(clip.frame_duration), float(clip.fps))
        finally:
            if clip.name not in existing:
                bpy.data.movieclips.remove(clip)
    return cache[path]


def children(strip: object) -> list:
    """The strips inside a meta strip."""
    return list(strip.strips if hasattr(strip, "strips") else strip.sequences)


def has_picture(strip: object) -> bool:
    """A movie strip, or a meta strip with one inside (what the model can see)."""
    if strip.type == "MOVIE":
        return True
    return strip.type == "META" and any(has_picture(child) for child in children(strip))


def movie_timing(
    strip: object,
    fps: Fraction,
    cache: dict[str, tuple[int, float]],
    bounds: tuple[int, int] | None = None,
    layer: tuple[int, ...] = (),
) -> MovieStripTiming:
    """Plain timing data of a movie strip (raises OSError when its file cannot be read).

    ``bounds`` clips the visible part (a meta strip's handles), ``layer`` orders it among
    other strips when it sits inside metas.
    """
    path = os.path.normpath(bpy.path.abspath(strip.filepath))
    try:
        frames, rate = movie_facts(path, cache)
    except RuntimeError as exc:
        raise OSError(f"Cannot read the movie of strip '{strip.name}' ({path}).") from exc
    trim_start = int(frame(strip, "content_trim_start"))
    trim_end = int(frame(strip, "content_trim_end"))
    duration = int(frame(strip, "content_duration"))
    movie_rate = media_fps(rate)
    return MovieStripTiming(
        name=strip.name,
        channel=int(strip.channel),
        path=path,
        left=max(int(frame(strip, "left_handle")), bounds[0]) if bounds else int(frame(strip, "left_handle")),
        right=min(int(frame(strip, "right_handle")), bounds[1]) if bounds else int(frame(strip, "right_handle")),
        content_start=Fraction(frame(strip, "content_start")).limit_denominator(1 << 16),
        content_duration=duration,
        trim_start=trim_start,
        rate=playback_rate(frames, trim_start, trim_end, duration, movie_rate, fps),
        fps=movie_rate,
        layer=layer or (int(strip.channel),),
    )


def new_sound_strip(editor: object, name: str, filepath: str, channel: int, frame_start: int) -> object:
    return strips_collection(editor).new_sound(name=name, filepath=filepath, channel=channel, frame_start=frame_start)


def remove_strip(editor: object, strip: object) -> None:
    """Remove a strip wherever it lives (top level or inside a meta strip)."""
    parent = strip.parent_meta() if hasattr(strip, "parent_meta") else None
    owner = strips_collection(parent) if parent is not None else strips_collection(editor)
    # Prefetch threads have read freed strips during removal (seen by other add-ons).
    prefetch = getattr(editor, "use_prefetch", None)
    if prefetch:
        editor.use_prefetch = False
    try:
        owner.remove(strip)
    finally:
        if prefetch:
            editor.use_prefetch = True


def find_area(window: object, area_type: str = "SEQUENCE_EDITOR") -> object | None:
    for area in window.screen.areas:
        if area.type == area_type:
            return area
    return None
