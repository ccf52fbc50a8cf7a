"""``GET /jobs/{id}/midi`` and ``sound_bank`` in the job's result, over real HTTP to the real server."""

from __future__ import annotations

import io

import mido

from diffv2m.engines.composer.soundfont import NUMPY_BANK_NAME, renderer_available


def test_job_result_names_its_bank_and_serves_midi_per_take(server, short_clip):
    response = server.submit(short_clip, start=0, end=2.5, emotion="epic", seed=12, takes=2)
    assert response.status_code == 202, response.text
    view, _ = server.wait(response.json()["id"])
    assert view["state"] == "done", view["message"]
    result = view["result"]
    bank = result["sound_bank"]
    assert bank["licence"] and (bank["name"] != NUMPY_BANK_NAME) == renderer_available()
    songs = []
    for index, take in enumerate(result["takes"]):
        assert take["midi"] == f"/jobs/{view['id']}/midi?take={index}"
        reply = server.http.get(f"{server.url}{take['midi']}", timeout=60)
        assert reply.status_code == 200, reply.text
        assert reply.headers["content-type"] == "audio/midi"
        song = mido.MidiFile(file=io.BytesIO(reply.content))
        assert song.type == 1 and len(song.tracks) >= 3
        assert 2.0 <= song.length <= 2.5 + 3.0  # the range, plus at most the last note's release
        songs.append(reply.content)
    assert songs[0] != songs[1], "two takes, two scores"
    missing = server.http.get(f"{server.url}/jobs/{view['id']}/midi?take=2", timeout=60)
    assert missing.status_code == 404 and "take 2 does not exist" in missing.json()["detail"]
