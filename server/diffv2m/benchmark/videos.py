"""Synthetic videos with visual events at known times, and their ground truth.

Used by the test suite, ``diffv2m make-benchmark`` and ``diffv2m sample-clip``.
Each clip is a sequence of differently coloured shots (hard cuts between them)
with either full-frame flashes or a bouncing ball whose floor impacts are the
events. Frames are rendered at their real presentation time, so variable frame
rate clips are exact too; the truth records the first frame showing each event,
which is what a frame-accurate detector can recover.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal

import numpy as np

EventKind = Literal["flash", "bounce"]
TIME_BASE = Fraction(1, 90_000)  # MPEG clock: exact for 23.976, 29.97 and VFR timestamps


@dataclass
class ClipSpec:
    duration: float
    fps: Fraction = Fraction(25)
    width: int = 320
    height: int = 240
    event_times: list[float] = field(default_factory=list)  # seconds from the file start
    cut_times: list[float] = field(default_factory=list)
    kind: EventKind = "flash"
    vfr: bool = False  # jitter every frame's duration by up to +-40 %
    audio: bool = False  # add a quiet AAC tone track
    seed: int = 0
    rotation: int = 0  # display rotation (counter-clockwise degrees) stored as the stream's display matrix
    start_offset: float = 0.0  # presentation time of the first frame in the container (stream start offset)


@dataclass
class ClipTruth:
    path: Path
    duration: float
    fps: float
    frame_times: np.ndarray  # presentation time of every frame
    event_times: np.ndarray  # time of the first frame showing each event
    cut_times: np.ndarray  # time of the first frame of each new shot

    @property
    def frame_period(self) -> float:
        return float(np.median(np.diff(self.frame_times))) if self.frame_times.size > 1 else 1.0 / self.fps


def periodic_events(bpm: float, duration: float, phase: float = 0.0, start: float = 0.0) -> list[float]:
    """Event times of a steady pulse at ``bpm`` starting ``phase`` seconds after ``start``."""
    period = 60.0 / bpm
    times = np.arange(start + phase, duration, period)
    return [float(t) for t in times if t > 0.05]


def demo_clip_spec(duration: float = 20.0, bpm: float = 112.0, seed: int = 0) -> ClipSpec:
    """The README's sample clip: flashes on a steady pulse, a cut every four bars."""
    bar = 4 * 60.0 / bpm
    events = periodic_events(bpm, duration, phase=0.3)
    cuts = [round(events[0] + k * 4 * bar, 3) for k in range(1, int(duration / (4 * bar)) + 1)]
    cuts = [c for c in cuts if c < duration - 0.5]
    return ClipSpec(duration, Fraction(30), 640, 360, events, cuts, "flash", audio=True, seed=seed)


def _frame_times(spec: ClipSpec, rng: np.random.Generator) -> np.ndarray:
    period = 1.0 / float(spec.fps)
    if not spec.vfr:
        count = math.floor(spec.duration * float(spec.fps) + 1e-6)
        ticks = [round(k / spec.fps / TIME_BASE) for k in range(count)]
        return np.asarray(ticks, np.float64) * float(TIME_BASE)
    times, t = [], 0.0
    while t < spec.duration - 1e-9:
        times.append(round(t / float(TIME_BASE)) * float(TIME_BASE))
        t += period * rng.uniform(0.6, 1.4)
    return np.asarray(times)


def _first_frame_at_or_after(frame_times: np.ndarray, t: float) -> int | None:
    index = int(np.searchsorted(frame_times, t - 1e-9))
    return index if index < frame_times.size else None


