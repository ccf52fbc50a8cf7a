"""Read what is to be scored from the open file, on the main thread, into plain data.

The range is the selected strips' extent, else the preview range. What the
server sees is the cut in that range as ``segments`` (timeline.py): every
visible movie strip's file, source in/out, position and speed. Nothing is
rendered, so the UI never waits; effects, transforms and colour grading are
not seen by the model (docs/addon.md explains the choice).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from fractions import Fraction

from . import compat, preferences
from .client import is_loopback_url
from .jobs import ScoreRequest
from .timeline import (
    FrameRange,
    MovieStripTiming,
    Segment,
    scene_fps,
    segments_for_range,
    selection_range,
    still,
    visible_pieces,
)

MAX_SEED = 2**31 - 1


class NothingToScore(Exception):
    """A one-sentence reason why Generate cannot start (shown as the operator's report)."""


@dataclass
class Plan:
    scene_name: str
    frames: FrameRange
    fps: Fraction
    segments: list[Segment]
    source: str  # "selection", "preview range" or "regenerate"


def fps_of(scene: object) -> Fraction:
    return scene_fps(scene.render.fps, scene.render.fps_base)


def scoring_range(context: object, scene: object) -> tuple[FrameRange, str]:
    """The selected strips' extent, else the preview range; NothingToScore otherwise."""
    selected = compat.selected_strips(context, scene)
    if selected:
        frames = selection_range([compat.strip_extent(s) for s in selected])
        if not any(compat.has_picture(s) for s in selected):
            raise NothingToScore(
                "None of the selected strips has picture: select movie strips (or set a preview range)."
            )
        return frames, "selection"
    if scene.use_preview_range:
        return FrameRange(scene.frame_preview_start, scene.frame_preview_end + 1), "preview range"
    raise NothingToScore("Nothing to score: select the strips to score, or set a preview range.")


def plan_range(scene: object, frames: FrameRange, source: str) -> Plan:
    """The visible movie strips of ``frames`` as segments; NothingToScore if none shows picture."""
    if frames.length <= 0:
        raise NothingToScore("The range to score is empty.")
    editor = scene.sequence_editor
    fps = fps_of(scene)
    timings: list[MovieStripTiming] = []
    if editor:
        _collect_movies(editor, compat.strips(editor), (frames.start, frames.end), (), fps, {}, timings)
    segments = segments_for_range(timings, frames, fps)
    if not segments:
        raise NothingToScore(
            f"No movie strip shows picture in frames {frames.start}-{frames.end - 1}: nothing for the music to follow."
        )
    return Plan(scene.name, frames, fps, segments, source)


def _collect_movies(
    container: object,
    strips: list,
    bounds: tuple[int, int],
    layer: tuple[int, ...],
    fps: Fraction,
    cache: dict[str, tuple[int, float]],
    found: list[MovieStripTiming],
) -> None:
    """Every unmuted movie strip visible within ``bounds``, looking inside meta strips."""
    for strip in strips:
        if strip.mute or compat.channel_muted(container, strip.channel):
            continue
        left, right = compat.strip_extent(strip)
        inner = (max(left, bounds[0]), min(right, bounds[1]))
        if inner[1] <= inner[0]:
            continue
        where = (*layer, int(strip.channel))
        if strip.type == "MOVIE":
            try:
                found.append(compat.movie_timing(strip, fps, cache, inner, where))
            except (OSError, ValueError) as exc:
                raise NothingToScore(str(exc)) from None
        elif strip.type == "META":
            _collect_meta(strip, inner, where, fps, cache, found)


def _collect_meta(
    meta: object,
    bounds: tuple[int, int],
    layer: tuple[int, ...],
    fps: Fraction,
    cache: dict[str, tuple[int, float]],
    found: list[MovieStripTiming],
) -> None:
    """A meta's movies over its content, plus its held first/last picture where its handles reach past it."""
    start = compat.frame(meta, "content_start")
    first, end = math.ceil(start), math.floor(start + compat.frame(meta, "content_duration"))
    inside: list[MovieStripTiming] = []
    _collect_movies(
        meta, compat.children(meta), (max(bounds[0], first), min(bounds[1], end)), layer, fps, cache, inside
    )
    found.extend(inside)
    pieces = visible_pieces(inside, FrameRange(first, end)) if end > first else []
    if pieces and bounds[0] < first and pieces[0][1].start == first:
        found.append(still(pieces[0][0], first, bounds[0], min(first, bounds[1]), layer))
    if pieces and bounds[1] > end and pieces[-1][1].end == end:
        found.append(still(pieces[-1][0], end - 1, max(end, bounds[0]), bounds[1], layer))


def plan_from_context(context: object) -> Plan:
    scene = compat.vse_scene(context)
    frames, source = scoring_range(context, scene)
    return plan_range(scene, frames, source)


def build_request(plan: Plan, prefs: object, settings: object, output_dir: str, replaces: int = 0) -> ScoreRequest:
    """Turn a plan plus the panel's settings into the worker's request."""
    url = prefs.server_url.strip()
    local = is_loopback_url(url)
    refusal = preferences.offline_refusal(url)
    if refusal:
        raise NothingToScore(refusal)
    upload: list[str] = []
    segments = []
    for segment in plan.segments:
        if local:
            segments.append(segment.as_request())
        else:
            if segment.path not in upload:
                upload.append(segment.path)
            segments.append(segment.as_request(upload.index(segment.path)))
    seed = random.randint(0, MAX_SEED) if settings.use_random_seed else int(settings.seed)
    return ScoreRequest(
        server_url=url,
        token=prefs.token,
        segments=segments,
        upload=upload,
        duration=float(plan.frames.seconds(plan.fps)),
        emotion=settings.emotion.lower(),
        seed=seed,
        engine=settings.engine.lower(),
        output_dir=output_dir,
        context={
            "scene": plan.scene_name,
            "range": [plan.frames.start, plan.frames.end],
            "fps": [plan.fps.numerator, plan.fps.denominator],
            "replaces": replaces,
            "requested_emotion": settings.emotion.lower(),
            "markers": settings.markers,
        },
    )
