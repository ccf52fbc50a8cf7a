"""Any duration from one model window: planning, per-window inputs, continuation, stitching.

The model sees at most ``max_seconds`` (30) per-second tokens and makes
``latent_length`` (645) latent frames (29.95 s) per window.

* A range of up to ``max_seconds`` (30 s) is generated in **one** window:
  tokens past the range are masked, ``seconds_total`` is the range length
  rounded up (as the released data pipeline sets it), and the audio is trimmed
  to the sample. 645 frames fall 2040 samples short of 30 s (the released
  encoder turned its 1,323,000-sample training crops into 645 frames by
  dropping the last partial frame, research notes §1), so a range between
  29.95 s and 30 s gets a window of 646 frames (``one_window_frames``).
* A longer range is covered by windows that start on whole seconds (so token
  k of a window is second ``start + k`` of the range), spaced as evenly as
  whole seconds allow (hops differ by at most 1 s, none over ``hop_seconds``)
  between 0 and the first start whose window reaches the range end, so the
  last window overlaps like the others and ends less than a second past the
  range. Each window after the first *continues* the previous one: the frames
  they share are pinned (inpainting) to the previous window's final latent,
  noised to the current level at every step, so the new window picks up its
  tempo, key and sound; the first half of the shared frames is pinned, the
  second half crossfades from the previous window's latent into the new one's
  (``_pinned_frames``). Or (``window_batch`` ≥ 1) all windows are denoised
  together on one latent and blended every step (``joint.py``). The whole
  latent is decoded at once (tiled by the VAE when long), giving one
  continuous score.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .joint import sample_jointly
from .samplers import Inpainting
from .stack import DiffV2M
from .visual_conditioner import WindowInputs

HOP_SECONDS = 20  # the longest hop: ≥ 10 s of every 29.95-s window continues the previous one


@dataclass
class Window:
    start_second: int  # first per-second row of the range this window sees
    latent_start: int  # first latent frame of the range's latent it writes
    valid_seconds: int  # rows with features (the rest are masked)
    seconds_total: float  # the seconds_total conditioning value
    frames: int  # latent frames this window makes
    overlap: int = 0  # leading latent frames shared with the previous window


def one_window_frames(stack: DiffV2M) -> int:
    """The most latent frames a one-window request gets: the model's window, or one frame more for a model
    whose window is its ``max_seconds`` with the last partial frame dropped (the released 645 = ⌊30 s⌋ frames).

    The 646th frame is one position past the training crops, but the DiT has no absolute position table
    (partial rotary embeddings, docs/model.md), and it holds audio the model did hear in training (seconds
    29.95–30.0 of each crop), so a 30.0-s request is made whole instead of padding its last 46 ms."""
    span = stack.max_seconds * stack.sample_rate / stack.downsampling_ratio
    return math.ceil(span) if math.floor(span) == stack.latent_length else stack.latent_length


def window_lengths(stack: DiffV2M) -> tuple[int, ...]:
    """Every latent length ``plan_windows`` can give a window (what a compiled DiT should be warmed up at)."""
    return tuple(sorted({stack.latent_length, one_window_frames(stack)}))


def output_samples(duration: float, stack: DiffV2M) -> int:
    """Samples of audio a ``duration``-second request returns (exactly, after trimming)."""
    return round(duration * stack.sample_rate)


def plan_windows(duration: float, stack: DiffV2M, hop_seconds: int = HOP_SECONDS) -> list[Window]:
    """Windows covering ``duration`` seconds; the latent they make decodes to ≥ ``output_samples`` samples."""
    if duration <= 0:
        raise ValueError("duration must be positive")
    rate, ratio, length, cap = stack.sample_rate, stack.downsampling_ratio, stack.latent_length, stack.max_seconds
    seconds = math.ceil(duration - 1e-9)
    needed = -(-output_samples(duration, stack) // ratio)  # latent frames, rounded up

    def latent_start(second: int) -> int:
        return round(second * rate / ratio)

    if seconds <= cap and needed <= one_window_frames(stack):
        return [Window(0, 0, seconds, float(seconds), max(length, needed))]
    # The last start: the first whole second whose window reaches the range end (nothing wasted past it).
    last = max(1, math.floor((needed - length) * ratio / rate) - 1)
    while latent_start(last) + length < needed:
        last += 1
    longest = max(1, min(hop_seconds, math.floor(stack.window_seconds) - 1))  # windows must overlap
    hops = math.ceil(last / longest)
    starts = [math.floor(k * last / hops + 0.5) for k in range(hops + 1)]  # even, to the whole second
    windows = []
    for start in starts:
        valid = min(cap, seconds - start)
        window = Window(start, latent_start(start), valid, float(valid), length)
        if windows:
            window.overlap = windows[-1].latent_start + windows[-1].frames - window.latent_start
        windows.append(window)
    return windows


def per_second(values: np.ndarray | None, rate: float, seconds: int, reduce: str = "mean") -> np.ndarray | None:
    """Rows at ``rate`` per second → exactly ``seconds`` rows at 1 per second.

    ``mean`` rows with no sample hold the last filled row; ``max`` rows with none are zero (no event)."""
    if values is None:
        return None
    values = np.asarray(values, dtype=np.float32)
    if abs(rate - 1.0) < 1e-9:
        out = np.zeros((seconds, *values.shape[1:]), np.float32)
        count = min(seconds, len(values))
        out[:count] = values[:count]
        return out
    index = np.floor(np.arange(len(values)) / rate + 1e-9).astype(int)
    keep = index < seconds
    out = np.zeros((seconds, *values.shape[1:]), np.float32)
    if reduce == "max":
        np.maximum.at(out, index[keep], values[keep])
        return out
    counts = np.zeros(seconds, np.float32)
    np.add.at(out, index[keep], values[keep])
    np.add.at(counts, index[keep], 1.0)
    means = out / np.maximum(counts, 1.0).reshape(-1, *([1] * (values.ndim - 1)))
    filled = np.flatnonzero(counts)
    if filled.size == 0:
        return means
    # Seconds with no sample (rates below 1) hold the last filled second (the first filled one before any).
    source = filled[np.clip(np.searchsorted(filled, np.arange(seconds), side="right") - 1, 0, None)]
    return means[source]


@dataclass
class RangeFeatures:
    """Per-second model inputs for the range (1 row per second of video; may be shorter than the output)."""

    clip: np.ndarray  # (S, 512)
    colour: np.ndarray  # (S, 3072)
    scene_cut: np.ndarray  # (S,)
    visual_beat: np.ndarray  # (S,)

    def window_inputs(self, window: Window, stack: DiffV2M, class_label: int) -> WindowInputs:
        """The window's rows, zero-padded to ``max_seconds``; rows past the video are masked too."""
        cap, lo = stack.max_seconds, window.start_second
        hi = max(lo, min(lo + window.valid_seconds, len(self.clip)))

        def rows(values: np.ndarray) -> torch.Tensor:
            out = np.zeros((cap, *values.shape[1:]), np.float32)
            out[: hi - lo] = values[lo:hi]
            return torch.from_numpy(out)[None]

        return WindowInputs(
            clip=rows(self.clip),
            valid_seconds=torch.tensor([hi - lo]),
            colour=rows(self.colour),
            scene_cut=rows(self.scene_cut).long(),
            visual_beat=rows(self.visual_beat),
            seconds_start=torch.zeros(1),
            seconds_total=torch.tensor([window.seconds_total]),
            class_label=torch.tensor([class_label]),
        )


