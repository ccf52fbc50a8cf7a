"""Video decoding with PyAV: probe a file, stream small upright frames of a time range."""

from .decode import DecodedFrame, iter_frames, resolve_range
from .probe import VideoInfo, probe_video

__all__ = ["DecodedFrame", "VideoInfo", "iter_frames", "probe_video", "resolve_range"]
