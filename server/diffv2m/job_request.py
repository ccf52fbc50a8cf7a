"""What a scoring job asks for, checked before it is queued.

The server (form fields) and ``diffv2m generate`` (flags) both build a
``JobRequest`` and call ``validate`` and then ``check_sources``, so every bad input
gets the same one-sentence error from either, and gets it at submission time
rather than minutes later from the worker.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .emotion import emotion_names
from .errors import InputError, RangeError, VideoError

ENGINE_CHOICES = ("auto", "default", "diffv2m")
MAX_TAKES = 4
MAX_DURATION = 3600.0  # one hour of music per job
MAX_STEPS = 1000
RANGE_TOLERANCE = 0.05  # seconds an end may pass the video's end (container rounding)


@dataclass
class SegmentSpec:
    """One piece of a timeline cut from several sources (see docs/api.md)."""

    path: str
    source_start: float
    source_end: float
    timeline_start: float
    speed: float = 1.0

    @property
    def timeline_end(self) -> float:
        return self.timeline_start + (self.source_end - self.source_start) / self.speed


@dataclass
class JobRequest:
    video: str | None = None  # one source file...
    segments: list[SegmentSpec] | None = None  # ...or a timeline of pieces
    start: float = 0.0
    end: float | None = None  # None: to the end of the video / last segment
    emotion: str = "auto"
    seed: int | None = None  # None: chosen at random when validated
    takes: int = 1
    engine: str = "auto"
    steps: int | None = None
    guidance: float | None = None
    duration: float | None = None  # None: end - start

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobRequest:
        data = dict(data)
        if data.get("segments") is not None:
            data["segments"] = [SegmentSpec(**s) for s in data["segments"]]
        return cls(**data)

    @property
    def range_length(self) -> float:
        assert self.end is not None, "check_sources() fills in the end"
        return self.end - self.start

    @property
    def music_duration(self) -> float:
        return self.duration if self.duration is not None else self.range_length

    @property
    def seeds(self) -> list[int]:
        assert self.seed is not None, "validate() chooses the seed"
        return [self.seed + k for k in range(self.takes)]


def _finite(name: str, value: float | None) -> None:
    if value is not None and not math.isfinite(value):
        raise InputError(f"'{name}' must be a finite number of seconds.")


def validate(request: JobRequest) -> JobRequest:
    """Check everything that does not need the video; fill in a random seed."""
    if (request.video is None) == (request.segments is None):
        raise InputError("Give the video exactly one way: an upload, a local path, or segments.")
    for name in ("start", "end", "duration", "guidance"):
        _finite(name, getattr(request, name))
    if request.start < 0:
        raise RangeError(f"The range start must be 0 or later, not {request.start:g} s.")
    if request.end is not None and request.end <= request.start:
        raise RangeError(f"The range is empty: it ends at {request.end:g} s, not after its start {request.start:g} s.")
    request.emotion = (request.emotion or "auto").strip().lower()
    if request.emotion not in emotion_names():
        raise InputError(f"Unknown emotion '{request.emotion}'. Choose one of: {', '.join(emotion_names())}.")
    if request.seed is None:
        request.seed = secrets.randbelow(2**31)
    if request.seed < 0 or request.seed >= 2**63 - MAX_TAKES:
        raise InputError(f"The seed must be a whole number from 0 up, not {request.seed}.")
    if not 1 <= request.takes <= MAX_TAKES:
        raise InputError(f"Takes must be between 1 and {MAX_TAKES}, not {request.takes}.")
    if request.engine not in ENGINE_CHOICES:
        raise InputError(f"Unknown engine '{request.engine}'. Choose one of: {', '.join(ENGINE_CHOICES)}.")
    if request.steps is not None and not 1 <= request.steps <= MAX_STEPS:
        raise InputError(f"Sampler steps must be between 1 and {MAX_STEPS}, not {request.steps}.")
    if request.guidance is not None and not 0 <= request.guidance <= 30:
        raise InputError(f"Guidance must be between 0 and 30, not {request.guidance:g}.")
    if request.duration is not None and not 0 < request.duration <= MAX_DURATION:
        raise InputError(f"The music duration must be more than 0 and at most {MAX_DURATION:g} s.")
    for segment in request.segments or []:
        _check_segment(segment)
    return request


def _check_segment(segment: SegmentSpec) -> None:
    for name in ("source_start", "source_end", "timeline_start", "speed"):
        _finite(name, getattr(segment, name))
    if segment.speed <= 0:
        raise InputError(f"A segment's speed must be above 0, not {segment.speed:g}.")
    if segment.source_start < 0 or segment.timeline_start < 0:
        raise RangeError("Segment times must be 0 or later.")
    if segment.source_end <= segment.source_start:
        raise RangeError(f"A segment of {Path(segment.path).name} is empty: its source_end is not after source_start.")


def probe_duration(path: str | Path) -> float:
    """Length in seconds of the first video stream; VideoError when there is none."""
    import av

    name = Path(path).name
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoError(f"{name} has no picture (no video stream).")
            stream = container.streams.video[0]
            if stream.duration is not None and stream.time_base is not None:
                return float(stream.duration * stream.time_base)
            if container.duration is not None:
                return container.duration / 1_000_000
            raise VideoError(f"{name} does not say how long it is; re-encode it (e.g. to H.264 MP4).")
    except av.error.FFmpegError as exc:
        raise VideoError(f"{name} is not a readable video file (it may be truncated or not a video).") from exc


def check_sources(request: JobRequest, display_names: dict[str, str] | None = None) -> JobRequest:
    """Probe the video(s): the range must lie inside; fills in a missing ``end``.

    ``display_names`` maps stored upload paths to what the user knows them as,
    so messages never show the server's internal file names.
    """
    names = display_names or {}
    if request.video is not None:
        length = _probe_named(request.video, names)
        shown = names.get(request.video, Path(request.video).name)
        if request.start >= length:
            raise RangeError(f"The range starts at {request.start:g} s but {shown} is only {length:.2f} s long.")
        if request.end is None:
            request.end = length
        elif request.end > length + RANGE_TOLERANCE:
            raise RangeError(f"The range ends at {request.end:g} s but {shown} is only {length:.2f} s long.")
        request.end = min(request.end, length)
    else:
        segments = request.segments or []
        if not segments:
            raise InputError("The segments list is empty.")
        lengths: dict[str, float] = {}
        for segment in segments:
            if segment.path not in lengths:
                lengths[segment.path] = _probe_named(segment.path, names)
            shown = names.get(segment.path, Path(segment.path).name)
            length = lengths[segment.path]
            if segment.source_end > length + RANGE_TOLERANCE:
                raise RangeError(f"A segment ends at {segment.source_end:g} s but {shown} is only {length:.2f} s long.")
            segment.source_end = min(segment.source_end, lengths[segment.path])
        timeline_end = max(s.timeline_end for s in segments)
        if request.start != 0:
            raise RangeError("With segments the range starts at 0 on the timeline; give only 'end'.")
        request.end = timeline_end if request.end is None else request.end
    if request.end <= request.start:
        raise RangeError("The range is empty.")
    return request


def _probe_named(path: str, names: dict[str, str]) -> float:
    try:
        return probe_duration(path)
    except VideoError as exc:
        shown = names.get(path)
        if shown:
            raise VideoError(exc.message.replace(Path(path).name, shown, 1)) from exc
        raise


@dataclass
class FormValues:
    """Typed access to text form fields, with one-sentence errors."""

    fields: dict[str, str] = field(default_factory=dict)

    def text(self, name: str) -> str | None:
        value = self.fields.get(name)
        return value.strip() if value is not None and value.strip() != "" else None

    def number(self, name: str) -> float | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return float(value)
        except ValueError as exc:
            raise InputError(f"'{name}' must be a number, not '{value[:40]}'.") from exc

    def integer(self, name: str) -> int | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError as exc:
            raise InputError(f"'{name}' must be a whole number, not '{value[:40]}'.") from exc


def request_from_form(values: FormValues) -> JobRequest:
    """Everything but the video source, from form fields."""
    start, takes = values.number("start"), values.integer("takes")
    return JobRequest(
        start=0.0 if start is None else start,
        end=values.number("end"),
        emotion=values.text("emotion") or "auto",
        seed=values.integer("seed"),
        takes=1 if takes is None else takes,
        engine=(values.text("engine") or "auto").lower(),
        steps=values.integer("steps"),
        guidance=values.number("guidance"),
        duration=values.number("duration"),
    )
