"""Fetch a finished job's WAV and beats over HTTP and check what every score must be."""

from __future__ import annotations

import io

import numpy as np
import soundfile

STAGES = {"queued", "starting", "decoding video", "analysing", "generating", "tracking beats", "normalising", "done"}


def fetch_take(server, view: dict, take: int = 0) -> tuple[np.ndarray, int, dict]:
    entry = view["result"]["takes"][take]
    wav = server.http.get(f"{server.url}{entry['audio']}", timeout=60)
    assert wav.status_code == 200, wav.text
    assert wav.headers["content-type"] == "audio/wav"
    beats = server.http.get(f"{server.url}{entry['beats']}", timeout=60)
    assert beats.status_code == 200, beats.text
    audio, rate = soundfile.read(io.BytesIO(wav.content), always_2d=True, dtype="float32")
    info = soundfile.info(io.BytesIO(wav.content))
    assert info.subtype == "PCM_16"
    return audio, rate, beats.json()


def check_score(audio: np.ndarray, rate: int, beats: dict, duration: float) -> None:
    """44.1 kHz stereo, exactly ``duration`` long, -14 LUFS, peaks under -1 dBTP, beats inside the range."""
    from diffv2m.audio.loudness import measure_loudness

    assert rate == 44_100
    assert audio.shape == (round(duration * 44_100), 2)
    lufs, peak_db = measure_loudness(audio.T, rate)
    assert -15.0 <= lufs <= -13.0, lufs
    assert peak_db <= -0.9, peak_db  # -1 dBTP plus 16-bit rounding
    assert beats["duration"] == duration
    for key in ("beats", "downbeats", "onsets"):
        times = np.asarray(beats[key])
        assert np.all((times >= 0) & (times < duration)), (key, times)
        assert np.all(np.diff(times) > 0), key
    assert len(beats["beats"]) >= max(1, int(duration * 40 / 60)), "fewer beats than 40 BPM"
    assert set(beats["downbeats"]) <= set(beats["beats"])
    assert 40 <= beats["tempo"] <= 240
    assert len(beats["odf"]) >= 1 and beats["odf_rate"] > 0


def check_progress(views: list[dict]) -> None:
    """Stages come from the documented list and progress never goes backwards."""
    fractions = [v["progress"] for v in views]
    assert fractions == sorted(fractions), fractions
    assert {v["stage"] for v in views} <= STAGES, {v["stage"] for v in views}
    assert views[-1]["state"] == "done" and views[-1]["progress"] == 1.0
