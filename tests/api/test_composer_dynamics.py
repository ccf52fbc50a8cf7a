"""The real server scores real photographs whose cuts accelerate: cuts met, a build, a range, an ending.

The clip (tests/conftest.py ``photo_clip("accelerating")``) holds slow pans and zooms for
10 s, then cuts ever faster down to 0.6 s apart. Loudness is measured on the served WAV
with pyloudnorm: 3 s short-term windows every 0.5 s.
"""

from __future__ import annotations

import shutil

import numpy as np
import pyloudnorm

from .scores import fetch_take


def short_term(audio: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """(window start times, LUFS) of 3 s windows every 0.5 s."""
    meter = pyloudnorm.Meter(rate)
    size, hop = 3 * rate, rate // 2
    starts = np.arange(0, audio.shape[0] - size + 1, hop)
    return starts / rate, np.array([meter.integrated_loudness(audio[s : s + size].astype(np.float64)) for s in starts])


def test_accelerating_cuts_build_and_the_score_rings_out(server, allowed_root, photo_clip):
    truth = photo_clip("accelerating")
    video = allowed_root / "accelerating.mp4"
    shutil.copyfile(truth.path, video)
    job = server.submit(path=str(video), emotion="epic", seed=3, engine="default").json()
    view, _ = server.wait(job["id"], timeout=240)
    assert view["state"] == "done", view
    audio, rate, beats = fetch_take(server, view)

    grid = np.asarray(beats["beats"])
    cuts = truth.cut_times
    hit = np.mean(np.min(np.abs(grid[None, :] - cuts[:, None]), axis=1) <= 0.07)
    assert hit >= 0.8, f"{hit:.2f} of the cuts on a beat"
    intervals = np.diff(grid)
    assert intervals.min() >= 0.7 * np.median(intervals)

    times, loudness = short_term(audio, rate)
    loudness_range = np.percentile(loudness, 95) - np.percentile(loudness, 10)
    assert loudness_range >= 5.0, f"loudness range {loudness_range:.1f} LU"
    slow = loudness[times + 3.0 <= 10.0].mean()  # windows inside the slow shots
    fast = loudness[(times >= 15.0) & (times + 3.0 <= 22.5)].mean()  # inside the fast cutting, before the end
    assert fast - slow >= 3.0, f"build {fast - slow:.1f} LU"

    mono = audio.mean(axis=1).astype(np.float64)
    frames = mono[: mono.size // 2205 * 2205].reshape(-1, 2205)  # 50 ms
    median = np.median(10 * np.log10(np.mean(frames**2, axis=1) + 1e-20))
    assert median - 10 * np.log10(np.mean(mono[-2205:] ** 2) + 1e-20) >= 30.0  # the last 50 ms: silence
