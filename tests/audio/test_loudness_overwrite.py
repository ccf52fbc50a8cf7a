"""normalise_and_measure may work in its input's buffer only when asked (the composer's own mix)."""

from __future__ import annotations

import numpy as np

from diffv2m.audio.loudness import normalise_and_measure

SR = 44_100


def _mix() -> np.ndarray:
    rng = np.random.default_rng(3)
    t = np.arange(3 * SR) / SR
    tone = 0.4 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size) + 0.1  # with a DC offset
    return np.stack([tone, 0.8 * tone]).astype(np.float32)


def test_overwrite_gives_the_same_result_and_only_then_changes_the_input():
    kept = _mix()
    before = kept.copy()
    expected, lufs, peak = normalise_and_measure(kept, SR)
    assert np.array_equal(kept, before), "without overwrite the caller's audio is untouched"

    owned = _mix()
    result, lufs_owned, peak_owned = normalise_and_measure(owned, SR, overwrite=True)
    assert np.allclose(result, expected, atol=1e-7) and (lufs_owned, peak_owned) == (lufs, peak)
    assert abs(lufs + 14.0) < 0.2
    assert not np.array_equal(owned, before), "with overwrite the buffer itself is worked in (no copy)"
