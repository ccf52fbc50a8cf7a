"""Which track scores which video: the layout of a results folder.

A results folder holds one file per generated track, named after its video:

    RESULTS_DIR/<video stem>.wav            one take
    RESULTS_DIR/<video stem>.<anything>.wav  several takes or engines side by side
    RESULTS_DIR/<video stem>.mp4             or the video with the music muxed in

Any sound file (WAV, FLAC, OGG, MP3) or video with an audio track works, so
any engine's output can be scored. Each track is matched to the video with the
longest stem that equals the track's stem or prefixes it followed by ``.``,
``_`` or ``-``. Videos come from ``--videos`` (default: the results folder):
when that folder is a benchmark (it has ``manifest.json`` from
``diffv2m make-benchmark``) its ground-truth events are used; otherwise the
visual events are detected with ``diffv2m.features``. The track's time 0 is
the video's time 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio.io import AUDIO_SUFFIXES, CONTAINER_SUFFIXES
from ..benchmark.suite import load_manifest
from ..errors import InputError
from .metrics import VisualEvents

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v"}
REPORT_FOLDER = "eval"  # where the report goes inside RESULTS_DIR


@dataclass
class EvalItem:
    name: str  # the track's file name, unique in the folder
    audio: Path
    video: Path
    visual: VisualEvents
    group: str  # e.g. "flash/periodic" for benchmark clips, "video" otherwise


def _video_stems(videos_dir: Path, manifest: dict | None) -> dict[str, Path]:
    if manifest is not None:
        return {Path(clip["video"]).stem: videos_dir / clip["video"] for clip in manifest["clips"]}
    return {p.stem: p for p in sorted(videos_dir.iterdir()) if p.suffix.lower() in VIDEO_SUFFIXES}


def match_video(track_stem: str, stems: list[str]) -> str | None:
    """The longest video stem naming this track (``clip.take1`` belongs to ``clip``)."""
    candidates = [s for s in stems if track_stem == s or (track_stem.startswith(s) and track_stem[len(s)] in "._-")]
    return max(candidates, key=len) if candidates else None


def has_audio_track(path: Path) -> bool:
    """Whether a container holds an audio stream (False for unreadable files)."""
    import av

    try:
        with av.open(str(path)) as container:
            return bool(container.streams.audio)
    except av.error.FFmpegError:
        return False


def _manifest_visual(clip: dict) -> tuple[VisualEvents, str]:
    visual = VisualEvents(
        times=np.asarray(clip["visual_events"], np.float64),
        duration=float(clip["duration"]),
        bpm=clip.get("bpm"),
        source="manifest",
    )
    return visual, f"{clip['kind']}/{clip['pattern']}"


def detected_visual(video: Path) -> VisualEvents:
    """Visual events of an arbitrary video, from the project's feature extractor."""
    try:
        from ..features.extract import extract_features  # type: ignore[import-not-found]
    except ImportError as exc:
        raise InputError(
            f"{video.name} has no ground truth and visual event detection (diffv2m.features) is not installed; "
            "evaluate against a benchmark folder made by 'diffv2m make-benchmark'."
        ) from exc
    features = extract_features(str(video))
    times = np.concatenate([features.event_times, features.cut_times])
    strengths = np.concatenate([features.event_strengths, np.ones(features.cut_times.size, np.float32)])
    order = np.argsort(times, kind="stable")
    times, strengths = times[order], strengths[order]
    # A cut is usually also a visual beat: keep one event per frame.
    keep = np.concatenate([[True], np.diff(times) > 0.5 / max(features.native_fps, 1.0)]) if times.size else []
    return VisualEvents(times[keep], float(features.duration), strengths[keep], None, "detected")


def discover(results_dir: str | Path, videos_dir: str | Path | None = None) -> tuple[list[EvalItem], list[str]]:
    """Every (track, video) pair in ``results_dir``, and the sound files named after no video.

    Raises when there is nothing to score.
    """
    results_dir = Path(results_dir)
    videos_dir = Path(videos_dir) if videos_dir is not None else results_dir
    for folder, what in ((results_dir, "results"), (videos_dir, "videos")):
        if not folder.is_dir():
            raise InputError(f"The {what} folder {folder} does not exist.")
    manifest = load_manifest(videos_dir)
    stems = _video_stems(videos_dir, manifest)
    clips = {Path(c["video"]).stem: c for c in manifest["clips"]} if manifest else {}
    items: list[EvalItem] = []
    unmatched: list[str] = []
    for path in sorted(results_dir.iterdir()):
        suffix = path.suffix.lower()
        if not path.is_file() or suffix not in AUDIO_SUFFIXES | CONTAINER_SUFFIXES:
            continue
        stem = match_video(path.stem, list(stems))
        if stem is None:
            unmatched.append(path.name)
            continue
        if suffix in CONTAINER_SUFFIXES and not has_audio_track(path):
            continue  # the silent source video itself, not a track
        if stem in clips:
            visual, group = _manifest_visual(clips[stem])
        else:
            visual, group = detected_visual(stems[stem]), "video"
        items.append(EvalItem(path.name, path, stems[stem], visual, group))
    if not items:
        raise InputError(
            f"No tracks to evaluate in {results_dir}: name each track after its video "
            f"(<video stem>.wav) and point --videos at the folder with the videos."
        )
    return items, unmatched
