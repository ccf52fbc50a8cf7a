"""The one audio loader (diffv2m.audio.io): sound files and videos' soundtracks, and its errors."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from diffv2m.audio.io import SAMPLE_RATE, load_audio
from diffv2m.benchmark.videos import ClipSpec, write_audio_only, write_clip
from diffv2m.errors import VideoError


def test_load_audio_from_a_video_and_errors(tmp_path):
    truth = write_clip(tmp_path / "with_sound.mp4", ClipSpec(2.0, audio=True))
    audio = load_audio(truth.path)
    assert audio.shape[0] == 2 and audio.shape[1] == pytest.approx(2.0 * SAMPLE_RATE, abs=2048)
    tone = np.abs(np.fft.rfft(audio[0]))
    assert np.argmax(tone) * SAMPLE_RATE / audio.shape[1] == pytest.approx(220.0, abs=2.0)
    silent = write_clip(tmp_path / "silent.mp4", ClipSpec(1.0))
    with pytest.raises(VideoError, match="no audio stream"):
        load_audio(silent.path)
    assert load_audio(write_audio_only(tmp_path / "a.m4a", 1.0)).shape[0] == 2


def test_a_pcm_wav_reads_sample_for_sample(tmp_path):
    """What the evaluation read with soundfile before, the one loader reads bit for bit."""
    rng = np.random.default_rng(3)
    stereo = np.clip(rng.normal(0, 0.2, (SAMPLE_RATE, 2)), -1, 1)
    path = tmp_path / "noise.wav"
    soundfile.write(path, stereo, SAMPLE_RATE, subtype="PCM_16")
    expected, _ = soundfile.read(path, dtype="float32", always_2d=True)
    assert np.array_equal(load_audio(path), expected.T)


def test_a_text_file_is_refused_in_one_sentence(tmp_path):
    notes = tmp_path / "notes.wav"
    notes.write_text("not sound at all\n" * 20)
    with pytest.raises(VideoError, match=r"notes\.wav is not"):
        load_audio(notes)
