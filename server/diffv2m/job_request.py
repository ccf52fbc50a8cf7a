"""What a scoring job asks for, checked before it is queued.

The server (form fields) and ``diffv2m generate`` (flags) both build a
``JobRequest`` and call ``validate`` and then ``check_sources``, so every bad input
gets the same one-sentence error from either, and gets it at submission time
rather than minutes later from the worker.
"""

from __future__ import annotations

import math
import os
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .emotion import emotion_key
from .errors import Diffv2mError, InputError, RangeError
from .limits import (
    CHECK_BUDGET_S,
    ENGINE_CHOICES,
    MAX_DURATION_S,
    MAX_GUIDANCE,
    MAX_SEED,
    MAX_SEGMENTS,
    MAX_SPEED,
    MAX_STEPS,
    MAX_TAKES,
    MIN_GUIDANCE,
    MIN_SPEED,
    PRESET_CHOICES,
    shown,
)

__all__ = ["ENGINE_CHOICES", "MAX_TAKES", "JobRequest", "Segment", "check_sources", "validate"]


@dataclass(frozen=True)
class Segment:
    """One piece of a timeline cut from several sources (see docs/api.md).

    Times on the timeline are seconds from the range start; places no segment
    covers are black. ``validate`` checks every field before anything uses it.
    """

    path: str | os.PathLike[str]
    source_start: float  # seconds in the source (from its first frame)
    source_end: float
    timeline_start: float = 0.0
    speed: float = 1.0  # playback rate: 2.0 plays the source twice as fast

    @property
    def timeline_duration(self) -> float:
        return (self.source_end - self.source_start) / self.speed

    @property
    def timeline_end(self) -> float:
        return self.timeline_start + self.timeline_duration


@dataclass
class JobRequest:
    video: str | None = None  # one source file...
    segments: list[Segment] | None = None  # ...or a timeline of pieces
    start: float = 0.0
    end: float | None = None  # None: to the end of the video / last segment
    emotion: str = "auto"
    seed: int | None = None  # None: chosen at random when validated
    takes: int = 1
    engine: str = "auto"
    steps: int | None = None  # overrides the preset's step count
    preset: str | None = None  # a step preset (PRESET_CHOICES); None: the engine's sampler and steps
    guidance: float | None = None
    duration: float | None = None  # None: end - start

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for segment in data["segments"] or []:
            segment["path"] = str(segment["path"])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobRequest:
        data = dict(data)
        if data.get("segments") is not None:
            data["segments"] = [Segment(**s) for s in data["segments"]]
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


def _finite(name: str, value: float | None, unit: str = " of seconds") -> None:
    if value is not None and not math.isfinite(value):
        raise InputError(f"'{name}' must be a finite number{unit}, not {shown(value)}.")


def _too_long(seconds: float, what: str) -> RangeError:
    return RangeError(
        f"{what} is {seconds:.6g} s of music; a job makes at most {MAX_DURATION_S:g} s: give an 'end' that "
        "shortens the range."
    )


def _check_segment(number: int, segment: Segment) -> None:
    where = f"Segment {number}"
    for name in ("source_start", "source_end", "timeline_start", "speed"):
        _finite(f"{where} '{name}'", getattr(segment, name), "")
    if segment.source_start < 0:
        raise RangeError(f"{where} 'source_start' must be 0 or later, not {segment.source_start:g} s.")
    if segment.source_end <= segment.source_start:
        raise RangeError(f"{where} is empty: 'source_end' ({segment.source_end:g} s) must come after its source_start.")
    if not 0 <= segment.timeline_start < MAX_DURATION_S:
        raise RangeError(
            f"{where} 'timeline_start' must be from 0 to under {MAX_DURATION_S:g} s, not {segment.timeline_start:g}."
        )
    if not MIN_SPEED <= segment.speed <= MAX_SPEED:
        raise InputError(f"{where} 'speed' must be from {MIN_SPEED:g} to {MAX_SPEED:g}, not {segment.speed:g}.")


def _check_segments(request: JobRequest) -> None:
    segments = request.segments or []
    if not segments:
        raise InputError("'segments' is empty: select at least one video strip.")
    if len(segments) > MAX_SEGMENTS:
        raise InputError(f"'segments' has {len(segments)} pieces; at most {MAX_SEGMENTS} are allowed.")
    for number, segment in enumerate(segments, 1):
        _check_segment(number, segment)
    if request.start != 0:
        raise RangeError("With segments the range starts at 0 on the timeline; give only 'end'.")
    # Source lengths only shorten pieces, so this bound holds before any file is opened.
    longest = request.end if request.end is not None else max(s.timeline_end for s in segments)
    if longest > MAX_DURATION_S:
        raise _too_long(longest, "The timeline")