def _pinned_frames(window: Window) -> int:
    """Shared frames pinned to the previous window: the first half; the second half is a crossfade.

    Where the pinned part ends, the new window's own frames need not join it: pinning all the shared frames
    left a latent step of ~40x the median frame-to-frame change there (a tiny random model, 8 to 50 steps;
    tests/model/test_model_joint.py). So the crossfade runs over frames the new window made freely, from the
    previous window's latent into the new one's, both continuous there. Over half the overlap (≥ 5 s) it
    changes the local level no faster than a window interior does; a 1.5-s crossfade did not. The pinned
    half (≥ 5 s) is what the new window continues from."""
    return window.overlap - window.overlap // 2


def _crossfade_into(total: torch.Tensor, latent: torch.Tensor, window: Window) -> None:
    keep = _pinned_frames(window)  # the pinned part stays the previous window's, the rest fades into the new
    fade = window.overlap - keep
    start = window.latent_start
    if fade:
        weight = torch.linspace(0, 1, fade + 2, device=latent.device)[1:-1]
        shared = slice(start + keep, start + window.overlap)
        total[..., shared] = total[..., shared] * (1 - weight) + latent[..., keep : window.overlap] * weight
    total[..., start + window.overlap : start + latent.shape[-1]] = latent[..., window.overlap :]


