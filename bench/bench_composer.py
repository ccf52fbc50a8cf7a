"""Speed of the embedded composer: composition + rendering, and the whole generate() call.

    PYTHONPATH=server python bench/bench_composer.py [--durations 30 300] [--emotions happy epic sad] [--repeats 2]
        [--sound-bank numpy|PATH]   (default: the bank the engine finds, see engines/composer/soundfont.py)

For each duration and mood it builds VideoFeatures of a steady pulse with a cut
every 20 s (what the analysis of such a video gives), then times, with the note
cache emptied first (a cold start, what a first Generate costs):
  * compose+render: grid fitting, arrangement and the stereo mix (the part the
    real-time target is about),
  * normalise: loudness normalisation + true-peak limiting (shared with Diff-V2M),
  * generate (warm): a whole generate() again with the note cache filled, as a
    Regenerate with another seed of the same mood would partly enjoy.
  * peak memory: what the whole generate() allocates at its peak (tracemalloc,
    in a separate untimed run; numpy arrays are traced).
Wall-clock and process CPU seconds are both printed (the CPU figure is steadier
on a shared machine), with the real-time factor = audio seconds / wall seconds.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import tracemalloc

import numpy as np

from diffv2m.audio.loudness import normalise_and_measure
from diffv2m.emotion import PRESETS
from diffv2m.engines.base import SAMPLE_RATE, GenerationRequest
from diffv2m.engines.composer import ComposerEngine
from diffv2m.engines.composer.engine import compose
from diffv2m.engines.composer.sounds import NOTE_CACHE
from diffv2m.engines.composer.style import choose_style
from diffv2m.features.types import VideoFeatures


def pulse_features(duration: float, bpm: float = 118.0) -> VideoFeatures:
    events = np.arange(0.31, duration, 60.0 / bpm)
    seconds = int(np.ceil(duration))
    rng = np.random.default_rng(0)
    return VideoFeatures(
        source="bench",
        content_hash="bench",
        start=0.0,
        duration=duration,
        native_fps=25.0,
        event_times=np.ceil(events * 25.0) / 25.0,
        event_strengths=rng.uniform(0.5, 1.0, events.size).astype(np.float32),
        cut_times=np.arange(20.0, duration - 1.0, 20.0),
        motion=rng.uniform(0.5, 1.5, seconds).astype(np.float32),
        valence=np.zeros(seconds, np.float32),
        arousal=np.zeros(seconds, np.float32),
    )


def timed(function, *args):
    wall, cpu = time.perf_counter(), time.process_time()
    value = function(*args)
    return value, time.perf_counter() - wall, time.process_time() - cpu


def compose_and_render(
    engine: ComposerEngine, features: VideoFeatures, emotion: str, seed: int, duration: float
) -> np.ndarray:
    """What ``generate`` does before normalising: the grid, the score and the mix (engine.compose, render_score)."""
    style = choose_style(PRESETS[emotion], seed)
    grid, score = compose(features, style, seed, duration)
    samples = round(duration * SAMPLE_RATE)
    return engine.render_score(score, grid, style, seed, samples, lambda s, f: None)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--durations", type=float, nargs="+", default=[30.0, 300.0])
    parser.add_argument("--emotions", nargs="+", default=["happy", "epic", "sad"])
    parser.add_argument("--repeats", type=int, default=2, help="cold runs per case; the best is reported")
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--sound-bank", help="numpy, or an sf2/sf3 path (default: the lookup order)")
    args = parser.parse_args()
    engine = ComposerEngine(args.sound_bank)
    print(f"sound bank: {engine.bank_info.name} ({engine.bank_info.path or 'no samples'})")
    compose_and_render(engine, pulse_features(4.0), "happy", 0, 4.0)  # import and first-call costs out of the way
    rows = []
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {platform.system()}, python {platform.python_version()}")
    header = f"{'seconds':>8} {'emotion':>10} {'compose+render':>22} {'normalise':>16} {'generate warm':>16}"
    print(f"{header} {'peak MB':>8}")
    for duration in args.durations:
        features = pulse_features(duration)
        for emotion in args.emotions:
            best = None
            for repeat in range(args.repeats):
                NOTE_CACHE.clear()
                audio, wall, cpu = timed(compose_and_render, engine, features, emotion, 7 + repeat, duration)
                if best is None or wall < best[0]:
                    best = (wall, cpu, audio)
            wall, cpu, audio = best
            _, norm_wall, norm_cpu = timed(normalise_and_measure, audio, SAMPLE_RATE)
            request = GenerationRequest(features, PRESETS[emotion], 7, duration)
            _, warm_wall, _ = timed(engine.generate, request)
            NOTE_CACHE.clear()
            tracemalloc.start()
            engine.generate(request)
            peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()
            row = {
                "duration": duration,
                "emotion": emotion,
                "compose_render_wall": wall,
                "compose_render_cpu": cpu,
                "realtime_factor": duration / wall,
                "normalise_wall": norm_wall,
                "normalise_cpu": norm_cpu,
                "generate_warm_wall": warm_wall,
                "generate_realtime_factor_cold_estimate": duration / (wall + norm_wall),
                "generate_peak_mb": peak_mb,
            }
            rows.append(row)
            print(
                f"{duration:8.0f} {emotion:>10} {wall:6.2f} s ({duration / wall:5.0f}x, cpu {cpu:5.2f})"
                f" {norm_wall:6.2f} s (cpu {norm_cpu:4.1f}) {warm_wall:6.2f} s ({duration / warm_wall:4.0f}x)"
                f" {peak_mb:8.0f}"
            )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
