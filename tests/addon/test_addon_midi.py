"""Save MIDI (the add-on's score_midi module, which the operator calls) against the real server."""

from __future__ import annotations

import time
from fractions import Fraction

import mido
import pytest
from diffv2m_score.client import Client, ServerError
from diffv2m_score.jobs import ScoreJob, ScoreRequest
from diffv2m_score.score_midi import save_midi_beside

from diffv2m.benchmark.videos import ClipSpec


@pytest.fixture(scope="module")
def placed_score(score_server, clip_factory, tmp_path_factory):
    """A finished default-engine score, as the add-on leaves it: (job id, WAV path)."""
    clip = clip_factory(ClipSpec(3.0, Fraction(25), 160, 120, cut_times=[1.5], seed=8), "midi-clip")
    segment = {"path": str(clip.path), "source_start": 0.0, "source_end": 3.0, "timeline_start": 0.0, "speed": 1.0}
    out = tmp_path_factory.mktemp("midi-scores")
    request = ScoreRequest(
        server_url=score_server,
        token="",
        segments=[segment],
        upload=[],
        duration=3.0,
        emotion="happy",
        seed=2,
        engine="default",
        output_dir=str(out),
    )
    job = ScoreJob(request).start()
    deadline = time.monotonic() + 240
    while True:
        message = job.messages.get(timeout=max(0.1, deadline - time.monotonic()))
        if not hasattr(message, "fraction"):
            break
    assert message.error is None and message.result is not None, message.error
    return message.result.job_id, message.result.wav_path


def test_save_midi_writes_new_files_beside_the_wav(score_server, placed_score):
    job_id, wav = placed_score
    wav_bytes = open(wav, "rb").read()
    first = save_midi_beside(Client(score_server), job_id, wav)
    second = save_midi_beside(Client(score_server), job_id, wav)
    stem = wav[: -len(".wav")]
    assert (first, second) == (stem + ".mid", stem + "_2.mid"), "a second save must not overwrite the first"
    assert open(wav, "rb").read() == wav_bytes
    song = mido.MidiFile(first)
    assert song.type == 1 and len(song.tracks) >= 3
    assert 2.5 <= song.length <= 3.0 + 3.0  # the range, plus at most the last note's release
    assert open(first, "rb").read() == open(second, "rb").read()
    names = {m.name for t in song.tracks for m in t if m.type == "track_name"}
    assert "drums" in names or "bass" in names, names


def test_a_failed_save_leaves_no_file(score_server, placed_score, tmp_path):
    wav = tmp_path / "score.wav"
    wav.write_bytes(b"RIFF")
    with pytest.raises(ServerError, match="no-such-job"):
        save_midi_beside(Client(score_server), "no-such-job", str(wav))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["score.wav"]
