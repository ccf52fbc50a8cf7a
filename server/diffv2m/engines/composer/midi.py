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
META = frozenset({"set_tempo", "time_signature", "marker"})
Event = tuple[int, str, dict[str, int | str]]  # (absolute tick, message type, its fields)
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

    def ticks_of(self, seconds: np.ndarray) -> np.ndarray:
        """Ticks of many times at once (linear between beats, the edge tempos outside them)."""
        seconds = np.asarray(seconds, np.float64)
        inside = np.interp(seconds, self.times, self.ticks)
        before = self.offset + (seconds - self.times[0]) / self.first * PPQ
        after = self.ticks[-1] + (seconds - self.times[-1]) / self.last * PPQ
        ticks = np.where(seconds < self.times[0], before, np.where(seconds > self.times[-1], after, inside))
        return np.maximum(0, np.round(ticks)).astype(np.int64)

    def tick(self, seconds: float) -> int:
        return int(self.ticks_of(np.array([seconds]))[0])

    def tempo_events(self) -> list[Event]:
        periods = np.append(np.diff(self.times), self.last)
        events: list[Event] = [(0, "set_tempo", {"tempo": round(self.first * 1e6)})]
        events += [
            (int(tick), "set_tempo", {"tempo": round(period * 1e6)})
            for tick, period in zip(self.ticks, periods, strict=True)
        ]
        return events


def _velocity(velocity: float) -> int:
    return int(np.clip(round(127 * velocity), 1, 127))


def _track(name: str, events: list[Event]) -> mido.MidiTrack:
    """A track from (absolute tick, type, fields): sorted (note-offs before note-ons), delta-timed.

    Each message is built once, with its delta time (mido checks every field it is given).
    """
    track = mido.MidiTrack([mido.MetaMessage("track_name", name=name, time=0)])
    now = 0
    order = {"note_off": 0, "program_change": 1, "note_on": 2}
    for tick, kind, fields in sorted(events, key=lambda e: (e[0], order.get(e[1], 1))):
        make = mido.MetaMessage if kind in META else mido.Message
        track.append(make(kind, time=tick - now, **fields))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def _part_events(part: str, notes: list[Note], ticks: TickMap, orchestra: Orchestra) -> list[Event]:
    events: list[Event] = []
    if part == "drums":
        channel = MIDI_CHANNELS["drums"]
        taiko = MIDI_CHANNELS["taiko"]
        events.append((0, "program_change", dict(channel=channel, program=orchestra.kit)))
        if any(n.voice == "taiko" for n in notes):
            events.append((0, "program_change", dict(channel=taiko, program=TAIKO[0])))
        for note, start in zip(notes, ticks.ticks_of(np.array([n.time for n in notes])).tolist(), strict=True):
            key, on = (TAIKO[1], taiko) if note.voice == "taiko" else (DRUM_KEYS.get(note.voice), channel)
            if key is None or note.time < 0:
                continue
            events.append((start, "note_on", dict(channel=on, note=key, velocity=_velocity(note.velocity))))
            events.append((start + PPQ // 8, "note_off", dict(channel=on, note=key)))
        return events
    channel = MIDI_CHANNELS.get(part, MIDI_CHANNELS["stabs"])
    if part == "fx":
        events.append((0, "program_change", dict(channel=channel, program=RISER_PROGRAM)))
    else:
        for start, program in orchestra.programs.get(part, []):
            tick = ticks.tick(max(0.0, start))
            events.append((tick, "program_change", dict(channel=channel, program=program)))
    starts = ticks.ticks_of(np.array([max(0.0, n.time) for n in notes]))
    stops = ticks.ticks_of(np.array([n.time + max(n.length, 0.02) for n in notes]))
    for note, start, stop in zip(notes, starts.tolist(), stops.tolist(), strict=True):
        if stop <= start:
            continue
        pitch = note.pitch if part != "fx" else 60
        events.append((start, "note_on", dict(channel=channel, note=pitch, velocity=_velocity(note.velocity))))
        events.append((stop, "note_off", dict(channel=channel, note=pitch)))
    return events


def score_midi(
    notes: list[Note], beats: np.ndarray, cut_times: np.ndarray, duration: float, orchestra: Orchestra
) -> bytes:
    """The type-1 MIDI file of a take: conductor track (tempo map, 4/4, cut markers) + one track per part."""
    ticks = TickMap(beats, duration)
    conductor: list[Event] = [(0, "time_signature", dict(numerator=4, denominator=4))]
    conductor += ticks.tempo_events()
    cuts = np.sort(np.asarray(cut_times, np.float64))
    for number, cut in enumerate(cuts[(cuts >= 0) & (cuts < duration)], start=1):
        conductor.append((ticks.tick(float(cut)), "marker", dict(text=f"cut {number} at {cut:.3f} s")))
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
