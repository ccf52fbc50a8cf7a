"""``extract_features``: one decode pass over a range or a timeline, every analysis fed from it.

Stages reported to ``progress``: "decoding video" (the single pass, fraction of
the range decoded) and "analysing" (events and CLIP batches left over at the
end). ``progress`` raises ``errors.Cancelled`` to stop; the decoder is closed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import closing
from typing import TYPE_CHECKING

from ..engines.base import ProgressFn, no_progress
from ..video.probe import check_readable
from .cache import FeatureCache, cache_key, content_fingerprint
from .colour import ColourAnalyser
from .cuts import CutDetector, cuts_per_step
from .rhythm import RhythmAnalyser
from .sampler import SemanticSampler
from .segments import Segment, Timeline, plan_timeline, single_file_timeline
from .settings import FeatureSettings
from .steps import num_steps
from .types import VideoFeatures

if TYPE_CHECKING:  # loads torch: only jobs that use CLIP should pay for it
    from .semantic import ClipEncoder

_PROGRESS_EVERY = 0.25  # seconds of video between progress calls

Source = str | os.PathLike[str] | Sequence[Segment]


def plan(source: Source, start: float = 0.0, end: float | None = None, deadline: float | None = None) -> Timeline:
    """Check the source and range against the file(s), decoding one frame per file.

    The values themselves were checked by ``job_request.validate``.
    """
    if isinstance(source, (str, os.PathLike)):
        return single_file_timeline(source, start, end)
    return plan_timeline(list(source), end, deadline)


def request_key(
    source: Source, start: float, end: float | None, settings: FeatureSettings, clip: ClipEncoder | None
) -> str:
    """Cache key of a request as given: file contents by fingerprint, range, settings, CLIP model.

    Built without opening any video, so a hit costs a few small reads. (A range given
    with ``end=None`` and the same range given with its end spelled out are two entries.)
    """

    def fingerprint(path: str | os.PathLike[str]) -> str:
        return content_fingerprint(check_readable(path))

    def seconds(value: float | None) -> float | None:
        return None if value is None else round(float(value), 6)

    if isinstance(source, (str, os.PathLike)):
        pieces = [{"file": fingerprint(source), "source": [seconds(start), seconds(end)]}]
    else:
        pieces = [
            {
                "file": fingerprint(segment.path),
                "source": [seconds(segment.source_start), seconds(segment.source_end)],
                "at": seconds(segment.timeline_start),
                "speed": seconds(segment.speed),
            }
            for segment in source
        ]
    semantic = clip.identity if (clip is not None and settings.semantic) else None
    return cache_key({"pieces": pieces, "end": seconds(end), "settings": settings.key(), "clip": semantic})


def extract_features(
    source: Source,
    start: float = 0.0,
    end: float | None = None,
    *,
    settings: FeatureSettings = FeatureSettings(),  # noqa: B008 - frozen dataclass, safe default
    clip: ClipEncoder | None = None,
    progress: ProgressFn = no_progress,
    cache: FeatureCache | None = None,
) -> VideoFeatures:
    """Per-step features of ``source[start:end]`` (a path) or of a timeline of segments.

    All times in the result are seconds from the range start. With ``cache``, a
    result for the same file contents, range, settings and CLIP model is returned
    without decoding.
    """
    key = request_key(source, start, end, settings, clip)
    if cache is not None and (hit := cache.get(key)) is not None:
        progress("decoding video", 1.0)
        return hit
    timeline = plan(source, start, end)
    features = _analyse(timeline, settings, clip if settings.semantic else None, progress)
    features.content_hash = key
    if cache is not None:
        cache.put(key, features)
    return features


def _analyse(
    timeline: Timeline, settings: FeatureSettings, clip: ClipEncoder | None, progress: ProgressFn
) -> VideoFeatures:
    duration, rate = timeline.duration, settings.rate
    steps = num_steps(duration, rate)
    colour = ColourAnalyser(steps, rate)
    rhythm = RhythmAnalyser()
    cuts = CutDetector(settings.cut_min_content, settings.cut_persistence, timeline.fps)
    semantic = SemanticSampler(clip, steps, rate) if clip is not None else None
    progress("decoding video", 0.0)
    reported = 0.0
    with closing(timeline.frames(settings.analysis_width)) as frames:
        for frame in frames:
            colour.add(frame.time, frame.image)
            rhythm.add(frame.time, frame.image)
            cuts.add(frame.time, frame.image)
            if semantic is not None:
                semantic.add(frame)
            if frame.time - reported >= _PROGRESS_EVERY:
                reported = frame.time
                progress("decoding video", min(frame.time / duration, 1.0))
    progress("analysing", 0.0)
    histograms, valence, arousal = colour.result()
    cut_times = cuts.cut_times()
    rhythmic = rhythm.result(steps, rate, settings.event_sensitivity, cut_times)
    embeddings = semantic.result() if semantic is not None else None
    progress("analysing", 1.0)
    frame_count = max(rhythmic.frame_times.size, 1)
    return VideoFeatures(
        source=timeline.label,
        content_hash="",
        start=timeline.start,
        duration=duration,
        native_fps=float(timeline.fps if len(timeline.pieces) == 1 else frame_count / duration),
        rate=rate,
        semantic=embeddings,
        colour_hist=histograms,
        valence=valence,
        arousal=arousal,
        scene_cut=cuts_per_step(cut_times, duration, rate),
        visual_beat=rhythmic.visual_beat,
        motion=rhythmic.motion,
        frame_times=rhythmic.frame_times,
        rhythm_curve=rhythmic.curve,
        event_times=rhythmic.event_times,
        event_strengths=rhythmic.event_strengths,
        cut_times=cut_times,
    )
