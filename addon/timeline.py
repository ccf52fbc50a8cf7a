"""What the editor sees in a frame range, as the server's ``segments`` (plain data, no bpy).

Blender shows, at each timeline frame, the topmost unmuted movie strip. A strip
maps timeline frame ``f`` to source frame ``trim_start + (f - content_start) * rate``
(verified by reading rendered pixels back on 4.5, 5.0 and 5.3), so its visible
part is one linear piece: source in/out, timeline position and speed. Every
number is a Fraction until it is written into the request, so 23.976 and 29.97
fps scenes (fps_base 1.001) stay exact over long ranges.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from fractions import Fraction

# Common NTSC-style rates have denominators of 1001; anything closer than this to
# such a fraction is taken to be it (Blender stores fps as float32).
_FPS_SNAP_DENOMINATOR = 1001
_FPS_SNAP_TOLERANCE = 1e-5


def scene_fps(fps: int, fps_base: float) -> Fraction:
    """Exact frames per second of a scene: ``render.fps / render.fps_base`` (30 / 1.001 = 30000/1001)."""
    # fps_base is a float32 (1.001 reads back as 1.00100004673): six decimals recover
    # what was typed, and no preset uses more.
    base = Fraction(str(round(float(fps_base), 6)))
    if fps <= 0 or base <= 0:
        raise ValueError("The scene frame rate must be positive.")
    return Fraction(int(fps)) / base


def media_fps(value: float) -> Fraction:
    """A movie's frame rate as an exact fraction (29.97002983 -> 30000/1001)."""
    exact = Fraction(float(value))
    snapped = exact.limit_denominator(_FPS_SNAP_DENOMINATOR)
    if abs(float(snapped) - float(exact)) <= _FPS_SNAP_TOLERANCE * float(exact):
        return snapped
    return exact


def playback_rate(
    source_frames: int, trim_start: int, trim_end: int, content_duration: int, media: Fraction, scene: Fraction
) -> Fraction:
    """Source frames advanced per timeline frame for one movie strip.

    Blender does not expose whether a strip plays at the media's own speed
    ("adjust playback rate") or one source frame per timeline frame, nor the factor
    of a uniform retime; but ``content_duration`` is the trimmed content's length in
    timeline frames, rounded. The estimate is snapped to 1 or media/scene fps when
    it is within that rounding, so the common cases are exact.
    """
    content = source_frames - trim_start - trim_end
    if content <= 0 or content_duration <= 0:
        raise ValueError("The strip has no content frames.")
    estimate = Fraction(content, content_duration)
    for candidate in (Fraction(1), media / scene):
        if abs(candidate * content_duration - content) <= 1:
            return candidate
    return estimate


@dataclass(frozen=True)
class FrameRange:
    """Timeline frames ``[start, end)`` (end exclusive, like ``frame_final_end``)."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start

    def seconds(self, fps: Fraction) -> Fraction:
        return Fraction(self.length) / fps


@dataclass(frozen=True)
class MovieStripTiming:
    """The timing of one movie strip, read from bpy by ``compat.movie_timing``."""

    name: str
    channel: int
    path: str  # absolute path of the media file
    left: int  # first visible timeline frame (left handle)
    right: int  # first frame after the strip (right handle, exclusive)
    content_start: Fraction  # timeline frame where source frame ``trim_start`` is shown
    content_duration: int  # trimmed content length in timeline frames
    trim_start: int  # source frames cut from the media start (hold offset)
    rate: Fraction  # source frames per timeline frame
    fps: Fraction  # the media's frame rate
    # Stacking order: (channel,) at the top level, (meta's channel, channel inside) in a meta.
    layer: tuple[int, ...] = ()

    @property
    def stacking(self) -> tuple[int, ...]:
        return self.layer or (self.channel,)

    @property
    def content_end(self) -> Fraction:
        return self.content_start + self.content_duration

    @property
    def is_still(self) -> bool:
        return self.rate == 0

    def source_seconds(self, timeline_frame: Fraction) -> Fraction:
        """Time in the media file shown at a (fractional) timeline frame."""
        return (self.trim_start + (timeline_frame - self.content_start) * self.rate) / self.fps

    def source_frame(self, timeline_frame: int) -> int:
        """The whole source frame Blender shows at ``timeline_frame`` (nearest, kept inside the content)."""
        last = self.trim_start + max(round(self.content_duration * self.rate) - 1, 0)
        shown = round(self.trim_start + (timeline_frame - self.content_start) * self.rate)
        return min(max(shown, self.trim_start), last)


def still(strip: MovieStripTiming, frame: int, left: int, right: int, layer: tuple[int, ...] = ()) -> MovieStripTiming:
    """A hold: the source frame ``strip`` shows at ``frame``, frozen over ``[left, right)``."""
    return replace(
        strip,
        left=left,
        right=right,
        content_start=Fraction(left),
        content_duration=right - left,
        trim_start=strip.source_frame(frame),
        rate=Fraction(0),
        layer=layer or strip.layer,
    )


def with_holds(strip: MovieStripTiming) -> list[MovieStripTiming]:
    """Split a strip into what plays and the held first/last frame where its handles pass the content."""
    first, end = _ceil(strip.content_start), _floor(strip.content_end)
    parts = []
    if strip.left < first:
        parts.append(still(strip, first, strip.left, min(first, strip.right)))
    if min(strip.right, end) > max(strip.left, first):
        parts.append(replace(strip, left=max(strip.left, first), right=min(strip.right, end)))
    if strip.right > end:
        parts.append(still(strip, end - 1, max(end, strip.left), strip.right))
    return parts


@dataclass(frozen=True)
class Segment:
    """One piece of the cut, in the server's terms (seconds, relative to the range start)."""

    path: str
    source_start: Fraction
    source_end: Fraction
    timeline_start: Fraction
    speed: Fraction
    strip: str  # the strip it comes from, for messages
    frames: FrameRange  # where it sits on the timeline

    def as_request(self, file_index: int | None = None) -> dict[str, object]:
        """The JSON object ``POST /jobs`` takes; ``file_index`` refers to an uploaded ``files`` part."""
        where: dict[str, object] = {"file": file_index} if file_index is not None else {"path": self.path}
        return {
            **where,
            "source_start": float(self.source_start),
            "source_end": float(self.source_end),
            "timeline_start": float(self.timeline_start),
            "speed": float(self.speed),
        }


