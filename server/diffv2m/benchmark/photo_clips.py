"""Clips made of real photographs: slow pans and zooms over stills, hard cuts at known times.

The synthetic clips of videos.py have flashes on a pulse; real footage has
camera moves over textured pictures and cuts at irregular times. These clips
give the second kind with a ground truth: each shot shows one still (frames
decoded from a real video, or any photo) through a moving crop window, and the
cut times are exact (the first frame of each shot).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from .videos import TIME_BASE, ClipTruth


def stills_from_video(path: str | Path, times: list[float], size: tuple[int, int] = (640, 360)) -> list[np.ndarray]:
    """RGB frames of ``path`` at (or just after) ``times`` seconds, resized to ``size`` (width, height)."""
    import av

    wanted = sorted(times)
    stills: list[np.ndarray] = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and wanted and frame.time >= wanted[0]:
                stills.append(cv2.resize(frame.to_ndarray(format="rgb24"), size, interpolation=cv2.INTER_AREA))
                wanted.pop(0)
                if not wanted:
                    break
    if len(stills) != len(times):
        raise ValueError(f"{path} has no frame at {wanted[0]:.2f} s")
    return stills


def _view(still: np.ndarray, shot: int, progress: float, out: tuple[int, int]) -> np.ndarray:
    """The shot's camera move at ``progress`` (0..1): pans left/right and zooms in/out in turn."""
    height, width = still.shape[:2]
    move = shot % 4
    scale = 0.72 if move < 2 else (0.9 - 0.2 * progress if move == 2 else 0.7 + 0.2 * progress)
    crop_w, crop_h = int(width * scale), int(height * scale)
    travel = progress if move != 1 else 1.0 - progress
    x = int((width - crop_w) * (travel if move < 2 else 0.5))
    y = int((height - crop_h) * 0.5)
    return cv2.resize(still[y : y + crop_h, x : x + crop_w], out, interpolation=cv2.INTER_AREA)


def write_photo_clip(
    path: str | Path,
    stills: list[np.ndarray],
    cuts: list[float],
    duration: float,
    fps: Fraction = Fraction(25),
    size: tuple[int, int] = (320, 180),
) -> ClipTruth:
    """Encode shots of ``stills`` (in turn) cut at ``cuts`` to H.264; returns the ground truth."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame_times = np.arange(0.0, duration - 1e-9, 1.0 / float(fps))
    bounds = [0.0, *sorted(cuts), duration]
    first_frames = [float(frame_times[np.searchsorted(frame_times, c - 1e-9)]) for c in sorted(cuts)]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.time_base = TIME_BASE
        stream.codec_context.time_base = TIME_BASE
        stream.options = {"preset": "ultrafast", "crf": "18", "bf": "0"}
        for t in frame_times:
            shot = int(np.searchsorted(bounds, t, side="right")) - 1
            start, end = bounds[shot], bounds[shot + 1]
            image = _view(stills[shot % len(stills)], shot, (t - start) / max(end - start, 1e-9), size)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            frame.pts = round(t / TIME_BASE)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return ClipTruth(path, duration, float(fps), frame_times, np.asarray(first_frames), np.asarray(first_frames))
