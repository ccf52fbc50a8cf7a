"""Which videos of a data folder can be prepared, and where their music comes from.

A video's music is a sound file with the same stem in the same folder
(``clip.mp4`` + ``clip.wav``/``.flac``/``.mp3``/``.ogg``/``.m4a``), else the
video's own audio track. Videos with neither are reported, not prepared.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from ..evaluation.results import VIDEO_SUFFIXES, has_audio_track

MUSIC_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".m4a", ".aac", ".aiff")


@dataclass(frozen=True)
class Pair:
    key: str  # unique, file-system safe name for the video's windows
    video: Path
    audio: Path  # a sound file, or the video itself when its own track is the music


def video_key(root: Path, video: Path) -> str:
    """``sub/dir/clip.mp4`` → ``sub__dir__clip-1a2b3c4d`` (readable, and unique even if stems repeat)."""
    relative = video.relative_to(root).as_posix()
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", relative.rsplit(".", 1)[0].replace("/", "__"))[:80]
    return f"{readable}-{hashlib.sha1(relative.encode()).hexdigest()[:8]}"


def find_pairs(root: str | Path) -> tuple[list[Pair], list[dict[str, str]]]:
    """(pairs to prepare, [{"video", "reason"}] for videos without music), sorted by path."""
    root = Path(root)
    pairs, skipped = [], []
    for video in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES):
        music = next((video.with_suffix(s) for s in MUSIC_SUFFIXES if video.with_suffix(s).is_file()), None)
        if music is None and has_audio_track(video):
            music = video
        if music is None:
            skipped.append(
                {
                    "video": str(video.relative_to(root)),
                    "reason": "no music: no same-name sound file and no audio track",
                }
            )
            continue
        pairs.append(Pair(video_key(root, video), video, music))
    return pairs, skipped
