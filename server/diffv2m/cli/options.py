"""Flags shared by ``serve`` and ``generate``: each one overrides its ``DIFFV2M_*`` variable."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..model.choices import EMOTION_SOURCES, SAMPLER_NAMES
from ..settings import Settings


def add_model_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("models and cache (default: the DIFFV2M_* environment variables)")
    group.add_argument("--weights", help="Diff-V2M weights: a local folder/checkpoint or a hub id (DIFFV2M_WEIGHTS)")
    group.add_argument("--clip", help="CLIP ViT-B/32 image encoder: a local folder or hub id (DIFFV2M_CLIP)")
    group.add_argument("--device", help="cpu, cuda, cuda:1, mps or auto (DIFFV2M_DEVICE)")
    group.add_argument(
        "--allow-download", action="store_true", default=None, help="let hub ids download (DIFFV2M_ALLOW_DOWNLOAD=1)"
    )
    group.add_argument(
        "--use-ema", action="store_true", default=None, help="EMA DiT weights, not the online ones (DIFFV2M_USE_EMA=1)"
    )
    group.add_argument(
        "--sampler", choices=SAMPLER_NAMES, help="Diff-V2M sampler: dpmpp-2m (default) or ddim (DIFFV2M_SAMPLER)"
    )
    group.add_argument(
        "--emotion-source",
        choices=EMOTION_SOURCES,
        help="override the weights' level-1 cross-attention input (DIFFV2M_EMOTION_SOURCE; docs/model.md)",
    )
    group.add_argument(
        "--precision", help="the DiT's precision: auto, bf16, bf16-fp32-residual, fp16 or fp32 (DIFFV2M_PRECISION)"
    )
    group.add_argument(
        "--compile",
        help="torch.compile of the DiT: auto (CUDA graphs on CUDA, eager elsewhere), off, or a torch.compile mode "
        "(DIFFV2M_COMPILE)",
    )
    group.add_argument("--compile-backend", help="torch.compile backend: inductor (DIFFV2M_COMPILE_BACKEND)")
    group.add_argument(
        "--window-batch",
        type=int,
        help="long ranges: 0 = windows continue one another, N = denoised together, N per forward "
        "(DIFFV2M_WINDOW_BATCH)",
    )
    group.add_argument("--sound-bank", help="the composer's General-MIDI sf2/sf3 bank, or 'numpy' (DIFFV2M_SOUND_BANK)")
    group.add_argument("--cache-dir", type=Path, help="features and job results (DIFFV2M_CACHE_DIR)")
    group.add_argument(
        "--cache-cap-mb", type=float, help="size cap of each cache: job results, video features (DIFFV2M_CACHE_CAP_MB)"
    )


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Environment defaults, then every flag the user actually gave."""
    settings = Settings()
    for flag, attribute in (
        ("weights", "weights"),
        ("clip", "clip"),
        ("device", "device"),
        ("allow_download", "allow_download"),
        ("use_ema", "use_ema"),
        ("sampler", "sampler"),
        ("emotion_source", "emotion_source"),
        ("precision", "precision"),
        ("compile", "compile_mode"),
        ("compile_backend", "compile_backend"),
        ("window_batch", "window_batch"),
        ("sound_bank", "sound_bank"),
        ("cache_dir", "cache_dir"),
        ("cache_cap_mb", "cache_cap_mb"),
        ("host", "host"),
        ("port", "port"),
        ("token", "token"),
        ("max_upload_mb", "max_upload_mb"),
        ("max_queue", "max_queue"),
    ):
        value = getattr(args, flag, None)
        if value is not None:
            setattr(settings, attribute, value)
    roots = getattr(args, "allowed_root", None)
    if roots:
        settings.allowed_roots = [Path(r).expanduser() for r in roots]
    if getattr(args, "allow_browser_paths", False):
        settings.allow_browser_paths = True
    settings.cache_dir = Path(settings.cache_dir).expanduser()
    settings.check()
    return settings
