"""The Diff-V2M engine: VideoFeatures + a request → music from the model stack.

Weights are loaded once, in ``from_settings`` (a project weights folder, the
official ``model_odf.ckpt`` + ``model_config_odf.json``, or a hub id when
downloads are allowed); every request reuses them.

What an emotion preset does here (``EMOTION_CONDITIONING``), honestly:

* ``auto``: nothing is overridden; the model hears the video as it is.
* Released checkpoint (``emotion_source = "released"``): the colour features
  never reach its DiT (its level-1 cross-attention was wired to the rhythm
  tokens; research notes §9), so a preset cannot change key, mode or timbre
  through colour. It changes the one thing that model does listen to besides
  the picture: the **rhythm intensity** — the predicted per-second ODF is
  scaled by ``1 + 0.4 × arousal`` before it is encoded (calm 0.72× … epic
  1.36×), which both rhythm cross-attentions see. Valence has no handle.
* Models trained with ``emotion_source = "colour"`` (the paper's design): in
  addition, the video's per-second colour histograms are blended 60/40 with
  the histogram of the preset's palette (``PALETTES``), computed by the same
  colour-histogram function the features use, so the emotion branch hears
  the preset's colours.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..emotion import PRESETS, EmotionPreset
from ..errors import Diffv2mError, WeightsError
from ..features.types import VideoFeatures
from ..model.choices import DEFAULT_STEPS, SAMPLER_NAMES, STEP_PRESETS, resolve_sampling
from ..settings import Settings
from .base import SAMPLE_RATE, GenerationRequest, GenerationResult

log = logging.getLogger(__name__)
DEFAULT_SAMPLER = "dpmpp-2m"
PALETTE_WEIGHT = 0.6
CLIP_HUB_ID = "openai/clip-vit-base-patch32"  # CLIP ViT-B/32, what the paper's features came from


@dataclass(frozen=True)
class EmotionConditioning:
    rhythm_gain: float  # scales the predicted ODF (every model)
    palette: tuple[tuple[int, int, int], ...] = ()  # RGB colours blended into the colour input ("colour" models)


# Palettes after the colour–emotion literature (bright/saturated ↔ pleasant/excited, dark/desaturated ↔ sad/calm).
PALETTES: dict[str, tuple[tuple[int, int, int], ...]] = {
    "calm": ((150, 190, 210), (170, 205, 180), (220, 225, 230)),
    "happy": ((255, 210, 60), (255, 150, 50), (120, 200, 255)),
    "tense": ((120, 10, 10), (30, 30, 35), (200, 40, 20)),
    "sad": ((60, 70, 95), (110, 115, 125), (35, 40, 55)),
    "epic": ((220, 160, 30), (150, 20, 20), (250, 240, 210)),
    "mysterious": ((60, 20, 90), (20, 80, 90), (15, 15, 30)),
}


def emotion_conditioning(preset: EmotionPreset) -> EmotionConditioning:
    """The overrides for ``preset`` (none for ``auto``, which keeps the video's own mood)."""
    if preset.auto:
        return EmotionConditioning(rhythm_gain=1.0)
    return EmotionConditioning(rhythm_gain=round(1.0 + 0.4 * preset.arousal, 3), palette=PALETTES.get(preset.name, ()))


EMOTION_CONDITIONING = {name: emotion_conditioning(preset) for name, preset in PRESETS.items()}


def palette_histogram(palette: tuple[tuple[int, int, int], ...]) -> np.ndarray | None:
    """The features' colour histogram of a frame painted in ``palette`` (None if the features lack one)."""
    try:
        from ..features import colour as colour_features  # the features engineer's binning, one function
    except ImportError:
        return None
    histogram = getattr(colour_features, "colour_histogram", None)
    if histogram is None or not palette:
        return None
    frame = np.zeros((48, 48 * len(palette), 3), np.uint8)
    for index, rgb in enumerate(palette):
        frame[:, index * 48 : (index + 1) * 48] = rgb
    return np.asarray(histogram(frame), np.float32).reshape(-1)


def load_clip(settings: Settings) -> Any:
    """The CLIP encoder: ``DIFFV2M_CLIP``, else a ``clip/`` folder inside the weights folder, else ViT-B/32 from
    the hub cache (downloaded only when allowed)."""
    try:
        from ..features.semantic import ClipEncoder
    except ImportError:  # the features package without CLIP support: semantic features must come from elsewhere
        return None
    bundled = Path(settings.weights or "").expanduser() / "clip"
    source = settings.clip or (str(bundled) if bundled.is_dir() else CLIP_HUB_ID)
    try:
        return ClipEncoder.from_pretrained(
            source, allow_download=settings.allow_download, device=settings.resolved_device()
        )
    except WeightsError as exc:
        raise WeightsError(
            f"Diff-V2M needs the CLIP ViT-B/32 image encoder; set DIFFV2M_CLIP to its folder or allow downloads "
            f"({exc.message})"
        ) from exc


def check_sampler(sampler: str) -> None:
    if sampler not in SAMPLER_NAMES:
        raise WeightsError(f"Unknown sampler '{sampler}'; choose one of {', '.join(SAMPLER_NAMES)}.")


class DiffV2MEngine:
    name = "diffv2m"

    def __init__(
        self,
        stack: Any,
        device: str,
        clip: Any = None,
        sampler: str = DEFAULT_SAMPLER,
        window_batch: int = 0,
        compile_mode: str | None = None,
        compile_backend: str = "inductor",
        compile_cache: Path | None = None,
    ) -> None:
        from ..model.compiled import CompileReport

        check_sampler(sampler)
        self.stack = stack
        self.device = device
        self.clip = clip  # the CLIP image encoder the features must use for this engine (the pipeline reads it)
        self.sampler = sampler
        self.default_steps = DEFAULT_STEPS[sampler]
        self.window_batch = window_batch  # 0: windows continue one another; N: denoised together, N per forward
        self.compile = CompileReport(
            compile_mode,
            compile_backend,
            str(compile_cache) if compile_cache else None,
            "pending" if compile_mode else "off",
        )
        self._compile_cache = compile_cache
        self.state = "warming" if compile_mode else "ready"  # /health: warming until warm_up has run

    def warm_up(self) -> None:
        """Compile the DiT and run it once at every shape (``model/compiled.py``); never raises (a failed
        compile leaves it eager, with the reason in ``describe``).

        The registry calls this in the job worker's thread, before that thread takes its first job: CUDA graph
        trees are kept per thread (``torch/_inductor/cudagraph_trees.py``), so graphs captured in another thread
        would be captured again by the first job.
        """
        if self.state == "ready":
            return
        from ..model.acceleration import failure_reason, run_eagerly
        from ..model.compiled import compile_and_warm

        try:
            if (mode := self.compile.mode) is not None:
                self.compile = compile_and_warm(self.stack, mode, self.compile.backend, self._compile_cache)
        except Exception as exc:  # e.g. an unusable cache folder: compiling is never the reason a job fails
            run_eagerly(self.stack)
            self.compile = replace(self.compile, state="eager-fallback", reason=failure_reason(exc))
            log.warning("The DiT's warm-up failed (%s); running it eagerly", self.compile.reason)
        finally:
            self.state = "ready"

    @classmethod
    def from_settings(cls, settings: Settings) -> DiffV2MEngine:
        """Load the configured weights (and CLIP) once and place them on the configured device.

        ``settings`` also chooses the sampler, an override of the level-1 wiring
        (``emotion_source``), the DiT's precision and its ``torch.compile`` mode (compiled later, in ``warm_up``).
        """
        check_sampler(settings.sampler)  # before loading any weights
        if not settings.weights:
            raise WeightsError("No Diff-V2M weights are configured; set DIFFV2M_WEIGHTS to a weights folder or file.")
        from ..model.acceleration import prepare_for_inference, resolve_precision
        from ..model.compiled import CACHE_FOLDER, resolve_compile_mode
        from ..model.io.loading import load_weights

        device = settings.resolved_device()
        try:  # both refused before any weights load
            resolve_precision(settings.precision, device)
            compile_mode = resolve_compile_mode(settings.compile_mode, device)
        except ValueError as exc:
            raise WeightsError(str(exc)) from exc

        stack = load_weights(
            settings.weights, settings.allow_download, settings.cache_dir, settings.use_ema, settings.emotion_source
        )
        prepare_for_inference(stack, device, settings.precision)
        clip = load_clip(settings)
        return cls(
            stack,
            device,
            clip,
            settings.sampler,
            settings.window_batch,
            compile_mode=compile_mode,
            compile_backend=settings.compile_backend,
            compile_cache=Path(settings.cache_dir) / CACHE_FOLDER,
        )

    def describe(self) -> dict[str, object]:
        info = self.stack.info
        return {
            "available": True,
            "weights": info.source,
            "clip": getattr(self.clip, "name", None),
            "device": self.device,
            "sampler": self.sampler,
            "default_steps": self.default_steps,
            "presets": {name: {"sampler": p.sampler, "steps": p.steps} for name, p in STEP_PRESETS.items()},
            "default_guidance": info.default_guidance,
            "emotion_source": info.emotion_source,
            "window_seconds": round(self.stack.window_seconds, 3),
            "window_batch": self.window_batch,
            "state": self.state,
            "compile": self.compile.as_dict(),
        }

    def _range_features(self, features: VideoFeatures, overrides: EmotionConditioning) -> tuple[Any, bool]:
        from ..model.longform import RangeFeatures, per_second

        if features.semantic is None:
            raise WeightsError("Diff-V2M needs CLIP image features; configure CLIP (DIFFV2M_CLIP) for the analysis.")
        rate = features.rate
        seconds = max(1, int(np.ceil(features.duration - 1e-9)))  # rows at 1 per second that have video
        colour = per_second(features.colour_hist, rate, seconds)
        palette_used = False
        if self.stack.info.emotion_source == "colour" and overrides.palette:
            target = palette_histogram(overrides.palette)
            if target is not None and target.shape[0] == colour.shape[1]:
                colour = (1 - PALETTE_WEIGHT) * colour + PALETTE_WEIGHT * target[None]
                palette_used = True
        return (
            RangeFeatures(
                clip=per_second(features.semantic, rate, seconds),
                colour=colour,
                scene_cut=per_second(features.scene_cut, rate, seconds, reduce="max"),
                visual_beat=per_second(features.visual_beat, rate, seconds, reduce="max"),
            ),
            palette_used,
        )

    def generate(self, request: GenerationRequest) -> GenerationResult:
        import torch

        from ..model.longform import generate_range

        self.warm_up()  # at once when the registry has run it (it does, before the first job)
        # duration, steps and preset: checked by job_request.validate
        sampler, steps, preset = resolve_sampling(request.preset, request.steps, self.sampler)
        guidance = self.stack.info.default_guidance if request.guidance is None else float(request.guidance)
        overrides = emotion_conditioning(request.emotion)
        range_features, palette_used = self._range_features(request.features, overrides)
        request.progress("generating", 0.0)
        try:
            audio, odf, windows = generate_range(
                self.stack,
                range_features,
                request.duration,
                seed=request.seed,
                sampler=sampler,
                steps=steps,
                guidance=guidance,
                rhythm_gain=overrides.rhythm_gain,
                class_label=self.stack.info.class_label,
                progress=lambda fraction: request.progress("generating", fraction),
                window_batch=self.window_batch,
            )
        except (Diffv2mError, KeyboardInterrupt):
            raise
        except RuntimeError as exc:  # torch.OutOfMemoryError on CUDA; MPS raises a plain RuntimeError
            if isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower():
                raise WeightsError("The Diff-V2M model ran out of memory on this device.") from exc
            raise
        if audio.shape != (2, request.num_samples):
            raise RuntimeError(f"generated audio has shape {audio.shape}, expected (2, {request.num_samples})")
        return GenerationResult(
            audio=np.nan_to_num(audio),
            engine=self.name,
            weights=self.stack.info.source,
            sampler=sampler,
            steps=steps,
            seed=request.seed,
            preset=preset,
            emotion=request.emotion.name,
            predicted_odf=odf,
            extra={
                "guidance": guidance,
                "emotion_source": self.stack.info.emotion_source,
                "rhythm_gain": overrides.rhythm_gain,
                "colour_palette_applied": palette_used,
                "windows": len(windows),
                "windows_denoised": "together" if self.window_batch and len(windows) > 1 else "in turn",
                "sample_rate": SAMPLE_RATE,
            },
        )
