"""One cached ``VideoFeatures`` per (file contents, range or segments, settings, CLIP model).

"Regenerate with another emotion" asks for the same picture again: a hit skips
decoding entirely. Entries are compressed ``.npz`` files (no pickle) written
atomically (a ``.tmp`` file named after the writing process, then renamed); the
oldest-used entries are removed when the folder grows past its cap, so after a
``put`` the folder never exceeds it. Eviction holds a file lock in the folder, so
a CLI run and a server sharing one cache never evict at once, and it removes the
``.tmp`` files of writers that were killed (they count towards the cap until then).

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
import logging
import os
import secrets
import time
from dataclasses import fields
from pathlib import Path

import numpy as np
from filelock import FileLock

from ..settings import Settings
from .types import VideoFeatures

log = logging.getLogger("diffv2m.cache")
FEATURES_VERSION = 2  # bump when an analysis changes, so old entries stop matching
_EDGE = 1 << 20
_BLOCK = 1 << 16
_BLOCKS = 16
_fingerprints: dict[tuple[str, int, int, int], str] = {}
_ORPHAN_AGE_S = 3600.0  # a .tmp whose writer cannot be told (no pid in its name) is an orphan after this


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
        temporary = self.directory / f".{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            with temporary.open("xb") as out:
                np.savez_compressed(out, __meta__=np.asarray(json.dumps(meta)), **arrays)
            os.replace(temporary, self._path(key))
        finally:
            temporary.unlink(missing_ok=True)
        self.evict()

    def evict(self) -> tuple[int, int]:
        """Remove orphan ``.tmp`` files, then least-recently-used entries down to the cap.

        Returns (orphans removed, entries removed). Holds the folder's lock throughout.
        """
        with FileLock(self.directory / ".evict.lock"):
            orphans = sum(_remove_if_orphan(path) for path in self.directory.glob("*.tmp"))
            entries = sorted(_stat_all(self.directory.glob("features-*.npz")), key=lambda item: item[1].st_mtime)
            pending = sum(info.st_size for _, info in _stat_all(self.directory.glob("*.tmp")))
            total = pending + sum(info.st_size for _, info in entries)
            removed = 0
            for entry, info in entries:  # oldest first; the newest too if it alone is over the cap
                if total <= self.cap_bytes:
                    break
                entry.unlink(missing_ok=True)
                total -= info.st_size
                removed += 1
        if orphans:
            log.info("feature cache: removed %d orphan .tmp file(s) of killed writers", orphans)
        return orphans, removed


def _stat_all(paths: object) -> list[tuple[Path, os.stat_result]]:
    found = []
    for path in paths:  # type: ignore[attr-defined]
        try:
            found.append((path, path.stat()))
        except FileNotFoundError:
            continue  # removed by another process meanwhile
    return found


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_if_orphan(path: Path) -> bool:
    """A ``.<pid>.<random>.tmp`` of a dead process, or any other ``.tmp`` older than an hour."""
    pid = path.name.split(".")[1] if path.name.startswith(".") else ""
    try:
        if pid.isdigit():
            orphan = int(pid) != os.getpid() and not _pid_alive(int(pid))
        else:
            orphan = time.time() - path.stat().st_mtime > _ORPHAN_AGE_S
        if orphan:
            path.unlink()
    except FileNotFoundError:
        return False
    return orphan
