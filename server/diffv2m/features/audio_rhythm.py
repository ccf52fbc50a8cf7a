"""Rhythm targets from audio, for training and evaluating the rhythm predictor.

These follow the released Diff-V2M data pipeline (``AVDataset`` in its
``stable_audio_tools/data/dataset.py``; paper arXiv 2511.09090 §3.2, docs/features.md) step by step:

* the audio at 44.1 kHz (``diffv2m.audio.io.load_audio``), channels averaged to mono;
* ODF ("odf", the paper's final choice): ``librosa.onset.onset_strength`` (hop 512,
  librosa defaults otherwise), z-scored over the whole clip (std + 1e-6), peaks by
  ``scipy.signal.find_peaks(prominence=0.05)``, each peak put in second
  ``round(t)`` keeping the largest value (seconds without a peak stay 0, so
  negative peaks vanish), ``ceil(duration)`` seconds, and the first second dropped
  when there are more than 30;
* mel ("mel" ablation): torchaudio's ``MelSpectrogram(44100, n_fft=2048, hop 512,
  128 mels, power 2)`` + ``AmplitudeToDB`` (HTK mel scale, no filter
  normalisation, reflect padding), computed here with librosa since torchaudio
  cannot be installed beside this torch; frames x 128;
* tempogram ("tempo" ablation): ``librosa.feature.tempogram(hop 128, win 384)``,
  frames x 384.

``low_res`` is what Diff-V2M's ``RhythmConditioner`` then does to a target:
zero-pad to 30 rows, average blocks down to (30, bands), z-score over all values
(unbiased std + 1e-6). For the ODF (bands 1) the blocks are single values.

Resampling differs from the original (FFmpeg's swresample here, torchaudio's sinc
resampler there); both are band-limited, so the targets agree closely, not bitwise.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import find_peaks

from ..audio.io import SAMPLE_RATE, to_mono

ODF_HOP = 512
MAX_SECONDS = 30


def odf_target(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(seconds,) float32 second-level onset detection function (see module docs)."""
    import librosa

    y = to_mono(np.asarray(audio, np.float32))
    odf = librosa.onset.onset_strength(y=y, sr=sample_rate, hop_length=ODF_HOP)
    odf = (odf - odf.mean()) / (odf.std() + 1e-6)
    times = librosa.frames_to_time(np.arange(len(odf)), sr=sample_rate, hop_length=ODF_HOP)
    seconds = math.ceil(len(y) / sample_rate)
    per_second = np.zeros(seconds, np.float64)
    peaks, _ = find_peaks(odf, prominence=0.05)
    for time, value in zip(times[peaks], odf[peaks], strict=True):
        second = round(float(time))
        if second < seconds:
            per_second[second] = max(per_second[second], value)
    if per_second.size > MAX_SECONDS:
        per_second = per_second[1:]
    return per_second.astype(np.float32)


def mel_frames(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(frames, 128) float32 log-mel power in dB, as torchaudio's MelSpectrogram + AmplitudeToDB."""
    import librosa

    y = to_mono(np.asarray(audio, np.float32))
    mel = librosa.feature.melspectrogram(
        y=y, sr=sample_rate, n_fft=2048, hop_length=512, n_mels=128, power=2.0, htk=True, norm=None, pad_mode="reflect"
    )
    return librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None).T.astype(np.float32)


def tempogram_frames(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(frames, 384) float32 autocorrelation tempogram (hop 128, window 384)."""
    import librosa

    y = to_mono(np.asarray(audio, np.float32))
    return librosa.feature.tempogram(y=y, sr=sample_rate, hop_length=128, win_length=384).T.astype(np.float32)


def low_res(target: np.ndarray, rows: int = MAX_SECONDS, bands: int | None = None) -> np.ndarray:
    """(rows, bands) block-averaged and z-scored, as Diff-V2M's RhythmConditioner prepares a target."""
    x = np.asarray(target, np.float64)
    x = x[:, None] if x.ndim == 1 else x
    bands = bands or x.shape[1]
    if x.shape[0] < rows:
        x = np.concatenate([x, np.zeros((rows - x.shape[0], x.shape[1]))])
    row_block, band_block = x.shape[0] // rows, x.shape[1] // bands
    blocks = x[: rows * row_block, : bands * band_block].reshape(rows, row_block, bands, band_block)
    out = blocks.mean(axis=(1, 3))
    return ((out - out.mean()) / (out.std(ddof=1) + 1e-6)).astype(np.float32)


def low_res_mel(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(30, 16) low-resolution mel target."""
    return low_res(mel_frames(audio, sample_rate), bands=16)


def low_res_tempogram(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(30, 16) low-resolution tempogram target."""
    return low_res(tempogram_frames(audio, sample_rate), bands=16)
