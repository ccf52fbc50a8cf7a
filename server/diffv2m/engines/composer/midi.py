"""The score as a Standard MIDI File (type 1), for taking the cue into a DAW.

Track 0 is the conductor: a tempo change on every beat of the composer's grid
(so the DAW's bars and beats sit exactly on the music the WAV plays), 4/4, and
a marker at every cut of the picture. Then one track per part, named after it,
on its own channel with the take's GM programs (orchestration.py); drums on
channel 10 with the GM percussion key map. Times are seconds from the range
start, like every other time in a result.
"""

from __future__ import annotations

import io

import mido
import numpy as np

from .orchestration import DRUM_KEYS, MIDI_CHANNELS, RISER_PROGRAM, TAIKO, Orchestra
from .timeline import Note

PPQ = 960  # ticks per quarter note
PART_ORDER = ("drums", "bass", "bed", "harmony", "melody", "stabs", "fx")


class TickMap:
    """Seconds <-> ticks through the beat grid: beat k sits at tick offset + k * PPQ."""

    def __init__(self, beats: np.ndarray, duration: float) -> None:
        beats = np.unique(np.asarray(beats, np.float64))
        beats = beats[(beats >= 0) & (beats <= duration)]
        if beats.size < 2:
            beats = np.array([0.0, 0.5]) if beats.size == 0 else np.array([beats[0], beats[0] + 0.5])
        first, last = beats[1] - beats[0], beats[-1] - beats[-2]
        self.offset = round(beats[0] / first * PPQ)
        self.times = beats
        self.ticks = self.offset + PPQ * np.arange(beats.size)
        self.first, self.last = first, last

    def tick(self, seconds: float) -> int:
        if seconds <= self.times[0]:
            return max(0, round(self.offset + (seconds - self.times[0]) / self.first * PPQ))
        if seconds >= self.times[-1]:
            return round(self.ticks[-1] + (seconds - self.times[-1]) / self.last * PPQ)
        return round(float(np.interp(seconds, self.times, self.ticks)))

    def tempo_events(self) -> list[tuple[int, mido.MetaMessage]]:
        periods = np.append(np.diff(self.times), self.last)
        events = [(0, mido.MetaMessage("set_tempo", tempo=round(self.first * 1e6)))]
        events += [
            (int(tick), mido.MetaMessage("set_tempo", tempo=round(period * 1e6)))
            for tick, period in zip(self.ticks, periods, strict=True)
        ]
        return events


def _velocity(velocity: float) -> int:
    return int(np.clip(round(127 * velocity), 1, 127))


def _track(name: str, events: list[tuple[int, mido.Message | mido.MetaMessage]]) -> mido.MidiTrack:
    """A track from (absolute tick, message) pairs: sorted (note-offs before note-ons), delta-timed."""
    track = mido.MidiTrack([mido.MetaMessage("track_name", name=name, time=0)])
    now = 0
    order = {"note_off": 0, "program_change": 1, "note_on": 2}
    for tick, message in sorted(events, key=lambda e: (e[0], order.get(e[1].type, 1))):
        track.append(message.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def _part_events(part: str, notes: list[Note], ticks: TickMap, orchestra: Orchestra) -> list[tuple[int, object]]:
    events: list[tuple[int, object]] = []
    if part == "drums":
        channel = MIDI_CHANNELS["drums"]
        taiko = MIDI_CHANNELS["taiko"]
        events.append((0, mido.Message("program_change", channel=channel, program=orchestra.kit)))
        if any(n.voice == "taiko" for n in notes):
            events.append((0, mido.Message("program_change", channel=taiko, program=TAIKO[0])))
        for note in notes:
            key, on = (TAIKO[1], taiko) if note.voice == "taiko" else (DRUM_KEYS.get(note.voice), channel)
            if key is None or note.time < 0:
                continue
            start = ticks.tick(note.time)
            events.append((start, mido.Message("note_on", channel=on, note=key, velocity=_velocity(note.velocity))))
            events.append((start + PPQ // 8, mido.Message("note_off", channel=on, note=key)))
        return events
    channel = MIDI_CHANNELS.get(part, MIDI_CHANNELS["stabs"])
    if part == "fx":
        events.append((0, mido.Message("program_change", channel=channel, program=RISER_PROGRAM)))
    else:
        for start, program in orchestra.programs.get(part, []):
            tick = ticks.tick(max(0.0, start))
            events.append((tick, mido.Message("program_change", channel=channel, program=program)))
    for note in notes:
        start, stop = ticks.tick(max(0.0, note.time)), ticks.tick(note.time + max(note.length, 0.02))
        if stop <= start:
            continue
        pitch = note.pitch if part != "fx" else 60
        events.append((start, mido.Message("note_on", channel=channel, note=pitch, velocity=_velocity(note.velocity))))
        events.append((stop, mido.Message("note_off", channel=channel, note=pitch)))
    return events


def score_midi(
    notes: list[Note], beats: np.ndarray, cut_times: np.ndarray, duration: float, orchestra: Orchestra
) -> bytes:
    """The type-1 MIDI file of a take: conductor track (tempo map, 4/4, cut markers) + one track per part."""
    ticks = TickMap(beats, duration)
    conductor: list[tuple[int, object]] = [(0, mido.MetaMessage("time_signature", numerator=4, denominator=4))]
    conductor += ticks.tempo_events()
    cuts = np.sort(np.asarray(cut_times, np.float64))
    for number, cut in enumerate(cuts[(cuts >= 0) & (cuts < duration)], start=1):
        conductor.append((ticks.tick(float(cut)), mido.MetaMessage("marker", text=f"cut {number} at {cut:.3f} s")))
    song = mido.MidiFile(type=1, ticks_per_beat=PPQ)
    song.tracks.append(_track("conductor", conductor))
    parts: dict[str, list[Note]] = {}
    for note in notes:
        parts.setdefault(note.part, []).append(note)
    for part in sorted(parts, key=lambda p: PART_ORDER.index(p) if p in PART_ORDER else len(PART_ORDER)):
        song.tracks.append(_track(part, _part_events(part, parts[part], ticks, orchestra)))
    buffer = io.BytesIO()
    song.save(file=buffer)
    return buffer.getvalue()
