"""Where things are and what is allowed: one object, filled from the environment.

Every setting has a ``DIFFV2M_*`` environment variable and a CLI flag of the same
name (``diffv2m serve --weights ...``). Nothing here downloads anything: a hub id
is only fetched when ``allow_download`` is true (``DIFFV2M_ALLOW_DOWNLOAD=1``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError

MAX_WINDOW_BATCH = 256  # windows per forward: more than the 180 windows of the longest job (3600 s)


class SettingsError(InputError):
    """A setting (environment variable or flag) has a value that cannot be used: one line, exit 1."""


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "diffv2m"


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else None


def _env_paths(name: str) -> list[Path]:
    return [Path(p).expanduser() for p in os.environ.get(name, "").split(os.pathsep) if p]


def _env_number(name: str, default: str, kind: type[int] | type[float]) -> float:
    raw = os.environ.get(name, default)
    try:
        return kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise SettingsError(f"{name} must be {what}, not '{raw[:40]}'.") from None


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass
class Settings:
    # Diff-V2M weights: a folder saved by this project (save_pretrained), a folder or
    # file with the official model_odf.ckpt + model_config_odf.json, or a hub repo id.
    weights: str | None = field(default_factory=lambda: os.environ.get("DIFFV2M_WEIGHTS") or None)
    # CLIP ViT-B/32 image encoder: a local folder or a hub id (openai/clip-vit-base-patch32).
    clip: str | None = field(default_factory=lambda: os.environ.get("DIFFV2M_CLIP") or None)
    allow_download: bool = field(default_factory=lambda: _env_flag("DIFFV2M_ALLOW_DOWNLOAD"))
    use_ema: bool = field(default_factory=lambda: _env_flag("DIFFV2M_USE_EMA"))
    # How the Diff-V2M engine samples: dpmpp-2m (50 steps by default) or the released ddim (250).
    sampler: str = field(default_factory=lambda: os.environ.get("DIFFV2M_SAMPLER") or "dpmpp-2m")
    # Override the weights' level-1 ("emotion") wiring: released | colour | none (None: as trained).
    emotion_source: str | None = field(default_factory=lambda: os.environ.get("DIFFV2M_EMOTION_SOURCE") or None)
    # The DiT's precision (model/acceleration.py PRECISIONS): bf16, bf16-fp32-residual, fp16, fp32; None: bf16 on
    # CUDA, fp32 elsewhere. FP8 is refused with a sentence.
    precision: str | None = field(default_factory=lambda: os.environ.get("DIFFV2M_PRECISION") or None)
    # torch.compile of the DiT (model/compiled.py): auto = reduce-overhead (CUDA graphs) on CUDA, eager elsewhere;
    # off; or a torch.compile mode, used on any device. Its cache lives in cache_dir/compile.
    compile_mode: str = field(default_factory=lambda: os.environ.get("DIFFV2M_COMPILE") or "auto")
    # The torch.compile backend (a name torch._dynamo knows): inductor unless testing the path.
    compile_backend: str = field(default_factory=lambda: os.environ.get("DIFFV2M_COMPILE_BACKEND") or "inductor")
    # Long ranges: 0 = each window continues the previous one; N = all windows denoised together, N per
    # forward (docs/model.md, "Any duration").
    window_batch: int = field(default_factory=lambda: int(_env_number("DIFFV2M_WINDOW_BATCH", "0", int)))
    device: str = field(default_factory=lambda: os.environ.get("DIFFV2M_DEVICE", "auto"))
    # The composer's General-MIDI bank (sf2/sf3), or "numpy" for its numpy synthesis; None: look one up
    # (engines/composer/soundfont.py: MuseScore General, FluidR3_GM, then pretty_midi's TimGM6mb).
    sound_bank: str | None = field(default_factory=lambda: os.environ.get("DIFFV2M_SOUND_BANK") or None)

    cache_dir: Path = field(default_factory=lambda: _env_path("DIFFV2M_CACHE_DIR") or _default_cache_dir())
    cache_cap_mb: float = field(default_factory=lambda: _env_number("DIFFV2M_CACHE_CAP_MB", "2048", float))

    host: str = field(default_factory=lambda: os.environ.get("DIFFV2M_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: int(_env_number("DIFFV2M_PORT", "8767", int)))
    token: str | None = field(default_factory=lambda: os.environ.get("DIFFV2M_TOKEN") or None)
    max_upload_mb: float = field(default_factory=lambda: _env_number("DIFFV2M_MAX_UPLOAD_MB", "2048", float))
    # Local-path jobs may only name files under these folders (empty: any readable file).
    allowed_roots: list[Path] = field(default_factory=lambda: _env_paths("DIFFV2M_ALLOWED_ROOTS"))
    # Let requests a web browser sent name local files (off: a web page must never make the server open paths).
    allow_browser_paths: bool = field(default_factory=lambda: _env_flag("DIFFV2M_ALLOW_BROWSER_PATHS"))
    # Jobs waiting beyond this many are refused with 503 (the queue is never silently dropped).
    max_queue: int = field(default_factory=lambda: int(_env_number("DIFFV2M_MAX_QUEUE", "64", int)))

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """One line naming the setting and what it allows, for the values a server or job cannot use."""
        if not 1 <= self.port <= 65535:
            raise SettingsError(f"The port (--port, DIFFV2M_PORT) must be from 1 to 65535, not {self.port}.")
        for name, value in (("max upload MB", self.max_upload_mb), ("cache cap MB", self.cache_cap_mb)):
            if not value > 0 or value == float("inf"):
                raise SettingsError(f"The {name} must be a positive number, not {value}.")
        if not 0 <= self.window_batch <= MAX_WINDOW_BATCH:
            raise SettingsError(
                f"The window batch (--window-batch, DIFFV2M_WINDOW_BATCH) must be from 0 to {MAX_WINDOW_BATCH}, "
                f"not {self.window_batch}."
            )
        if self.max_queue < 1:
            raise SettingsError(
                f"The queue size (--max-queue, DIFFV2M_MAX_QUEUE) must be 1 or more, not {self.max_queue}."
            )

    def resolved_device(self) -> str:
        if self.device != "auto":
            return self.device
        import torch

        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