def visible_pieces(strips: list[MovieStripTiming], frames: FrameRange) -> list[tuple[MovieStripTiming, FrameRange]]:
    """Which strip is on top over each part of ``frames`` (gaps left out), in timeline order.

    Where a strip's handles reach past its media Blender holds the edge frame; that
    hold is a piece of its own (a still, rate 0), so it also hides the strips below.
    """
    spans = []
    for strip in (part for s in strips for part in with_holds(s)):
        lo, hi = max(strip.left, frames.start), min(strip.right, frames.end)
        if hi > lo:
            spans.append((strip, lo, hi))
    cuts = sorted({frames.start, frames.end, *(lo for _, lo, _ in spans), *(hi for _, _, hi in spans)})
    pieces: list[tuple[MovieStripTiming, FrameRange]] = []
    for a, b in itertools.pairwise(cuts):
        covering = [s for s, lo, hi in spans if lo <= a and b <= hi]
        if not covering:
            continue
        top = max(covering, key=lambda s: s.stacking)
        if pieces and pieces[-1][0] is top and pieces[-1][1].end == a:
            pieces[-1] = (top, FrameRange(pieces[-1][1].start, b))
        else:
            pieces.append((top, FrameRange(a, b)))
    return pieces


def segments_for_range(strips: list[MovieStripTiming], frames: FrameRange, fps: Fraction) -> list[Segment]:
    """The ``segments`` request for ``frames``: each visible piece's source in/out, position and speed."""
    if frames.length <= 0:
        raise ValueError("The frame range is empty.")
    segments = []
    for strip, piece in visible_pieces(strips, frames):
        start = strip.source_seconds(Fraction(piece.start))
        if strip.is_still:
            # The API has no "freeze": one source frame stretched over the hold shows just that frame.
            end = start + 1 / strip.fps
            speed = (end - start) / (Fraction(piece.length) / fps)
        else:
            end = strip.source_seconds(Fraction(piece.end))
            speed = strip.rate * fps / strip.fps  # source seconds per timeline second
        segments.append(
            Segment(
                path=strip.path,
                source_start=start,
                source_end=end,
                timeline_start=Fraction(piece.start - frames.start) / fps,
                speed=speed,
                strip=strip.name,
                frames=piece,
            )
        )
    return segments


def selection_range(extents: list[tuple[int, int]]) -> FrameRange | None:
    """The range covered by the selected strips' ``(left, right)`` extents, or None."""
    if not extents:
        return None
    return FrameRange(min(a for a, _ in extents), max(b for _, b in extents))


def seconds_to_frame(seconds: float, frames: FrameRange, fps: Fraction) -> int:
    """The timeline frame nearest to ``seconds`` after the range start (markers are whole frames)."""
    return frames.start + round(Fraction(seconds) * fps)


def frame_to_seconds(frame: int, frames: FrameRange, fps: Fraction) -> Fraction:
    return Fraction(frame - frames.start) / fps


def _ceil(value: Fraction) -> int:
    return -((-value.numerator) // value.denominator)


def _floor(value: Fraction) -> int:
    return value.numerator // value.denominator


def lowest_free_channel(occupied: list[tuple[int, int, int]], frames: FrameRange, max_channel: int = 128) -> int:
    """The lowest channel with nothing in ``frames``; ``occupied`` holds ``(channel, left, right)``."""
    busy = {channel for channel, left, right in occupied if left < frames.end and frames.start < right}
    for channel in range(1, max_channel + 1):
        if channel not in busy:
            return channel
    raise ValueError("Every channel is in use over this range.")
