"""A timeline cut from pieces of videos, and the frames it shows.

The Blender add-on sends the strips under the range as ``Segment``s (the one
type, defined with the request in ``job_request``): which part of which file
plays where on the timeline and how fast. Times on the timeline are relative to
the range start; places no segment covers are black. Segment fields were checked
by ``job_request.validate``; here they are checked against the files.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError, RangeError
from ..job_request import Segment
from ..limits import CHECK_BUDGET_S
from ..video.decode import DecodedFrame, analysis_size, iter_frames, resolve_range
from ..video.probe import VideoInfo, probe_video

_OVERLAP_TOLERANCE = 0.5  # frames: editors' rounding, not a real overlap


@dataclass
class Timeline:
    """Validated segments (sorted, each with its probed video) over ``[0, duration)``."""

    pieces: list[tuple[Segment, VideoInfo]]
    duration: float
    fps: float  # frame rate of black gaps: that of the first piece as played
    label: str  # for messages and VideoFeatures.source
    start: float = 0.0  # range start in the source (single-file timelines), else 0

    def frames(self, width: int) -> Iterator[DecodedFrame]:
        """Every frame shown, at ``width`` x the first piece's display height, with timeline times."""
        size = analysis_size(self.pieces[0][1], width)
        black = np.zeros((size[1], size[0], 3), np.uint8)
        cursor, last_time = 0.0, -math.inf
        for segment, info in self.pieces:
            yield from self._gap(cursor, segment.timeline_start, black)
            with closing(iter_frames(info, segment.source_start, segment.source_end, width=width)) as frames:
                for frame in frames:
                    time = segment.timeline_start + frame.time / segment.speed
                    if time <= last_time:
                        continue  # a hair of overlap with the previous piece
                    if time >= self.duration:
                        break
                    image = frame.image
                    if image.shape != black.shape:  # another aspect: fit it to the timeline's frame
                        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
                    last_time = time
                    yield dataclasses.replace(frame, time=time, image=image)
            cursor = max(cursor, segment.timeline_end)
        yield from self._gap(cursor, self.duration, black)

    def _gap(self, start: float, end: float, black: np.ndarray) -> Iterator[DecodedFrame]:
        period = 1.0 / self.fps
        time = start
        while time < end - 0.25 * period:
            yield DecodedFrame(time, black)
            time += period


def single_file_timeline(path: str | os.PathLike[str], start: float = 0.0, end: float | None = None) -> Timeline:
    info = probe_video(path)
    start, end = resolve_range(info, start, end)
    segment = Segment(info.path, start, end)
    return Timeline([(segment, info)], end - start, info.fps, str(info.path), start=start)


def plan_timeline(segments: Sequence[Segment], end: float | None = None, deadline: float | None = None) -> Timeline:
    """Check every segment against its file (lengths, overlaps) before anything is decoded.

    Each distinct file is probed once. Past ``deadline`` (``time.monotonic()``) the
    check stops with an error instead of holding the caller.
    """
    if not segments:
        raise InputError("The timeline has no segments: select at least one video strip.")
    infos: dict[str, VideoInfo] = {}
    pieces = []
    for segment in segments:
        if deadline is not None and time.monotonic() > deadline:
            raise InputError(f"Checking the segments' files took over {CHECK_BUDGET_S:g} s; send fewer segments.")
        key = os.fspath(segment.path)
        info = infos.get(key) or infos.setdefault(key, probe_video(segment.path))
        _source_start, source_end = resolve_range(info, segment.source_start, segment.source_end)
        pieces.append((dataclasses.replace(segment, path=info.path, source_end=source_end), info))
    pieces.sort(key=lambda piece: piece[0].timeline_start)
    for (before, info), (after, _) in itertools.pairwise(pieces):
        if before.timeline_end - after.timeline_start > _OVERLAP_TOLERANCE * info.frame_period:
            raise InputError(
                f"Segments from {Path(before.path).name} and {Path(after.path).name} overlap on the timeline "
                f"({after.timeline_start:.3f} s < {before.timeline_end:.3f} s); send only what is visible."
            )
    last_end = max(segment.timeline_end for segment, _ in pieces)
    if end is None:
        end = last_end
    kept = [_clip_to(segment, end, info) for segment, info in pieces if segment.timeline_start < end]
    if not kept:
        raise RangeError(f"No segment is visible before the range end ({end:g} s).")
    first_segment, first_info = kept[0]
    names = ", ".join(dict.fromkeys(Path(segment.path).name for segment, _ in kept))
    return Timeline(kept, float(end), first_info.fps * first_segment.speed, f"timeline of {names}")


def _clip_to(segment: Segment, end: float, info: VideoInfo) -> tuple[Segment, VideoInfo]:
    if segment.timeline_end <= end:
        return segment, info
    source_end = segment.source_start + (end - segment.timeline_start) * segment.speed
    return dataclasses.replace(segment, source_end=source_end), info
