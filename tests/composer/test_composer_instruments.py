"""Every sound the composer can play starts and ends in silence and carries no click."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from diffv2m.engines.composer.instruments import DRUMS, VOICES, drum_hit, render_voice
from diffv2m.engines.composer.instruments.drums import VARIANTS

SR = 44_100
ABOVE_BAND = signal.butter(8, 17_500, btype="highpass", fs=SR, output="sos")


def edges_are_silent(audio: np.ndarray) -> bool:
    peak = np.abs(audio).max()
    return peak > 0 and np.abs(audio[..., 0]).max() < 1e-3 * peak and np.abs(audio[..., -1]).max() < 1e-3 * peak


@pytest.mark.parametrize("voice", sorted(VOICES))
@pytest.mark.parametrize("pitch", [40, 64, 79])
def test_pitched_notes_are_clean(voice, pitch):
    for seconds in (0.06, 0.7):  # a note shorter than its own attack, and a held one
        audio = render_voice(voice, pitch, round(seconds * SR), 0.8, 0.7)
        assert np.isfinite(audio).all() and edges_are_silent(audio)
        assert audio.shape[-1] > round(seconds * SR)  # the release rings on after note-off
        # Band-limited voices put nothing above 17.5 kHz; a step (a click) anywhere would.
        above = signal.sosfilt(ABOVE_BAND, audio, axis=-1)
        assert np.abs(above).max() < 0.01 * np.abs(audio).max(), voice


@pytest.mark.parametrize("drum", sorted(DRUMS))
def test_drum_hits_start_and_end_silent_in_every_key(drum):
    for key in (0, 5, 11):
        for variant in range(VARIANTS):
            hit = drum_hit(drum, variant, 0.5, key)
            assert np.isfinite(hit).all() and edges_are_silent(hit)
            assert np.abs(hit).max() == pytest.approx(1.0)


def test_round_robin_variants_differ_and_are_reproducible():
    first = [drum_hit("snare", v, 0.5, 2) for v in range(VARIANTS)]
    assert not np.allclose(first[0], first[1])
    drum_hit.cache_clear()
    assert all(np.array_equal(a, drum_hit("snare", v, 0.5, 2)) for v, a in enumerate(first))