class _Painter:
    """Renders one RGB frame for time t: shot colour + texture, and the event layer."""

    def __init__(self, spec: ClipSpec, rng: np.random.Generator) -> None:
        self.spec = spec
        shots = len(spec.cut_times) + 1
        hues = (rng.permutation(12)[: max(shots, 1) % 12 or 12] * 30.0).tolist()
        while len(hues) < shots:
            hues += hues
        self.colours = [_hue_to_rgb(h, 0.55 + 0.3 * rng.random(), 0.35 + 0.3 * rng.random()) for h in hues[:shots]]
        y, x = np.mgrid[0 : spec.height, 0 : spec.width]
        self.x, self.y = x, y
        # Static texture per shot so that compressed frames are not flat colour.
        self.textures = [rng.normal(0, 6, (spec.height, spec.width, 1)).astype(np.float32) for _ in range(shots)]
        self.cuts = np.asarray(sorted(spec.cut_times))
        self.events = np.asarray(sorted(spec.event_times))

    def shot(self, t: float) -> int:
        return int(np.searchsorted(self.cuts, t, side="right"))

    def __call__(self, t: float, event_index: int | None, frames_since_event: int) -> np.ndarray:
        spec = self.spec
        shot = self.shot(t)
        base = np.asarray(self.colours[shot], np.float32)[None, None, :] * 255.0
        frame = base + self.textures[shot]
        # A small slow drift keeps frame differences realistic between events.
        drift_x = int((t * 23.0) % max(spec.width - 20, 1))
        frame[10:20, drift_x : drift_x + 12] += 40.0
        if spec.kind == "flash":
            if event_index is not None and frames_since_event < 4:
                frame = frame + (255.0 - frame) * (0.75, 0.3, 0.1, 0.03)[frames_since_event]
        else:
            frame = self._ball(frame, t)
        return np.clip(frame, 0, 255).astype(np.uint8)

    def _ball(self, frame: np.ndarray, t: float) -> np.ndarray:
        spec = self.spec
        events = self.events
        k = int(np.searchsorted(events, t, side="right"))
        previous = events[k - 1] if k > 0 else events[0] - (events[1] - events[0] if events.size > 1 else 0.5)
        following = events[k] if k < events.size else previous + (events[-1] - events[-2] if events.size > 1 else 0.5)
        s = (t - previous) / max(following - previous, 1e-6)
        # Only the listed events are impacts: before the first one the ball hangs at the top and
        # drops, after the last one it rises to the top and stays there.
        s = max(s, 0.5) if k == 0 else min(s, 0.5) if k == events.size else s
        floor = spec.height - 16
        height = floor - 20 - (floor - 40) * 4.0 * s * (1.0 - s)  # parabola: impacts at the events
        radius = max(6, spec.height // 16)
        cx = spec.width // 2
        mask = (self.x - cx) ** 2 + (self.y - height) ** 2 <= radius**2
        frame[mask] = (250.0, 250.0, 250.0)
        return frame


def _hue_to_rgb(hue: float, saturation: float, value: float) -> tuple[float, float, float]:
    c = value * saturation
    h = (hue % 360.0) / 60.0
    x = c * (1 - abs(h % 2 - 1))
    r, g, b = [(c, x, 0), (x, c, 0), (0, c, x), (0, x, c), (x, 0, c), (c, 0, x)][int(h) % 6]
    m = value - c
    return (r + m, g + m, b + m)


def write_clip(path: str | Path, spec: ClipSpec) -> ClipTruth:
    """Encode ``spec`` to H.264 (PyAV) at ``path`` and return its ground truth."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(spec.seed)
    # The painter draws the picture as displayed; a rotated clip stores it turned back.
    turns = (spec.rotation // 90) % 4
    coded_width, coded_height = (spec.height, spec.width) if turns % 2 else (spec.width, spec.height)
    frame_times = _frame_times(spec, rng)
    painter = _Painter(spec, rng)

    event_frames = sorted({i for t in spec.event_times if (i := _first_frame_at_or_after(frame_times, t)) is not None})
    cut_frames = sorted({i for t in spec.cut_times if (i := _first_frame_at_or_after(frame_times, t)) is not None})

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=spec.fps)
        stream.width, stream.height = coded_width, coded_height
        if turns:
            stream.set_display_rotation(90 * turns)
        stream.pix_fmt = "yuv420p"
        stream.time_base = TIME_BASE
        stream.codec_context.time_base = TIME_BASE
        stream.options = {"preset": "ultrafast", "crf": "18", "bf": "0"}
        audio_stream = _add_audio(container) if spec.audio else None
        last_event: int | None = None
        for index, t in enumerate(frame_times):
            if index in event_frames:
                last_event = index
            since = index - last_event if last_event is not None else 99
            image = np.ascontiguousarray(np.rot90(painter(float(t), last_event, since), -turns))
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = round((t + spec.start_offset) / float(TIME_BASE))
            frame.time_base = TIME_BASE
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if audio_stream is not None:
            _write_tone(container, audio_stream, spec.duration)

    return ClipTruth(
        path=path,
        duration=spec.duration,
        fps=float(spec.fps),
        frame_times=frame_times,
        event_times=frame_times[event_frames] if event_frames else np.zeros(0),
        cut_times=frame_times[cut_frames] if cut_frames else np.zeros(0),
    )


def _add_audio(container):  # noqa: ANN001, ANN202 - PyAV objects
    stream = container.add_stream("aac", rate=48_000)
    stream.layout = "stereo"
    return stream


def _write_tone(container, stream, duration: float) -> None:  # noqa: ANN001 - PyAV objects
    import av

    rate = 48_000
    total = int(duration * rate)
    t = np.arange(total) / rate
    tone = (0.05 * np.sin(2 * np.pi * 220.0 * t)).astype(np.float32)
    chunk = 1024
    for offset in range(0, total, chunk):
        block = np.stack([tone[offset : offset + chunk]] * 2)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block), format="fltp", layout="stereo")
        frame.sample_rate = rate
        frame.pts = offset
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)


def write_audio_only(path: str | Path, duration: float = 3.0) -> Path:
    """An .m4a with sound and no picture: the 'nothing to score' case."""
    import av

    path = Path(path)
    with av.open(str(path), "w", format="mp4") as container:
        _write_tone(container, _add_audio(container), duration)
    return path
