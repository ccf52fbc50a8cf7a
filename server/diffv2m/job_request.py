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

from .emotion import emotion_key
from .errors import Diffv2mError, InputError, RangeError

ENGINE_CHOICES = ("auto", "default", "diffv2m")
MAX_TAKES = 4
MAX_DURATION = 3600.0  # one hour of music per job
MAX_STEPS = 1000


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
    """Check everything that does not need the video; fill in a random seed.

    Segment times are checked with the video, in ``check_sources``.
    """
    if (request.video is None) == (request.segments is None):
        raise InputError("Give the video exactly one way: an upload, a local path, or segments.")
    for name in ("start", "end", "duration", "guidance"):
        _finite(name, getattr(request, name))
    if request.start < 0:
        raise RangeError(f"The range start must be 0 or later, not {request.start:g} s.")
    if request.end is not None and request.end <= request.start:
        raise RangeError(f"The range is empty: it ends at {request.end:g} s, not after its start {request.start:g} s.")
    request.emotion = emotion_key(request.emotion)
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
    return request


def feature_source(request: JobRequest) -> tuple[Any, float, float | None]:
    """(source, start, end) as ``features.extract`` takes them: a path, or a list of Segments."""
    if request.segments is None:
        return request.video, request.start, request.end
    from .features.segments import Segment

    segments = [Segment(s.path, s.source_start, s.source_end, s.timeline_start, s.speed) for s in request.segments]
    return segments, 0.0, request.end


def user_message(message: str, names: dict[str, str]) -> str:
    """Show users their own file names, never the server's upload paths."""
    for stored, shown in names.items():
        message = message.replace(stored, shown).replace(Path(stored).name, shown)
    return message


def check_sources(request: JobRequest, names: dict[str, str] | None = None) -> JobRequest:
    """Open the video(s) and check the range lies inside (no decoding); fills in a missing ``end``.

    Uses the same planning as the analysis itself, so a request that passes here
    does not fail later on its range. ``names`` maps stored upload paths to what the
    user calls those files, for the messages.
    """
    from .features.extract import plan

    if request.segments is not None and request.start != 0:
        raise RangeError("With segments the range starts at 0 on the timeline; give only 'end'.")
    source, start, end = feature_source(request)
    try:
        timeline = plan(source, start, end)
    except Diffv2mError as exc:
        exc.message = user_message(exc.message, names or {})
        raise
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
