"""The arrangement: which instrument plays what, bar by bar, over the beat grid.

Layers: drums (pattern family of the mood, density from the section's motion),
bass (chord roots in a pattern), a sustained texture bed, a harmony instrument
(comping or sustained chords), the melody, and the accent layer (accents.py)
that makes the picture audible. Fills lead into cuts, risers swell into busy
sections, and the piece ends on the tonic chord, struck early enough to ring
out before the last frame. performance.py then shapes the dynamics and the timing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ...features.types import VideoFeatures
from .accents import accent_notes, break_before_off_grid_cuts
from .grid import TOLERANCE, BeatGrid
from .harmony import bass_pitch, choose_progressions, chord_on, chord_size, voice_chord
from .melody import melody_for_section
from .patterns import (
    ARPEGGIO,
    BACKBEAT,
    BASS_LINES,
    COMPING,
    DISPLACED,
    DRUM_PATTERNS,
    FILLS,
    HALF_TIME,
    SOFT_DRUMS,
    SUSTAINED_HARMONY,
)
from .performance import gain_curve, intensities, levels_for, play
from .style import Style
from .timeline import POSITIONS, Bar, Note, build_bars, line_notes, parse_pattern

BASS_VOICE = {
    "calm": "bass_sub",
    "sad": "bass_sub",
    "mysterious": "bass_sub",
    "happy": "bass_synth",
    "tense": "bass_pulse",
    "epic": "bass_synth",
}
RING = 2.2  # seconds the final chord has to decay before the last frame
HOLD = 0.8  # seconds the final chord is held before its release
LAST_HIT = 0.3  # seconds before the end after which no accent is struck (its tail must die too)
PRE_ROLL = 0.8  # seconds the opening bed chord starts before the range (the file fades in over 4 ms)


@dataclass
class Score:
    notes: list[Note]
    bars: list[Bar]
    levels: list[int]  # arrangement density per grid section
    ending: float | None  # time of the final tonic chord


def assign_chords(bars: list[Bar], style: Style, rng: np.random.Generator, levels: list[int]) -> None:
    """Chord per bar (per two bars in half-time or above 130 BPM); sections alternate A/B progressions."""
    part_a, part_b = choose_progressions(style, rng)
    size = chord_size(style)
    previous = chord_on(style, 0, size)
    for bar in bars:
        bar.level = levels[bar.section]
        if bar.index < 0:
            bar.chord = previous
            continue
        progression = part_a if bar.section % 2 == 0 else part_b
        slow = bar.half_time or 60.0 / bar.beat > 130.0
        step = bar.index // 2 if slow else bar.index
        bar.chord = chord_on(style, progression[step % len(progression)], size)
        previous = bar.chord


def _pick(options: tuple[str, ...], rng: np.random.Generator) -> str:
    return options[int(rng.integers(len(options)))]


def _is_fill_bar(bars: list[Bar], index: int) -> bool:
    """The last full bar before a cut, and every eighth bar of a busy section."""
    bar = bars[index]
    if bar.index < 0 or bar.beats.size < 4:
        return False
    before_cut = index + 1 < len(bars) and bars[index + 1].section != bar.section
    return before_cut or (bar.level >= 2 and bar.index % 8 == 7)


def drum_bar(style: Style, bar: Bar) -> dict[str, str]:
    """The bar's groove: the family's (or the half-time feel's), displaced on the takes that displace."""
    family = "half_time" if bar.half_time else style.drums
    if style.displaced and bar.level in DISPLACED.get(family, {}):
        return DISPLACED[family][bar.level]
    return HALF_TIME[bar.level] if bar.half_time else DRUM_PATTERNS[style.drums][bar.level]


def drum_notes(bars: list[Bar], style: Style, rng: np.random.Generator, until: float) -> list[Note]:
    notes = []
    backbeat = BACKBEAT[style.drums]
    for index, bar in enumerate(bars):
        if bar.start >= until:
            break
        pattern = dict(drum_bar(style, bar))
        if bar.half_time and "snare" in pattern:
            pattern[backbeat] = pattern.pop("snare")
        fill = _is_fill_bar(bars, index)
        if fill:  # keep the first half (and the kick on 3), drop the rest for the fill
            pattern = {
                drum: hits[:4] + ("x..." if drum in ("kick", "taiko") else "....") for drum, hits in pattern.items()
            }
            for drum, hits in FILLS[bar.level].items():
                name = backbeat if drum == "backbeat" else drum
                pattern[name] = "".join(
                    max(a, b, key=".oxX".index) for a, b in zip(pattern.get(name, "." * 8), hits, strict=True)
                )
        for drum, hits in pattern.items():
            for position, weight in parse_pattern(hits):
                time = bar.position_time(position)
                if time is None or time >= until:
                    continue
                velocity = style.velocity * weight * (0.85 + 0.05 * bar.level)
                if drum in SOFT_DRUMS:  # a hand, not a machine: small seeded velocity variations
                    velocity *= 1.0 + float(rng.uniform(-0.12, 0.08))
                notes.append(Note(drum, time, 0.0, 0, velocity))
    return notes


def bass_notes(bars: list[Bar], style: Style, rng: np.random.Generator, until: float) -> list[Note]:
    voice = BASS_VOICE[style.preset]
    lines = BASS_LINES[style.bass]
    notes = []
    line = ""
    for bar in bars:
        if bar.start >= until or bar.chord is None:
            continue
        if bar.index <= 0 or bar.index % 4 == 0:
            line = _pick(lines[bar.level], rng)
        root = bass_pitch(bar.chord.root, 28 if style.octave < 5 else 33)
        offsets = {
            "R": 0,
            "O": 12,
            "F": 7 if (bar.chord.tones[2] - bar.chord.root) % 12 == 7 else 6,
            "T": (bar.chord.tones[1] - bar.chord.root) % 12,
        }
        for time, seconds, symbol in line_notes(bar, line):
            if time >= until:
                break
            accent = 1.0 if abs(time - bar.start) < 1e-6 else 0.8
            notes.append(
                Note(
                    voice,
                    time,
                    min(seconds, until - time) * 0.95,
                    root + offsets[symbol],
                    style.velocity * accent,
                    "bass",
                )
            )
    return notes


def harmony_notes(bars: list[Bar], style: Style, rng: np.random.Generator, until: float) -> list[Note]:
    """The texture bed (held chords) and the harmony instrument (comping, arpeggio or held)."""
    register = 12 * (style.octave - 5)
    notes: list[Note] = []
    bed: list[int] | None = None
    keys: list[int] | None = None
    comp = ""
    sustained = style.harmony_voice in SUSTAINED_HARMONY
    held: list[int] = []  # indices of the held chord's notes, lengthened when the next one enters late
    for bar in bars:
        if bar.start >= until or bar.chord is None:
            continue
        # A held chord changes on the bar's first position the band may play (timeline.Bar.entry):
        # under a picture's cross-rhythm that is the first pulse of the bar, not always its downbeat.
        entry = bar.entry
        if entry is None or entry >= until:
            continue
        for index in held:
            notes[index] = replace(notes[index], length=entry - notes[index].time)
        end = min(bar.end, until)
        # The score opens on the bed already sounding (it starts before the range): music that
        # starts with everything at once from silence has one onset that dwarfs all others.
        start = -PRE_ROLL if bed is None else entry
        bed = voice_chord(bar.chord, bed, 48 + register, 70 + register, 4)
        held = list(range(len(notes), len(notes) + len(bed)))
        notes += [Note(style.texture, start, end - start, p, 0.5 * style.velocity, "bed") for p in bed]
        if style.harmony_voice == style.texture:
            continue
        keys = voice_chord(bar.chord, keys, 55 + register, 77 + register, len(bar.chord.tones))
        if sustained:
            held += range(len(notes), len(notes) + len(keys))
            notes += [Note(style.harmony_voice, entry, end - entry, p, 0.6 * style.velocity, "harmony") for p in keys]
            continue
        if bar.index <= 0 or bar.index % 4 == 0:
            comp = _pick(COMPING[bar.level], rng)
        if bar.level >= 3 and not bar.half_time:
            arpeggio = [keys[int(c) % len(keys)] + (12 if int(c) >= len(keys) else 0) for c in ARPEGGIO]
            for position in range(POSITIONS):
                time = bar.position_time(position)
                if time is not None and time < until:
                    notes.append(
                        Note(
                            style.harmony_voice,
                            time,
                            bar.beat * 0.45,
                            arpeggio[position],
                            style.velocity * (0.7 if position % 2 else 0.8),
                            "harmony",
                        )
                    )
            continue
        for time, seconds, symbol in line_notes(bar, comp):
            if time < until:
                weight = 0.85 if symbol == "X" else 0.7
                length = min(seconds, until - time) * 0.9
                for pitch in keys:
                    notes.append(Note(style.harmony_voice, time, length, pitch, style.velocity * weight, "harmony"))
    return notes


def riser_notes(bars: list[Bar], grid: BeatGrid, levels: list[int]) -> list[Note]:
    """A swell into each cut that starts a busy section (no onset of its own: it fades in)."""
    notes = []
    for index, section in enumerate(grid.sections[1:], start=1):
        if levels[index] >= 2 and section.start - grid.sections[index - 1].start >= 4.0:
            length = min(2 * grid.sections[index - 1].beat, 2.0)
            notes.append(Note("riser", section.start - length, length, 0, 0.5, "fx"))
    return notes


def ring_time(duration: float) -> float:
    """Seconds the final chord rings before the last frame: RING, less on short clips."""
    return float(np.clip(0.3 * duration, 1.5, RING))


def ending_time(bars: list[Bar], duration: float) -> float | None:
    """Where the final chord lands: the last beat that leaves ring_time() to ring out, a downbeat if one is
    within a bar of it."""
    if duration < 3.0:
        return None
    ring = ring_time(duration)
    beats = [(float(t), bar.first_beat + k == 0) for bar in bars if bar.index >= 0 for k, t in enumerate(bar.beats)]
    room = [(t, down) for t, down in beats if duration - t >= ring]
    if not room:
        return None
    last = room[-1][0]
    downbeats = [t for t, down in room if down and last - t <= 4 * bars[-1].beat]
    return downbeats[-1] if downbeats else last


def final_chord(bars: list[Bar], style: Style, at: float, duration: float) -> list[Note]:
    """The tonic, struck and held for HOLD seconds at most, so its release and reverb die before the end."""
    register = 12 * (style.octave - 5)
    tonic = chord_on(style, 0, chord_size(style))
    length = max(0.2, min(HOLD, duration - at - ring_time(duration)))
    notes = [
        Note(style.texture, at, length, p, 0.55 * style.velocity, "bed")
        for p in voice_chord(tonic, None, 48 + register, 70 + register, 4)
    ]
    if style.harmony_voice != style.texture:
        notes += [
            Note(style.harmony_voice, at, length, p, 0.7 * style.velocity, "harmony")
            for p in voice_chord(tonic, None, 55 + register, 77 + register, 3)
        ]
    notes.append(Note(BASS_VOICE[style.preset], at, length, bass_pitch(tonic.root), style.velocity, "bass"))
    tonic_pitch = 12 * (style.octave + 1) + tonic.root
    notes.append(Note(style.melody_voice, at, length, tonic_pitch, 0.8 * style.velocity, "melody"))
    notes += [Note("crash", at, 0.0, 0, 0.6), Note("kick", at, 0.0, 0, style.velocity)]
    return notes


def arrange(grid: BeatGrid, features: VideoFeatures, style: Style, seed: int, duration: float) -> Score:
    rng = np.random.default_rng([seed, 0x5C0E])
    bars = build_bars(grid, style.swing)
    pace = intensities(grid, features)
    levels = levels_for(pace, style.density)
    assign_chords(bars, style, rng, levels)
    ending = ending_time(bars, duration)
    until = ending if ending is not None else duration
    notes = drum_notes(bars, style, rng, until)
    notes += bass_notes(bars, style, rng, until)
    notes += harmony_notes(bars, style, rng, until)
    for section in range(len(grid.sections)):
        section_bars = [b for b in bars if b.section == section and b.start < until]
        melody_rng = np.random.default_rng([seed, 0x3E10, section])
        for note in melody_for_section(section_bars, style, melody_rng, style.melody_voice, 0.8 * style.velocity):
            if note.time < until:
                notes.append(
                    Note(
                        note.voice, note.time, min(note.length, until - note.time), note.pitch, note.velocity, "melody"
                    )
                )
    cuts = np.asarray(features.cut_times, np.float64)
    notes = break_before_off_grid_cuts(notes, bars, cuts)  # the final chord and the hits come after
    if ending is not None:
        notes += final_chord(bars, style, ending, duration)
    notes += riser_notes(bars, grid, levels)
    # The picture keeps its hits while the final chord rings, until LAST_HIT before the end; a cut
    # there still gets its hit, the final one, faded with the tail (performance.release_tail).
    last_hit = duration - LAST_HIT
    accents = [
        n
        for n in accent_notes(notes, bars, features, style, duration)
        if ending is None or n.time <= last_hit or (cuts.size and np.min(np.abs(cuts - n.time)) <= TOLERANCE)
    ]
    notes = play(notes + accents, gain_curve(bars, grid, pace), cuts, seed, {n.time for n in accents})
    notes.sort(key=lambda n: (n.time, n.voice, n.pitch))
    return Score(notes, bars, levels, ending)
