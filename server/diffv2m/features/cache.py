"""One cached ``VideoFeatures`` per (file contents, range or segments, settings, CLIP model).

"Regenerate with another emotion" asks for the same picture again: a hit skips
decoding entirely. Entries are compressed ``.npz`` files (no pickle) written
atomically; the oldest-used entries are removed when the folder grows past its cap.

File contents are identified by ``content_fingerprint``: SHA-256 over the size,
the first and last MiB and 16 evenly spaced 64-KiB blocks in between. Reading
~3 MiB is instant even for hour-long files, and any re-encode, trim or re-mux
changes the size, the header (moov/ftyp) or the sampled data. An edit that keeps
the size and touches only unsampled bytes would go unnoticed; for camera and
editor output that does not happen. Path and modification time are not part of
it, so copies of one file share their entries and a replaced file never matches.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import fields
from pathlib import Path

import numpy as np

from ..settings import Settings
from .types import VideoFeatures

FEATURES_VERSION = 2  # bump when an analysis changes, so old entries stop matching
_EDGE = 1 << 20
_BLOCK = 1 << 16
_BLOCKS = 16
_fingerprints: dict[tuple[str, int, int, int], str] = {}


def content_fingerprint(path: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) of a file's size, head, tail and sampled middle (see module docs)."""
    path = Path(path)
    stat = path.stat()
    memo_key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino)
    if memo_key in _fingerprints:
        return _fingerprints[memo_key]
    digest = hashlib.sha256(str(stat.st_size).encode())
    with path.open("rb") as handle:
        if stat.st_size <= 2 * _EDGE + _BLOCKS * _BLOCK:
            digest.update(handle.read())
        else:
            digest.update(handle.read(_EDGE))
            span = stat.st_size - 2 * _EDGE - _BLOCK
            for index in range(_BLOCKS):
                handle.seek(_EDGE + span * index // (_BLOCKS - 1))
                digest.update(handle.read(_BLOCK))
            handle.seek(stat.st_size - _EDGE)
            digest.update(handle.read(_EDGE))
    _fingerprints[memo_key] = digest.hexdigest()
    return _fingerprints[memo_key]


def cache_key(parts: dict[str, object]) -> str:
    """Hex key of a JSON-able description (files by fingerprint, ranges, settings, model)."""
    text = json.dumps({"version": FEATURES_VERSION, **parts}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class FeatureCache:
    def __init__(self, directory: str | os.PathLike[str], cap_mb: float = 2048.0) -> None:
        self.directory = Path(directory).expanduser()
        self.cap_bytes = int(cap_mb * 1024 * 1024)

    @classmethod
    def from_settings(cls, settings: Settings) -> FeatureCache:
        """The cache in ``<cache_dir>/features``, capped at ``cache_cap_mb``."""
        return cls(Path(settings.cache_dir) / "features", settings.cache_cap_mb)

    def _path(self, key: str) -> Path:
        return self.directory / f"features-{key}.npz"

    def get(self, key: str) -> VideoFeatures | None:
        path = self._path(key)
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["__meta__"]))
                arrays = {name: data[name] for name in data.files if name != "__meta__"}
        except (OSError, ValueError, KeyError, json.JSONDecodeError):
            return None  # absent, or damaged (then it is simply recomputed and rewritten)
        os.utime(path)  # most recently used: evicted last
        if "semantic" not in arrays:
            arrays["semantic"] = None
        return VideoFeatures(**meta, **arrays)

    def put(self, key: str, features: VideoFeatures) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        meta, arrays = {}, {}
        for field in fields(VideoFeatures):
            value = getattr(features, field.name)
            if isinstance(value, np.ndarray):
                arrays[field.name] = value
            elif value is not None:
                meta[field.name] = value
        handle, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                np.savez_compressed(out, __meta__=np.asarray(json.dumps(meta)), **arrays)
            os.replace(temporary, self._path(key))
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
        self._evict()

    def _evict(self) -> None:
        entries = sorted(self.directory.glob("features-*.npz"), key=lambda p: p.stat().st_mtime)
        total = sum(p.stat().st_size for p in entries)
        for entry in entries[:-1]:  # never the newest
            if total <= self.cap_bytes:
                break
            total -= entry.stat().st_size
            entry.unlink(missing_ok=True)