def _odf_into(odf_sum: np.ndarray, odf_weight: np.ndarray, window: Window, predicted: torch.Tensor) -> None:
    odf = predicted[0, : window.valid_seconds].float().mean(-1).cpu().numpy()
    span = np.arange(window.start_second, window.start_second + len(odf))
    centre = window.start_second + window.valid_seconds / 2
    weight = 1.0 / (1.0 + np.abs(span + 0.5 - centre))  # trust each window most in its middle
    odf_sum[span] += odf * weight
    odf_weight[span] += weight


@torch.no_grad()
def generate_range(
    stack: DiffV2M,
    features: RangeFeatures,
    duration: float,
    seed: int,
    sampler: str,
    steps: int,
    guidance: float,
    emotion_source: str | None = None,
    rhythm_gain: float = 1.0,
    class_label: int = 2,
    progress: Callable[[float], None] | None = None,
    window_batch: int = 0,
) -> tuple[np.ndarray, np.ndarray, list[Window]]:
    """(audio (channels, round(duration × rate)) float32, per-second predicted ODF (S,), the windows).

    ``window_batch`` 0: each window continues the previous one (inpainting), one window per forward.
    N ≥ 1: all windows are denoised together, N per forward, blended every step (``joint.py``)."""
    windows = plan_windows(duration, stack)
    device = stack.device
    channels = stack.transformer.config.io_channels
    generator = torch.Generator().manual_seed(seed)
    total_frames = windows[-1].latent_start + windows[-1].frames
    joint = window_batch > 0 and len(windows) > 1
    if joint:
        noises = [torch.randn((1, channels, total_frames), generator=generator)]  # same on every device
    else:
        noises = [torch.randn((1, channels, w.frames), generator=generator) for w in windows]
    total = torch.zeros((1, channels, total_frames), device=device)
    seconds = math.ceil(duration - 1e-9)
    odf_sum, odf_weight = np.zeros(seconds, np.float32), np.zeros(seconds, np.float32)
    done, count = 0, (1 if joint else len(windows)) * steps

    def on_step(_i: int, _x: torch.Tensor, _pred: torch.Tensor) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done / count)

    conditionings = []
    for index, window in enumerate(windows):
        inputs = features.window_inputs(window, stack, class_label)
        inputs = WindowInputs(**{k: v.to(device) for k, v in vars(inputs).items()})
        parts = stack.condition(inputs, emotion_source, rhythm_gain)
        _odf_into(odf_sum, odf_weight, window, parts.predicted_rhythm)
        if joint:
            conditionings.append(parts.conditioning)
            continue
        noise = noises[index].to(device)
        inpaint = None
        if window.overlap:
            known = torch.zeros_like(noise)
            pinned = _pinned_frames(window)
            known[..., :pinned] = total[..., window.latent_start : window.latent_start + pinned]
            mask = (torch.arange(window.frames, device=device) < pinned)[None, None]
            inpaint = Inpainting(known, mask, noise)
        latent = stack.sample(parts.conditioning, noise, sampler, steps, guidance, on_step, inpaint)
        _crossfade_into(total, latent, window)
    if joint:
        starts = [w.latent_start for w in windows]
        total = sample_jointly(stack, conditionings, starts, windows[0].frames, noises[0].to(device), sampler,
                               steps, guidance, window_batch, on_step)  # fmt: skip
    audio = stack.decode(total)[0]
    audio = audio[:, : output_samples(duration, stack)]
    return audio.cpu().numpy().astype(np.float32), odf_sum / np.maximum(odf_weight, 1e-9), windows
