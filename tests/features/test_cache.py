"""The feature cache: a hit never opens the video; anything that changes the answer misses."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import threading

import av
import numpy as np
import pytest

from diffv2m.features.cache import FeatureCache, content_fingerprint
from diffv2m.features.extract import extract_features
from diffv2m.features.segments import Segment
from diffv2m.features.semantic import tiny_clip_encoder
from diffv2m.features.settings import FeatureSettings
from diffv2m.features.types import VideoFeatures
from diffv2m.settings import Settings

NO_CLIP = FeatureSettings(semantic=False)


@pytest.fixture
def no_decoding(monkeypatch):
    """Any attempt to open a media file fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"the video was opened: {args[:1]}")

    monkeypatch.setattr(av, "open", refuse)


def _same(a: VideoFeatures, b: VideoFeatures) -> None:
    for field in dataclasses.fields(VideoFeatures):
        left, right = getattr(a, field.name), getattr(b, field.name)
        if isinstance(left, np.ndarray):
            assert left.dtype == right.dtype and left.shape == right.shape, field.name
            np.testing.assert_array_equal(left, right, err_msg=field.name)
        else:
            assert left == right, field.name


def test_hit_returns_the_same_features_without_opening_the_video(make_clip, tmp_path, request):
    truth = make_clip("flash", "25")
    cache = FeatureCache(tmp_path / "cache")
    clip = tiny_clip_encoder()
    first = extract_features(truth.path, 1.0, 5.0, clip=clip, cache=cache)
    assert len(list((tmp_path / "cache").glob("features-*.npz"))) == 1

    request.getfixturevalue("no_decoding")
    calls = []
    again = extract_features(truth.path, 1.0, 5.0, clip=clip, cache=cache, progress=lambda *a: calls.append(a))
    _same(first, again)
    assert calls[-1] == ("decoding video", 1.0)
    # A copy of the file elsewhere is the same content: still a hit.
    copy = tmp_path / "copy.mp4"
    shutil.copy(truth.path, copy)
    _same(first, extract_features(copy, 1.0, 5.0, clip=clip, cache=cache))


def test_timeline_without_semantic_round_trips(make_clip, tmp_path, request):
    truth = make_clip("flash", "25")
    cache = FeatureCache(tmp_path / "cache")
    segments = [Segment(truth.path, 0.0, 2.0), Segment(truth.path, 3.0, 4.0, timeline_start=2.5)]
    first = extract_features(segments, settings=NO_CLIP, cache=cache)
    assert first.semantic is None
    request.getfixturevalue("no_decoding")
    _same(first, extract_features(segments, settings=NO_CLIP, cache=cache))


def test_what_changes_the_answer_misses(make_clip, tmp_path, monkeypatch):
    truth = make_clip("flash", "25")
    cache = FeatureCache(tmp_path / "cache")
    extract_features(truth.path, 0.0, 4.0, settings=NO_CLIP, cache=cache)
    opened = []
    real_open = av.open
    monkeypatch.setattr(av, "open", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k))

    extract_features(truth.path, 0.0, 4.0, settings=NO_CLIP, cache=cache)
    assert opened == []
    extract_features(truth.path, 0.0, 3.0, settings=NO_CLIP, cache=cache)  # another range
    assert opened
    opened.clear()
    extract_features(truth.path, 0.0, 4.0, settings=FeatureSettings(semantic=False, rate=2.0), cache=cache)
    assert opened
    opened.clear()
    # Same size, one byte changed in the middle of the file: different content.
    edited = tmp_path / "edited.mp4"
    data = bytearray(truth.path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    edited.write_bytes(bytes(data))
    assert content_fingerprint(edited) != content_fingerprint(truth.path)
    extract_features(edited, 0.0, 4.0, settings=NO_CLIP, cache=cache)
    assert opened


def test_fingerprint_samples_large_files(tmp_path):
    big = tmp_path / "big.bin"
    rng = np.random.default_rng(0)
    big.write_bytes(rng.integers(0, 256, 8 << 20, dtype=np.uint8).tobytes())
    before = content_fingerprint(big)
    data = bytearray(big.read_bytes())
    data[-10] ^= 1  # the tail is always read
    big.write_bytes(bytes(data))
    assert content_fingerprint(big) != before


def _entries(folder):
    return sorted(folder.glob("features-*.npz"))


def test_cache_cap_evicts_the_least_recently_used(make_clip, tmp_path):
    truth = make_clip("flash", "25")
    probe = FeatureCache(tmp_path / "probe")
    extract_features(truth.path, 0.0, 2.0, settings=NO_CLIP, cache=probe)
    one_entry = _entries(tmp_path / "probe")[0].stat().st_size
    cache = FeatureCache(tmp_path / "cache", cap_mb=1.5 * one_entry / 2**20)  # room for one entry only
    extract_features(truth.path, 0.0, 2.0, settings=NO_CLIP, cache=cache)
    first = _entries(tmp_path / "cache")
    extract_features(truth.path, 2.0, 4.0, settings=NO_CLIP, cache=cache)
    kept = _entries(tmp_path / "cache")
    assert len(kept) == 1 and kept != first  # the older one went
    assert FeatureCache.from_settings(Settings(cache_dir=tmp_path / "app")).directory == tmp_path / "app" / "features"


def test_cap_is_never_exceeded_even_by_the_newest_entry(make_clip, tmp_path):
    """Fails on main: the newest entry was always kept, so the folder overshot its cap by one entry."""
    truth = make_clip("flash", "25")
    cache = FeatureCache(tmp_path / "cache", cap_mb=0.0)
    extract_features(truth.path, 0.0, 2.0, settings=NO_CLIP, cache=cache)
    assert sum(p.stat().st_size for p in (tmp_path / "cache").iterdir() if p.suffix != ".lock") == 0


def test_orphan_tmp_files_are_removed_and_counted(make_clip, tmp_path):
    """Fails on main: a writer killed mid-put left a .tmp that eviction never looked at."""
    folder = tmp_path / "cache"
    folder.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    orphan = folder / f".{int(dead.stdout)}.abcd1234.tmp"
    orphan.write_bytes(b"x" * 4096)
    live = folder / f".{os.getpid()}.beef0000.tmp"  # this process is still writing it
    live.write_bytes(b"y")
    cache = FeatureCache(folder, cap_mb=100)
    assert cache.evict() == (1, 0)
    assert not orphan.exists() and live.exists()


def test_eviction_waits_for_the_lock_another_process_holds(make_clip, tmp_path):
    """Fails on main: the CLI and the server evicted one shared folder without any lock."""
    truth = make_clip("flash", "25")
    folder = tmp_path / "cache"
    cache = FeatureCache(folder, cap_mb=100)
    extract_features(truth.path, 0.0, 2.0, settings=NO_CLIP, cache=cache)
    cache.cap_bytes = 0
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(folder / ".evict.lock")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    evicting = threading.Thread(target=cache.evict)
    evicting.start()
    evicting.join(1.0)
    assert evicting.is_alive() and len(_entries(folder)) == 1  # blocked: nothing removed under the other's lock
    holder.communicate("release\n")
    evicting.join(30)
    assert not evicting.is_alive() and _entries(folder) == []


HOLD_LOCK = """
import sys
from filelock import FileLock
with FileLock(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.readline()
"""
