"""``diffv2m prepare DATA_DIR OUT_DIR``: cut paired (video, music) files into training windows.

Per video (one worker process each, in parallel): one decode pass for the
per-second visual features (``diffv2m.features``: CLIP, colour histograms,
scene cuts, visual beats), the music read and resampled to the model rate,
then per window (30 s, configurable): the ground-truth rhythm targets
(``diffv2m.features.audio_rhythm``: low-res ODF, mel and tempogram variants)
and, when a VAE is given, the VAE posterior of the window's audio (padded
with silence to a full window, as the released loader pads short clips).

Resumable: each finished video leaves ``windows/<key>/done.json``; a rerun
skips those, so an interrupted run continues where it stopped. Every window
file is written under a temporary name and renamed, so none is ever half
written. The manifest ``prepared.json`` (format in ``dataset.py``) lists
every window and every video that was skipped and why.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import Diffv2mError, InputError
from .dataset import FORMAT, MANIFEST, VERSION
from .pairs import Pair, find_pairs

DONE = "done.json"
SAMPLE_RATE = 44_100


@dataclass(frozen=True)
class PrepareOptions:
    window: float = 30.0  # seconds per window
    hop: float = 30.0  # seconds between window starts
    min_seconds: float = 5.0  # a last window shorter than this is dropped
    rate: float = 1.0  # per-second feature rows per second (the paper: 1)
    clip: str | None = None  # CLIP image encoder: local folder or hub id
    vae: str | None = None  # VAE source (weights folder, official .ckpt, Oobleck folder); None = store audio
    keep_audio: bool = False  # store the window audio even with a VAE
    device: str = "cpu"
    allow_download: bool = False

    def check(self) -> None:
        if self.window <= 0 or self.hop <= 0 or not 0 < self.min_seconds <= self.window:
            raise InputError("Window and hop must be positive and the minimum length between 0 and the window.")
        if abs(self.window * self.rate - round(self.window * self.rate)) > 1e-9:
            raise InputError("The window must hold a whole number of feature rows (window × rate).")
        if abs(self.hop * self.rate - round(self.hop * self.rate)) > 1e-9:
            raise InputError("The hop must be a whole number of feature rows (hop × rate).")
        if not self.clip:
            raise InputError("Preparing needs a CLIP image encoder (--clip FOLDER or a hub id).")


# --- one worker's models, loaded once per process ------------------------------------------------
_models: dict[tuple[str | None, str | None, str], dict[str, Any]] = {}


def _load_models(options: PrepareOptions) -> dict[str, Any]:
    key = (options.clip, options.vae, options.device)
    if key not in _models:
        from ..features.semantic import ClipEncoder

        models: dict[str, Any] = {
            "clip": ClipEncoder.from_pretrained(
                options.clip or "", allow_download=options.allow_download, device=options.device
            )
        }
        if options.vae:
            from .model_setup import load_vae

            models["vae"] = load_vae(options.vae, options.allow_download).to(options.device)
        _models.clear()  # one set of models per process
        _models[key] = models
    return _models[key]


def describe_models(options: PrepareOptions) -> dict[str, Any]:
    """What the manifest records about the models (a rerun must use the same ones)."""
    models = _load_models(options)
    record: dict[str, Any] = {"clip": models["clip"].identity, "vae": None}
    if "vae" in models:
        from .model_setup import vae_fingerprint

        vae = models["vae"]
        record |= {
            "vae": vae_fingerprint(vae),
            "latent_channels": int(vae.config.decoder_input_channels),
            "downsampling_ratio": int(vae.downsampling_ratio),
        }
    return record


# --- one video --------------------------------------------------------------------------------
def window_starts(usable: float, options: PrepareOptions) -> list[float]:
    starts, start = [], 0.0
    while start + options.min_seconds <= usable + 1e-9:
        starts.append(round(start, 6))
        start += options.hop
    return starts


def _music(pair: Pair) -> np.ndarray:
    """The music as (2, samples) float32 at 44.1 kHz (a sound file or the video's own track)."""
    from ..audio.io import load_audio

    audio = load_audio(pair.audio, SAMPLE_RATE)
    return np.ascontiguousarray(np.concatenate([audio, audio]) if audio.shape[0] == 1 else audio[:2])


def _audio_targets(segment: np.ndarray) -> dict[str, np.ndarray]:
    """Ground-truth rhythms of one window's music (the paper's targets, docs/features.md), from the features package."""
    from ..features import audio_rhythm

    return {
        "odf": audio_rhythm.odf_target(segment, SAMPLE_RATE)[:, None],
        "mel": audio_rhythm.low_res_mel(segment, SAMPLE_RATE),
        "tempo": audio_rhythm.low_res_tempogram(segment, SAMPLE_RATE),
    }


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    temporary = path.with_name(path.name + ".partial.npz")
    np.savez(temporary, **arrays)
    os.replace(temporary, path)


def prepare_video(pair: Pair, out_dir: Path, options: PrepareOptions) -> list[dict[str, Any]]:
    """Every window of one video; returns the manifest records (and leaves ``done.json``)."""
    import torch

    from ..features.extract import extract_features
    from ..features.settings import FeatureSettings

    models = _load_models(options)
    music = _music(pair)
    features = extract_features(pair.video, settings=FeatureSettings(rate=options.rate), clip=models["clip"])
    usable = min(features.duration, music.shape[1] / SAMPLE_RATE)
    if not window_starts(usable, options):
        raise InputError(f"{pair.video.name} and its music overlap for {usable:.1f} s, under the minimum window.")
    folder = out_dir / "windows" / pair.key
    folder.mkdir(parents=True, exist_ok=True)
    window_samples = round(options.window * SAMPLE_RATE)
    records = []
    for index, start in enumerate(window_starts(usable, options)):
        seconds = min(options.window, usable - start)
        first, rows = round(start * options.rate), math.ceil(seconds * options.rate - 1e-9)
        segment = music[:, round(start * SAMPLE_RATE) : round((start + seconds) * SAMPLE_RATE)]
        arrays: dict[str, np.ndarray] = {
            "clip": features.semantic[first : first + rows].astype(np.float32),
            "colour": features.colour_hist[first : first + rows].astype(np.float16),
            "scene_cut": features.scene_cut[first : first + rows].astype(np.uint8),
            "visual_beat": features.visual_beat[first : first + rows].astype(np.float32),
            "seconds": np.float32(seconds),
            **_audio_targets(segment),
        }
        padded = np.pad(segment, ((0, 0), (0, window_samples - segment.shape[1])))
        if "vae" in models:
            with torch.no_grad():
                mean, std = models["vae"].encode_moments(torch.from_numpy(padded)[None].to(options.device))
            arrays["latent_mean"] = mean[0].cpu().numpy().astype(np.float16)
            arrays["latent_std"] = std[0].cpu().numpy().astype(np.float16)
        if "vae" not in models or options.keep_audio:
            arrays["audio"] = np.round(np.clip(padded, -1.0, 1.0) * 32767.0).astype(np.int16)
        name = f"{index:04d}.npz"
        _save_npz(folder / name, arrays)
        records.append(
            {
                "id": f"{pair.key}/{index:04d}",
                "file": f"windows/{pair.key}/{name}",
                "video": str(pair.video),
                "audio": str(pair.audio),
                "start": start,
                "seconds": round(float(seconds), 6),
            }
        )
    (folder / DONE).write_text(json.dumps({"video": str(pair.video), "windows": records}, indent=1))
    return records


def _single_threaded() -> None:
    """Pool initialiser: parallelism comes from the worker processes, not from threads inside each."""
    import torch

    torch.set_num_threads(1)


def _worker(pair: Pair, out_dir: Path, options: PrepareOptions) -> tuple[Pair, list[dict[str, Any]], str | None]:
    try:
        return pair, prepare_video(pair, out_dir, options), None
    except Diffv2mError as exc:
        return pair, [], exc.message
    except Exception as exc:  # one bad file must not stop a night-long run: report it in the manifest
        return pair, [], f"{type(exc).__name__}: {exc}"


# --- the whole folder ---------------------------------------------------------------------------
def _check_settings(out_dir: Path, settings: dict[str, Any]) -> None:
    manifest = out_dir / MANIFEST
    if not manifest.is_file():
        return
    earlier = json.loads(manifest.read_text()).get("settings", {})
    changed = sorted(k for k in settings if k in earlier and earlier[k] != settings[k])
    if changed:
        raise InputError(
            f"{out_dir} was prepared with other settings ({', '.join(changed)}); use a new folder to change them."
        )


def prepare(
    data_dir: str | Path,
    out_dir: str | Path,
    options: PrepareOptions,
    workers: int = 1,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Prepare every pair under ``data_dir`` into ``out_dir``; returns the manifest."""
    options.check()
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    if not data_dir.is_dir():
        raise InputError(f"The data folder {data_dir} does not exist.")
    pairs, skipped = find_pairs(data_dir)
    if not pairs:
        raise InputError(f"No video with music found in {data_dir} (a same-name sound file or an audio track).")
    settings = {
        **{key: getattr(options, key) for key in ("window", "hop", "min_seconds", "rate", "keep_audio")},
        "max_length": round(options.window * options.rate),
        **describe_models(options),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    _check_settings(out_dir, settings)
    done = {
        p.key: json.loads((out_dir / "windows" / p.key / DONE).read_text())["windows"]
        for p in pairs
        if (out_dir / "windows" / p.key / DONE).is_file()
    }
    todo = [p for p in pairs if p.key not in done]
    failed: list[dict[str, str]] = []
    finished = len(done)

    def record(pair: Pair, records: list[dict[str, Any]], error: str | None) -> None:
        nonlocal finished
        finished += 1
        if error is None:
            done[pair.key] = records
        else:
            failed.append({"video": str(pair.video), "reason": error})
        if progress:
            progress(pair.video.name, finished, len(pairs))

    if workers <= 1 or len(todo) <= 1:
        for pair in todo:
            record(*_worker(pair, out_dir, options))
    else:
        import multiprocessing

        context = multiprocessing.get_context("spawn")  # no forked torch/OpenMP state in workers
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_single_threaded) as pool:
            futures = [pool.submit(_worker, pair, out_dir, options) for pair in todo]
            for future in as_completed(futures):
                record(*future.result())
    windows = [w for p in pairs if p.key in done for w in done[p.key]]
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "settings": settings,
        "windows": windows,
        "skipped": skipped + failed,
        "resumed": len(pairs) - len(todo),
    }
    temporary = out_dir / (MANIFEST + ".partial")
    temporary.write_text(json.dumps(manifest, indent=1))
    os.replace(temporary, out_dir / MANIFEST)
    return manifest
