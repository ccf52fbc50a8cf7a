"""Which engine makes a score, and keeping each one loaded.

``auto`` means Diff-V2M when weights are configured and the embedded composer
otherwise. Engines are built on first use and kept for the life of the process
(loading Diff-V2M's weights takes seconds to minutes; a job must not pay it).
The server builds the one ``auto`` picks in its job worker thread at start, then
warms it up (compiles the DiT: ``DiffV2MEngine.warm_up``); jobs that arrive
meanwhile wait in the queue. ``describe`` answers ``/health`` without loading
anything, and without waiting: the Diff-V2M engine's ``state`` is ``loading``,
then ``warming``, then ``ready``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from ..errors import InputError, WeightsError
from ..model.io.sources import is_hub_id
from ..settings import Settings
from .base import Engine

DEFAULT = "default"
DIFFV2M = "diffv2m"
NAMES = (DEFAULT, DIFFV2M)


class EngineRegistry:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engines: dict[str, Engine] = {}
        self._loading: str | None = None  # the engine being built (for /health)
        self._lock = threading.Lock()

    def resolve(self, name: str) -> str:
        """``auto`` -> a concrete engine name; checks that it can run."""
        key = (name or "auto").strip().lower()
        if key == "auto":
            key = DIFFV2M if self.settings.weights else DEFAULT
        if key not in NAMES:
            raise InputError(f"Unknown engine '{name}'. Choose one of: auto, {', '.join(NAMES)}.")
        if key == DIFFV2M:
            reason = self.unavailable_reason()
            if reason:
                raise WeightsError(f"The Diff-V2M engine cannot run: {reason}.")
        return key

    def get(self, name: str) -> Engine:
        """The engine for ``name`` (``auto`` allowed), built once and reused."""
        key = self.resolve(name)
        with self._lock:
            engine = self._engines.get(key)
            if engine is None:
                self._loading = key
                try:
                    engine = self._build(key)
                finally:
                    self._loading = None
                self._engines[key] = engine  # /health describes it from here on, "warming" until warm_up is done
                warm_up = getattr(engine, "warm_up", None)  # the composer has nothing to warm
                if warm_up is not None:
                    warm_up()
            return engine

    def _build(self, key: str) -> Engine:
        if key == DEFAULT:
            from .composer import ComposerEngine

            return ComposerEngine(self.settings.sound_bank)
        from .diffv2m_engine import DiffV2MEngine

        return DiffV2MEngine.from_settings(self.settings)

    def clip_for(self, name: str) -> Any:
        """The CLIP image encoder an engine's features need (None: semantic features are skipped)."""
        key = self.resolve(name)
        if key == DEFAULT:
            return None  # the composer listens to rhythm, cuts and colour only
        return getattr(self.get(key), "clip", None)

    def unavailable_reason(self) -> str | None:
        """Why Diff-V2M cannot run, or None. Checks files only, loads nothing."""
        weights = self.settings.weights
        if not weights:
            return "no weights configured (set DIFFV2M_WEIGHTS or --weights)"
        path = Path(weights).expanduser()
        if is_hub_id(weights):
            if not self.settings.allow_download:
                return f"weights '{weights}' are not a local folder and downloads are off (DIFFV2M_ALLOW_DOWNLOAD=1)"
            return None
        if not path.exists():
            return f"the weights path {path} does not exist"
        return None

    def loaded(self) -> list[str]:
        with self._lock:
            return sorted(self._engines)

    def describe(self) -> dict[str, Any]:
        """Static facts for ``/health``: what is available and with which weights."""
        engines: dict[str, dict[str, Any]] = {
            DEFAULT: {"available": True, "weights": "none (embedded composer)", "loaded": DEFAULT in self._engines},
        }
        reason = self.unavailable_reason()
        diff: dict[str, Any] = {"available": reason is None, "weights": self.settings.weights}
        diff["loaded"] = DIFFV2M in self._engines
        if self._loading == DIFFV2M:
            diff["state"] = "loading"
        if reason:
            diff["reason"] = reason
        engines[DIFFV2M] = diff
        # A snapshot, not the lock: get() holds it for a whole engine load, and /health must not wait on that.
        for key, engine in dict(self._engines).items():
            try:
                engines[key].update(engine.describe())
            except Exception as exc:  # a describe() bug must not take /health down
                engines[key]["describe_error"] = str(exc)
        return {"default_engine": DIFFV2M if self.settings.weights else DEFAULT, "engines": engines}

    def warm(self, name: str = "auto") -> None:
        """Load an engine ahead of the first job (the server does this in the background)."""
        try:
            self.get(name)
        except WeightsError:
            pass  # reported per job and in /health
