"""Open a video file with PyAV and describe its picture stream, or say clearly why not.

Times in this project are seconds from the **first frame of the video stream**:
``origin`` is that frame's presentation time in the container, so a stream that
starts at 1.4 s (edit lists, transport-stream offsets, audio-first muxing) still
has its first frame at t = 0, which is what Blender's strip frame 0 shows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import av

from ..errors import InputError, VideoError

# First bytes of containers that PyAV reads: when a file with one of these
# signatures fails to open, it is damaged or incomplete rather than "not a video".
_CONTAINER_SIGNATURES = (
    (4, b"ftyp"),  # MP4 / MOV / M4V / 3GP
    (4, b"moov"),
    (4, b"mdat"),
    (4, b"free"),
    (4, b"wide"),
    (0, b"\x1a\x45\xdf\xa3"),  # Matroska / WebM
    (0, b"RIFF"),  # AVI
    (0, b"OggS"),
    (0, b"FLV"),
    (0, b"\x00\x00\x01\xba"),  # MPEG program stream
)
_TS_PACKET = 188  # MPEG transport stream: a 0x47 sync byte starts every packet

# Demuxers that open files which are not videos: text shown as a terminal
# animation (tty / ansi) and still images.
_NOT_VIDEO_FORMATS = frozenset({"tty", "image2"})
_NOT_VIDEO_CODECS = frozenset({"ansi"})


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    width: int  # displayed width: after rotation and non-square pixels
    height: int
    rotation: int  # counter-clockwise degrees (0, 90, 180, 270) to turn decoded frames upright
    fps: float  # average frame rate
    duration: float  # seconds from the first frame to the end of the last one
    origin: float  # container time of the first frame (the stream's start offset)
    codec: str
    has_audio: bool
    stream_index: int

    @property
    def frame_period(self) -> float:
        return 1.0 / self.fps if self.fps > 0 else 1.0 / 25.0


def check_readable(path: str | os.PathLike[str]) -> Path:
    """The path as a ``Path`` if it names a readable regular file, else a ``VideoError``."""
    path = Path(path)
    if not path.exists():
        raise VideoError(f"The video file {path} does not exist.")
    if not path.is_file():
        raise VideoError(f"{path} is not a file (a folder or device cannot be analysed).")
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError as exc:
        raise VideoError(f"The video file {path} cannot be read ({exc.strerror or exc}).") from None
    if not head:
        raise InputError(f"The video file {path} is empty (0 bytes).")  # 422 as upload and as path alike
    return path


def _looks_like_container(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(16)
        handle.seek(_TS_PACKET)
        next_packet = handle.read(1)
    if head[:1] == b"\x47" and next_packet in (b"", b"\x47"):
        return True  # transport stream: sync byte at 0 and at 188 (when the file is that long)
    return any(head[offset : offset + len(sig)] == sig for offset, sig in _CONTAINER_SIGNATURES)


def _not_a_video(path: Path) -> VideoError:
    return VideoError(f"{path.name} is not a video file that can be read.")


def _is_not_video_demuxer(container: av.container.InputContainer) -> bool:
    names = set(container.format.name.split(","))
    if names & _NOT_VIDEO_FORMATS or any(name.endswith("_pipe") for name in names):
        return True
    return any(stream.codec_context.name in _NOT_VIDEO_CODECS for stream in container.streams.video)


def open_container(path: Path) -> av.container.InputContainer:
    """``av.open`` with the ways it fails (or opens a non-video) turned into one-sentence errors."""
    try:
        container = av.open(str(path), mode="r", metadata_errors="ignore")
    except av.error.FFmpegError:
        if _looks_like_container(path):
            raise VideoError(
                f"The video file {path.name} is damaged or incomplete (truncated) and cannot be opened."
            ) from None
        raise _not_a_video(path) from None
    if _is_not_video_demuxer(container):
        container.close()
        raise _not_a_video(path)
    return container


def video_stream(container: av.container.InputContainer, path: Path) -> av.video.stream.VideoStream:
    """The main picture stream; cover art (an attached still picture) does not count."""
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    if container.streams.audio:
        raise VideoError(f"{path.name} contains only audio: there is no picture to score.")
    raise VideoError(f"{path.name} contains no video stream.")


def _stream_end(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float | None:
    """Container time at which the last frame ends.

    From the stream's own duration when the container stores one (MP4, MOV, TS);
    otherwise (Matroska/WebM store a segment duration whose origin differs between
    muxers) by reading the packet timestamps of the last seconds, without decoding.
    """
    if stream.duration is not None and stream.duration > 0 and stream.start_time is not None:
        return float((stream.start_time + stream.duration) * stream.time_base)
    estimate = ((container.start_time or 0) + (container.duration or 0)) / av.time_base
    end = None
    try:
        container.seek(int(max(estimate - 10.0, 0.0) / float(stream.time_base)), stream=stream, backward=True)
        for packet in container.demux(stream):
            if packet.pts is not None:
                stop = float((packet.pts + (packet.duration or 0)) * stream.time_base)
                end = stop if end is None else max(end, stop)
    except av.error.FFmpegError:
        pass
    return end


def _first_frame(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, path: Path
) -> av.VideoFrame:
    try:
        for frame in container.decode(stream):
            return frame
    except av.error.FFmpegError:
        pass
    raise VideoError(f"The video in {path.name} is damaged: not a single frame can be decoded.")


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Describe the video stream of ``path`` (decodes its first frame to be sure it can)."""
    path = check_readable(path)
    with open_container(path) as container:
        stream = video_stream(container, path)
        fps = float(stream.average_rate or stream.guessed_rate or stream.base_rate or 0.0)
        first = _first_frame(container, stream, path)
        origin = float(first.pts * first.time_base) if first.pts is not None else 0.0
        rotation = round(first.rotation / 90.0) * 90 % 360
        sar = stream.sample_aspect_ratio
        width = round(first.width * float(sar)) if sar and sar > 0 else first.width
        height = first.height
        if rotation in (90, 270):
            width, height = height, width
        end = _stream_end(container, stream)
        if end is None or end <= origin:
            raise VideoError(f"The length of the video in {path.name} is unknown, so it cannot be analysed.")
        duration = end - origin
        return VideoInfo(
            path=path,
            width=width,
            height=height,
            rotation=rotation,
            fps=fps if fps > 0 else 25.0,
            duration=duration,
            origin=origin,
            codec=stream.codec_context.name,
            has_audio=bool(container.streams.audio),
            stream_index=stream.index,
        )