def validate(request: JobRequest) -> JobRequest:
    """Check everything that does not need the video; fill in a random seed.

    This is the one checker: the engines, the decoder and the analysis below it
    trust these values. What needs the video (source lengths) is ``check_sources``.
    """
    if (request.video is None) == (request.segments is None):
        raise InputError("Give the video exactly one way: an upload, a local path, or segments.")
    for name in ("start", "end", "duration"):
        _finite(name, getattr(request, name))
    _finite("guidance", request.guidance, "")
    if request.start < 0:
        raise RangeError(f"'start' must be 0 s or later, not {request.start:g} s.")
    if request.end is not None and request.end <= request.start:
        raise RangeError(
            f"The range is empty: 'end' ({request.end:g} s) must come after 'start' ({request.start:g} s)."
        )
    if request.end is not None and request.end - request.start > MAX_DURATION_S:
        raise _too_long(request.end - request.start, "The range")
    request.emotion = emotion_key(request.emotion)
    if request.seed is None:
        request.seed = secrets.randbelow(2**31)
    if not 0 <= request.seed <= MAX_SEED:
        raise InputError(f"'seed' must be a whole number from 0 to {MAX_SEED}, not {shown(request.seed)}.")
    if not 1 <= request.takes <= MAX_TAKES:
        raise InputError(f"'takes' must be from 1 to {MAX_TAKES}, not {shown(request.takes)}.")
    if request.engine not in ENGINE_CHOICES:
        raise InputError(f"Unknown engine '{shown(request.engine)}'. Choose one of: {', '.join(ENGINE_CHOICES)}.")
    if request.steps is not None and not 1 <= request.steps <= MAX_STEPS:
        raise InputError(f"'steps' (sampler steps) must be from 1 to {MAX_STEPS}, not {shown(request.steps)}.")
    if request.preset is not None and request.preset not in PRESET_CHOICES:
        raise InputError(f"Unknown preset '{shown(request.preset)}'. Choose one of: {', '.join(PRESET_CHOICES)}.")
    if request.guidance is not None and not MIN_GUIDANCE <= request.guidance <= MAX_GUIDANCE:
        raise InputError(
            f"'guidance' (classifier-free guidance scale) must be from {MIN_GUIDANCE:g} to {MAX_GUIDANCE:g}, "
            f"not {request.guidance:g}."
        )
    if request.duration is not None and not 0 < request.duration <= MAX_DURATION_S:
        raise InputError(f"'duration' must be more than 0 and at most {MAX_DURATION_S:g} s, not {request.duration:g}.")
    if request.segments is not None:
        _check_segments(request)
    return request


def feature_source(request: JobRequest) -> tuple[Any, float, float | None]:
    """(source, start, end) as ``features.extract`` takes them: a path, or the list of Segments."""
    if request.segments is None:
        return request.video, request.start, request.end
    return list(request.segments), 0.0, request.end


def user_message(message: str, names: dict[str, str]) -> str:
    """Show users their own file names, never the server's upload paths."""
    for stored, name in names.items():
        message = message.replace(stored, name).replace(Path(stored).name, name)
    return message


def check_sources(
    request: JobRequest, names: dict[str, str] | None = None, budget_s: float = CHECK_BUDGET_S
) -> JobRequest:
    """Open the video(s) and check the range lies inside (no decoding); fills in a missing ``end``.

    Uses the same planning as the analysis itself, so a request that passes here
    does not fail later on its range. The music is capped on the *resolved*
    timeline (source lengths, speeds, timeline starts) before anything is queued:
    a video longer than the cap is refused unless 'end' trims it. ``names`` maps
    stored upload paths to what the user calls those files, for the messages.
    """
    from .features.extract import plan

    source, start, end = feature_source(request)
    try:
        timeline = plan(source, start, end, deadline=time.monotonic() + budget_s)
    except Diffv2mError as exc:
        exc.message = user_message(exc.message, names or {})
        raise
    if timeline.duration > MAX_DURATION_S:
        raise _too_long(timeline.duration, "The range")
    request.end = start + timeline.duration
    return request


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
            raise InputError(f"'{name}' must be a number, not '{shown(value)}'.") from exc

    def integer(self, name: str) -> int | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError as exc:
            raise InputError(f"'{name}' must be a whole number, not '{shown(value)}'.") from exc


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
        preset=(values.text("preset") or "").lower() or None,
        guidance=values.number("guidance"),
        duration=values.number("duration"),
    )
