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
Valence then gains NATURE_WEIGHT times the share of vivid pixels whose hue lies
between yellow-green and sky blue (grass, foliage, sky): the paper rates green,
blue-green and blue among the most pleasant hues, and brightness and saturation
alone call a sunny meadow neutral. docs/composer.md gives the whole mapping.
"""

from __future__ import annotations

import cv2
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
# Green-to-sky hues (OpenCV hue 0..180: 18..125 is 36..250 degrees) on pixels at least this vivid.
NATURE_HUES, NATURE_SATURATION, NATURE_VALUE = (18, 125), 0.25, 0.35
NATURE_WEIGHT = 1.8  # standardised valence units per unit of nature share

_SPREAD_8BIT = BINS_PER_CHANNEL // 256


def level_counts(image: np.ndarray) -> np.ndarray:
    """(3, 256) pixel counts per 8-bit level of R, G and B ((3, 1024) for 16-bit images)."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"expected an (H, W, 3) uint8/uint16 RGB image, got {image.shape} {image.dtype}")
    if image.dtype == np.uint16:
        levels = (image.reshape(-1, 3) >> 6).astype(np.int64)
        return np.stack([np.bincount(levels[:, c], minlength=BINS_PER_CHANNEL) for c in range(3)]).astype(np.float64)
    return np.stack([cv2.calcHist([image], [c], None, [256], [0, 256]).ravel() for c in range(3)]).astype(np.float64)


def histogram_from_counts(counts: np.ndarray) -> np.ndarray:
    """(3072,) float32: the binning of ``colour_histogram`` applied to (summed) ``level_counts``."""
    if counts.shape[1] == 256:
        counts = np.repeat(counts / _SPREAD_8BIT, _SPREAD_8BIT, axis=1)
    return (counts / np.maximum(counts.sum(axis=1, keepdims=True), 1e-12)).reshape(-1).astype(np.float32)


def colour_histogram(image: np.ndarray) -> np.ndarray:
    """(3072,) float32 RGB histogram of an (H, W, 3) uint8 or uint16 image; each channel block sums to 1."""
    return histogram_from_counts(level_counts(image))


def brightness_saturation(image: np.ndarray) -> tuple[float, float]:
    """Mean HSV value and saturation (0..1) of an (H, W, 3) uint8 RGB image."""
    _, saturation, value, _ = cv2.mean(cv2.cvtColor(image, cv2.COLOR_RGB2HSV))
    return value / 255.0, saturation / 255.0


def nature_share(image: np.ndarray) -> float:
    """Share (0..1) of an (H, W, 3) uint8 RGB image's pixels that are vivid green-to-sky hues."""
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
    lower = np.array([NATURE_HUES[0], round(NATURE_SATURATION * 255), round(NATURE_VALUE * 255)], np.uint8)
    upper = np.array([NATURE_HUES[1], 255, 255], np.uint8)
    return float(cv2.countNonZero(cv2.inRange(hsv, lower, upper))) / (image.shape[0] * image.shape[1])


def mood_from_colour(
    brightness: np.ndarray, saturation: np.ndarray, nature: np.ndarray | float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """(valence, arousal) in [-1, 1] from brightness, saturation and nature share (0..1), element-wise."""
    b = (np.asarray(brightness, np.float64) - BRIGHTNESS_CENTRE) / SCALE
    s = (np.asarray(saturation, np.float64) - SATURATION_CENTRE) / SCALE
    green = NATURE_WEIGHT * np.asarray(nature, np.float64)
    valence = np.tanh(VALENCE_WEIGHTS[0] * b + VALENCE_WEIGHTS[1] * s + green)
    arousal = np.tanh(AROUSAL_WEIGHTS[0] * b + AROUSAL_WEIGHTS[1] * s)
    return valence.astype(np.float32), arousal.astype(np.float32)


class ColourAnalyser:
    """Per-step colour over every frame of the step: histogram of all its pixels, mean tone."""

    def __init__(self, steps: int, rate: float) -> None:
        self.counts = StepMeans(steps, rate, 3 * 256)
        self.tone = StepMeans(steps, rate, 3)

    def add(self, time: float, image: np.ndarray) -> None:
        self.counts.add(time, level_counts(image).reshape(-1))
        self.tone.add(time, (*brightness_saturation(image), nature_share(image)))

    def result(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(histograms (T, 3072), valence (T,), arousal (T,))."""
        tone = self.tone.means()
        valence, arousal = mood_from_colour(tone[:, 0], tone[:, 1], tone[:, 2])
        histograms = np.stack([histogram_from_counts(row.reshape(3, 256)) for row in self.counts.means()])
        return histograms, valence, arousal
