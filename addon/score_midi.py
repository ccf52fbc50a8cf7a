"""Saving a placed score's MIDI beside its WAV (no bpy here: the Save MIDI operator calls it).

The server renders the notes it composed as a standard MIDI file (``GET /jobs/{id}/midi``,
docs/api.md); it is written to a new name beside the WAV (``score.mid``, ``score_2.mid``, ...),
so nothing the user already has is replaced, and a failed download leaves no file behind.
"""

from __future__ import annotations

import os

from . import naming
from .client import Client


def save_midi_beside(client: Client, job_id: str, wav_path: str, take: int = 0) -> str:
    """Download the job's MIDI to a new file next to ``wav_path``; returns its path.

    Raises the client's ServerError / ServerUnreachable, or OSError, with no file left.
    """
    folder, name = os.path.split(os.path.abspath(wav_path))
    path = naming.claim_unique_file(folder, os.path.splitext(name)[0], ".mid")
    try:
        client.download_midi(job_id, path, take)
    except BaseException:
        os.remove(path)
        raise
    return path
