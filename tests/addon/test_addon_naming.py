"""Names the add-on creates: beat markers, strip names, WAV files that never overwrite anything."""

from __future__ import annotations

import threading

from diffv2m_score.naming import beat_markers, claim_unique_file, is_marker_name, strip_name, wav_stem


def test_bar_starts_and_beats_are_told_apart():
    beats = [0.2, 0.7, 1.2, 1.7, 2.2, 2.7, 3.2]
    downbeats = [0.7, 2.71]  # one beat of pickup; trackers round the two lists differently
    markers = beat_markers(beats, downbeats)
    assert [m.name for m in markers] == ["♪0.1", "♪1", "♪1.2", "♪1.3", "♪1.4", "♪2", "♪2.2"]
    assert [m.is_bar_start for m in markers] == [False, True, False, False, False, True, False]
    assert [m.seconds for m in markers] == beats
    assert all(is_marker_name(m.name) for m in markers)


def test_bars_only():
    markers = beat_markers([0.0, 0.5, 1.0, 1.5, 2.0], [0.0, 2.0], bars_only=True)
    assert [(m.name, m.seconds) for m in markers] == [("♪1", 0.0), ("♪2", 2.0)]


def test_a_downbeat_missing_from_the_beats_still_counts_a_bar():
    markers = beat_markers([0.0, 0.5, 2.5], [0.0, 2.0, 2.5])
    assert [m.name for m in markers] == ["♪1", "♪1.2", "♪3"]


def test_user_marker_names_are_not_ours():
    for name in ("F_12", "intro", "♪ beat", "♪1a", "1.2", "♪"):
        assert not is_marker_name(name)


def test_strip_name_says_emotion_seed_engine_and_fits_blender():
    assert strip_name("tense", 7, "default") == "♪ Score tense s7 default"
    long = strip_name("é" * 40, 123456789, "diffv2m")
    assert len(long.encode()) <= 63 and long.startswith("♪ Score")


def test_claimed_files_never_overwrite(tmp_path):
    stem = wav_stem("calm", 3, "default")
    assert stem == "score_calm_s3_default"
    (tmp_path / f"{stem}.wav").write_bytes(b"the user's take")
    path = claim_unique_file(str(tmp_path), stem)
    assert path.endswith(f"{stem}_2.wav")
    assert (tmp_path / f"{stem}.wav").read_bytes() == b"the user's take"
    assert wav_stem("a/b c", 1, "x:y") == "score_a-b-c_s1_x-y"


def test_concurrent_claims_get_distinct_files(tmp_path):
    paths: list[str] = []
    lock = threading.Lock()

    def claim() -> None:
        path = claim_unique_file(str(tmp_path / "scores"), "score_x")
        with lock:
            paths.append(path)

    threads = [threading.Thread(target=claim) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(paths)) == 16
