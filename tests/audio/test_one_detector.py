"""The beats document and the evaluation measure a track with one and the same detector."""

from __future__ import annotations

import numpy as np
import soundfile

from diffv2m.audio.io import SAMPLE_RATE, load_audio
from diffv2m.engines.base import GenerationResult
from diffv2m.evaluation.metrics import VisualEvents, evaluate_track
from diffv2m.pipeline import TIME_DECIMALS, beats_document

HITS = [0.31, 0.83, 1.27, 1.95, 2.40, 3.12, 3.58, 4.21, 4.66, 5.40, 5.93]
DURATION = 6.5


def plucked_hits(times: list[float]) -> np.ndarray:
    """(2, N) decaying plucks over a quiet pad: notes with a sharp attack at ``times``."""
    n = int(DURATION * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    y = 0.03 * np.sin(2 * np.pi * 110.0 * t)
    pluck_t = np.arange(int(0.3 * SAMPLE_RATE)) / SAMPLE_RATE
    for index, time in enumerate(times):
        pitch = 220.0 * 2 ** ((index * 5 % 12) / 12)
        pluck = 0.5 * np.sin(2 * np.pi * pitch * pluck_t) * np.exp(-pluck_t * 18)
        start = int(time * SAMPLE_RATE)
        y[start : start + pluck.size] += pluck[: n - start]
    return np.stack([y, y]).astype(np.float32)


def _result(audio: np.ndarray, **kwargs: object) -> GenerationResult:
    return GenerationResult(audio, "diffv2m", "test", "none", 0, 0, "calm", **kwargs)


def test_same_onsets_and_beats_through_the_beats_document_and_the_evaluation(tmp_path):
    wav = tmp_path / "hits.wav"
    soundfile.write(wav, plucked_hits(HITS).T, SAMPLE_RATE, subtype="PCM_16")
    audio = load_audio(wav)

    document = beats_document(_result(audio), audio, DURATION)
    scored = evaluate_track(audio, SAMPLE_RATE, VisualEvents(np.asarray(HITS), DURATION)).audio_events

    assert document["beats_from"] == "tracked"
    assert document["onsets"] == [round(float(t), TIME_DECIMALS) for t in scored.onsets]
    assert document["beats"] == [round(float(t), TIME_DECIMALS) for t in scored.beats]
    # and the detector is right: every pluck found within one 11.6 ms frame, nothing else
    assert len(document["onsets"]) == len(HITS)
    assert np.max(np.abs(np.asarray(document["onsets"]) - HITS)) < 0.012


def test_the_rhythm_curve_is_labelled_with_the_engine_s_own_rate():
    """The rate comes from the result, not from the video features (main labelled it ``features.rate``)."""
    audio = plucked_hits(HITS)
    curve = np.linspace(0.0, 1.0, 13)
    document = beats_document(_result(audio, predicted_odf=curve, predicted_odf_rate=2.0), audio, DURATION)
    assert document["odf_rate"] == 2.0 and document["odf"] == [round(float(v), 4) for v in curve]
    measured = beats_document(_result(audio), audio, DURATION)  # no curve of its own: measured, per second
    assert measured["odf_rate"] == 1.0 and len(measured["odf"]) == 7  # ceil(6.5 s) seconds
