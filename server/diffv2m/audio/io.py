"""Reading sound: the one audio loader and the one to-mono rule of the project.

Every file goes through PyAV (FFmpeg), so a WAV, FLAC, OGG, MP3 or a video's
own soundtrack decode the same way, resampled by FFmpeg's swresample to the
rate asked for. Used by the evaluation (``diffv2m eval``) and by training's
data preparation.
"""

from __future__ import annotations

import os

import av
import numpy as np

from ..errors import VideoError
from ..video.probe import check_readable, open_container

SAMPLE_RATE = 44_100
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif"}
CONTAINER_SUFFIXES = {".mp4", ".m4a", ".mov", ".mkv", ".webm", ".aac", ".avi"}


def load_audio(path: str | os.PathLike[str], sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(channels, samples) float32 of a file's first audio stream at ``sample_rate``.

    One or two channels (more are down-mixed to stereo). A missing, empty or
    damaged file, or one with no audio stream, is a ``VideoError`` (an
    ``InputError``): one sentence for the user.
    """
    path = check_readable(path)
    with open_container(path) as container:
        if not container.streams.audio:
            raise VideoError(f"{path.name} has no audio stream.")
        stream = container.streams.audio[0]
        channels = max(stream.codec_context.layout.nb_channels or 1, 1)
        layout = "mono" if channels == 1 else "stereo"
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=sample_rate)
        blocks = []
        try:
            for frame in container.decode(stream):
                blocks.extend(out.to_ndarray() for out in resampler.resample(frame))
        except av.error.FFmpegError as exc:
            raise VideoError(f"The audio in {path.name} is damaged ({exc.strerror}).") from None
        blocks.extend(out.to_ndarray() for out in resampler.resample(None))
    if not blocks:
        raise VideoError(f"The audio stream of {path.name} is empty.")
    return np.concatenate(blocks, axis=1).astype(np.float32)


def to_mono(audio: np.ndarray) -> np.ndarray:
    """(samples,) float32: the channels of (channels, samples) averaged; 1-D audio as it is."""
    signal = np.asarray(audio, np.float32)
    return signal.mean(axis=0) if signal.ndim == 2 else signal
