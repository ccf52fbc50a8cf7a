"""Colour: the 3072-d histogram Diff-V2M's emotion branch reads, and a mood estimate.

Histogram layout (the released code does not include its binning; this is ours):
three blocks of 1024 bins, for the R, G and B channels in that order, each block
covering channel values 0..1 evenly and summing to 1. An 8-bit value v stands for
the interval [v/256, (v+1)/256), so its count is spread evenly over the four bins
that interval covers: the histogram of the de-quantised picture, with no empty
comb teeth between 8-bit levels. (16-bit frames fill the 1024 bins directly.)

Mood: valence and arousal from mean brightness and saturation with the
regression weights of Valdez & Mehrabian (1994), "Effects of color on emotions",
J. Exp. Psychol. Gen. 123(4):394-409: pleasure = 0.69 B + 0.22 S and
arousal = -0.31 B + 0.60 S on standardised brightness B and saturation S.
"""

from __future__ import annotations

import numpy as np

from .steps import StepMeans

BINS_PER_CHANNEL = 1024
HISTOGRAM_SIZE = 3 * BINS_PER_CHANNEL

# Valdez & Mehrabian (1994) standardised regression weights.
VALENCE_WEIGHTS = (0.69, 0.22)  # (brightness, saturation)
AROUSAL_WEIGHTS = (-0.31, 0.60)
# Standardisation of brightness (HSV value) and saturation, both 0..1. The paper
# standardised over its colour samples; for video we centre on mid-brightness,
# moderately saturated footage and take a 0.2 standard deviation, so typical
# footage spans about -1..1 before the tanh that bounds the result.
BRIGHTNESS_CENTRE, SATURATION_CENTRE, SCALE = 0.5, 0.35, 0.2

_SPREAD_8BIT = BINS_PER_CHANNEL // 256


def colour_histogram(image: np.ndarray) -> np.ndarray:
    """(3072,) float32 RGB histogram of an (H, W, 3) uint8 or uint16 image; each channel block sums to 1."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"expected an (H, W, 3) uint8/uint16 RGB image, got {image.shape} {image.dtype}")
    pixels = image.reshape(-1, 3)
    blocks = []
    for channel in range(3):
        if image.dtype == np.uint8:
            counts = np.bincount(pixels[:, channel], minlength=256)
            block = np.repeat(counts / _SPREAD_8BIT, _SPREAD_8BIT)
        else:
            block = np.bincount(pixels[:, channel] >> 6, minlength=BINS_PER_CHANNEL)
        blocks.append(block / max(block.sum(), 1e-12))
    return np.concatenate(blocks).astype(np.float32)


def brightness_saturation(image: np.ndarray) -> tuple[float, float]:
    """Mean HSV value and saturation (0..1) of an (H, W, 3) uint8 RGB image."""
    rgb = image.reshape(-1, 3)
    high = rgb.max(axis=1).astype(np.float32)
    low = rgb.min(axis=1).astype(np.float32)
    saturation = np.where(high > 0, (high - low) / np.maximum(high, 1.0), 0.0)
    return float(high.mean() / 255.0), float(saturation.mean())


def mood_from_colour(brightness: np.ndarray, saturation: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(valence, arousal) in [-1, 1] from brightness and saturation (0..1), element-wise."""
    b = (np.asarray(brightness, np.float64) - BRIGHTNESS_CENTRE) / SCALE
    s = (np.asarray(saturation, np.float64) - SATURATION_CENTRE) / SCALE
    valence = np.tanh(VALENCE_WEIGHTS[0] * b + VALENCE_WEIGHTS[1] * s)
    arousal = np.tanh(AROUSAL_WEIGHTS[0] * b + AROUSAL_WEIGHTS[1] * s)
    return valence.astype(np.float32), arousal.astype(np.float32)


class ColourAnalyser:
    """Per-step mean histogram, brightness and saturation over every frame of the step."""

    def __init__(self, steps: int, rate: float) -> None:
        self.histograms = StepMeans(steps, rate, HISTOGRAM_SIZE)
        self.tone = StepMeans(steps, rate, 2)

    def add(self, time: float, image: np.ndarray) -> None:
        self.histograms.add(time, colour_histogram(image))
        self.tone.add(time, brightness_saturation(image))

    def result(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(histograms (T, 3072), valence (T,), arousal (T,))."""
        tone = self.tone.means()
        valence, arousal = mood_from_colour(tone[:, 0], tone[:, 1])
        return self.histograms.means().astype(np.float32), valence, arousal
