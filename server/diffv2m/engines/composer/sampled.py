"""Rendering the score through a General-MIDI sound bank (tinysoundfont), part by part, and mixing it.

Each part (drums, bass, bed, harmony, melody, stabs) is rendered as its own
stereo stem: its notes become note-on/off events on one or two MIDI channels
set to the take's GM programs (orchestration.py), and the synthesiser renders
the samples between events. A part with width plays on two channels panned
apart (the bed doubled and detuned a few cents, chords spread note by note).
Each stem is then brought to the mood's balance by its gated K-weighted
loudness (ITU-R BS.1770 blocks and gates), panned, ducked under the kick, and
summed into the dry bus and the reverb send that render.master finishes. The
riser (fx) has no GM equivalent and keeps its numpy swell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from ...audio.loudness import limit_peaks
from ..base import ProgressFn
from .instruments import riser
from .instruments.dsp import SR
from .orchestration import DRUM_BANK, DRUM_KEYS, DRUM_LEVELS, DRUM_PANS, TAIKO, Orchestra, mix_of
from .render import TAIL, duck_envelope, master, pan_gains
from .soundfont import LoadedBank
from .sounds import k_weighting
from .timeline import Note

BLOCK = round(0.4 * SR)  # BS.1770 gating block
# Peak-to-loudness ratio the mix leaves with: at -14 LUFS its peaks sit 0.8 dB under the
# normaliser's -1.4 dBFS sample ceiling (pipeline.TARGET_LUFS, audio/loudness.py).
BUS_PLR = 11.8
ABSOLUTE_GATE = 10 ** ((-70.0 + 0.691) / 10)
MIX_CHUNK = 1 << 20  # samples added to the bus at a time (bounds the temporaries)
MELODIC_DRUM, KIT = 0, 9
# Kit channels, one per position of DRUM_PANS (the centre pieces stay on channel 10).
KIT_CHANNELS = {pan: channel for pan, channel in zip(sorted(set(DRUM_PANS.values())), (1, 2, 3, 4, 5, 6), strict=False)}
# Melodic channels in left/right pairs: each chord takes a free pair (its notes alternate sides
# when the part has width), and its release is cut RELEASE_CAP seconds after its last note-off, so
# a bank's long releases do not pile up voices (the reverb carries the tail instead).
PAIRS = ((0, 1), (2, 3), (4, 5), (6, 7), (10, 11), (12, 13), (14, 15))
RELEASE_CAP = {"bass": 0.5, "bed": 1.2, "harmony": 1.0, "melody": 0.8, "stabs": 0.8}
FLAM = 0.06  # seconds: the closest two strokes of one kit piece are played
DRUM_RING, CYMBAL_RING = 0.5, 1.6  # seconds a kit hit sounds before its note-off
OPENING_SWELL = 1.0  # seconds over which the bed swells in at the start of the range (swell_in)
# Event order within one sample: tail cuts and note-offs, then program changes, then note-ons.
KILL, OFF, PROGRAM, ON = 0, 1, 2, 3


@dataclass(frozen=True)
class Event:
    sample: int
    kind: int
    channel: int
    key: int
    value: int


def _velocity(velocity: float) -> int:
    return int(np.clip(round(127 * velocity), 1, 127))


def _drum_events(notes: list[Note], length: int, lead: int) -> list[Event]:
    """Kit hits; a piece struck again within FLAM of its last hit is played once (a flam, not two onsets)."""
    events: list[Event] = []
    last_hit: dict[str, int] = {}
    for note in sorted(notes, key=lambda n: (n.time, -n.velocity)):
        start = round(note.time * SR) + lead
        if not 0 <= start < length or start - last_hit.get(note.voice, -length) < FLAM * SR:
            continue
        last_hit[note.voice] = start
        if note.voice == "taiko":
            channel, key = MELODIC_DRUM, TAIKO[1]
        else:
            channel, key = KIT_CHANNELS.get(DRUM_PANS.get(note.voice, 0.0), KIT), DRUM_KEYS.get(note.voice)
        if key is None:
            continue
        velocity = note.velocity * DRUM_LEVELS.get(note.voice, 0.5) ** 0.5
        events.append(Event(start, ON, channel, key, _velocity(velocity)))
        ring = CYMBAL_RING if note.voice == "crash" else DRUM_RING  # looped kit samples ring until released
        events.append(Event(start + round(ring * SR), OFF, channel, key, 0))
    return events


def part_events(notes: list[Note], part: str, orchestra: Orchestra, length: int, lead: int = 0) -> list[Event]:
    """The MIDI events of one part, sorted (see PAIRS for how chords take channels).

    Sample 0 is ``lead`` samples before the range starts (notes that start before it, such as the
    opening bed, are struck there); ``length`` counts from sample 0.
    """
    if part == "drums":
        return sorted(_drum_events(notes, length, lead), key=lambda e: (e.sample, e.kind))
    done: list[Event] = []
    groups: dict[int, list[Note]] = {}
    for note in notes:  # notes that start together (a chord) share a pair of channels
        groups.setdefault(max(0, round(note.time * SR) + lead), []).append(note)
    pending: list[list[Event]] = [[] for _ in PAIRS]  # each pair's note-offs and tail cut still to come
    release = round(RELEASE_CAP.get(part, 1.0) * SR)
    sides = 2 if mix_of(part).width > 0 else 1
    for start in sorted(groups):
        if start >= length:
            break
        free = [max((e.sample for e in p), default=0) for p in pending]
        pair = min(range(len(PAIRS)), key=lambda k: (free[k] > start, free[k]))
        if free[pair] > start:  # every pair still rings: cut the oldest tail here instead
            done += [e for e in pending[pair] if e.sample <= start]
            done += [Event(start, KILL, channel, 0, 0) for channel in PAIRS[pair]]
        else:
            done += pending[pair]
        pending[pair] = []
        last_stop = start
        for rank, note in enumerate(sorted(groups[start], key=lambda n: n.pitch)):
            channel = PAIRS[pair][rank % sides]
            stop = max(start + 1, round((note.time + max(note.length, 0.02)) * SR) + lead)
            done.append(Event(start, ON, channel, note.pitch, _velocity(note.velocity)))
            pending[pair].append(Event(stop, OFF, channel, note.pitch, 0))
            last_stop = max(last_stop, stop)
        pending[pair] += [Event(last_stop + release, KILL, channel, 0, 0) for channel in PAIRS[pair]]
    for events in pending:
        done += events
    for start, program in orchestra.programs.get(part, []):
        sample = round(start * SR) + lead if start > 0 else 0  # the first program is set before any note
        done += [Event(sample, PROGRAM, c, program, 0) for pair in PAIRS for c in pair]
    return sorted(done, key=lambda e: (e.sample, e.kind))


def _setup(bank: LoadedBank, part: str, orchestra: Orchestra) -> None:
    """Channels to their defaults, then this part's kit, programs and pans."""
    synth = bank.synth
    synth.sounds_off()
    spread = round(63 * mix_of(part).width)
    for left, right in PAIRS:
        for channel, pan in ((left, 64 - spread), (right, 64 + spread)):
            synth.program_select(channel, bank.sfid, 0, 0)
            synth.control_change(channel, 10, pan)
    if part == "drums":
        kit = orchestra.kit if bank.has(DRUM_BANK, orchestra.kit) else 0
        synth.program_select(KIT, bank.sfid, DRUM_BANK, kit, True)
        for pan, channel in KIT_CHANNELS.items():
            synth.program_select(channel, bank.sfid, DRUM_BANK, kit, True)
            synth.control_change(channel, 10, round(64 + 63 * pan))
        synth.program_select(MELODIC_DRUM, bank.sfid, 0, TAIKO[0])
        synth.control_change(MELODIC_DRUM, 10, 64)


def render_part(bank: LoadedBank, notes: list[Note], part: str, orchestra: Orchestra, length: int) -> np.ndarray:
    """(length, 2) interleaved float32 stem of one part.

    Notes that start before the range (the opening bed) are rendered from their start and the
    samples before the range dropped, so the file opens on them already sounding, not on their attack.
    """
    lead = max(0, -round(min((n.time for n in notes), default=0.0) * SR))
    stem = np.zeros((length + lead, 2), np.float32)
    view = memoryview(stem.reshape(-1)).cast("B")
    frame = 8  # bytes per stereo float32 frame
    synth = bank.synth
    _setup(bank, part, orchestra)
    position = 0
    length += lead
    for event in part_events(notes, part, orchestra, length, lead):
        if event.sample >= length:
            break
        if event.sample > position:
            synth.generate_simple(event.sample - position, buffer=view[position * frame : event.sample * frame])
            position = event.sample
        if event.kind == ON:
            synth.noteon(event.channel, event.key, event.value)
        elif event.kind == OFF:
            synth.noteoff(event.channel, event.key)
        elif event.kind == KILL:
            synth.sounds_off(event.channel)
        elif bank.has(0, event.key):
            synth.program_change(event.channel, event.key)
    if position < length:
        synth.generate_simple(length - position, buffer=view[position * frame :])
    synth.sounds_off()
    return stem[lead:]


def gated_loudness(stem: np.ndarray, stereo: bool = False) -> float:
    """Gated loudness (LKFS, BS.1770 400 ms blocks and gates; -inf when silent) of a (n, 2) array.

    ``stereo``: both channels weighted and their powers summed, as BS.1770 does; otherwise the
    mono downmix (half the filtering; enough to balance parts against each other).
    """
    sos = k_weighting()
    sides = (0, 1) if stereo else (None,)
    states = [np.zeros((sos.shape[0], 2), np.float32) for _ in sides]
    powers = []
    chunk = MIX_CHUNK // BLOCK * BLOCK  # whole blocks per chunk
    for start in range(0, stem.shape[0] - BLOCK + 1, chunk):
        piece = stem[start : start + chunk]
        usable = piece.shape[0] // BLOCK * BLOCK
        power = np.zeros(usable // BLOCK)
        if piece[::64].any():  # else silent here (the part rests): zero power, no filtering
            for k, side in enumerate(sides):
                # The downmix is taken as L + R (twice the mean): a quarter of its power.
                signal_in, scale = (piece[:, 0] + piece[:, 1], 0.25) if side is None else (piece[:, side], 1.0)
                weighted, states[k] = signal.sosfilt(sos, signal_in, zi=states[k])
                blocks = weighted[:usable].reshape(-1, BLOCK)
                power += np.einsum("ij,ij->i", blocks, blocks) * (scale / BLOCK)
        else:
            states = [np.zeros_like(state) for state in states]
        powers.append(power)
    power = np.concatenate(powers) if powers else np.zeros(0)
    power = power[power > ABSOLUTE_GATE]
    if power.size == 0:
        return float("-inf")
    power = power[power > power.mean() * 0.1]  # relative gate: 10 LU under the ungated mean
    return -0.691 + 10 * float(np.log10(power.mean()))


def _fx_stem(notes: list[Note], length: int) -> np.ndarray:
    stem = np.zeros((length, 2), np.float32)
    for note in notes:
        held = max(64, round(note.length * SR))
        start = round(note.time * SR)
        skip = max(0, -start)
        stop = min(length, start + held)
        if stop > start + skip:
            swell = riser(held, held)[skip : skip + stop - start - skip]
            stem[start + skip : stop] += (note.velocity * swell)[:, None]
    return stem


def render_sampled(
    notes: list[Note],
    num_samples: int,
    preset_balance: dict[str, float],
    brightness: float,
    reverb: float,
    orchestra: Orchestra,
    bank: LoadedBank,
    progress: ProgressFn,
) -> np.ndarray:
    """Stereo mix of ``notes`` rendered through ``bank``: (2, num_samples) float32, before normalisation."""
    length = num_samples + round(TAIL * SR)
    dry = np.zeros((2, length), np.float32)
    send = np.zeros(length, np.float32)
    duck = duck_envelope(notes, length)
    parts: dict[str, list[Note]] = {}
    for note in notes:
        parts.setdefault(note.part, []).append(note)
    with bank.lock:
        for count, (part, part_notes) in enumerate(sorted(parts.items())):
            progress("generating", 0.2 + 0.6 * count / len(parts))
            if part == "fx":
                stem = _fx_stem(part_notes, length)
            else:
                stem = render_part(bank, part_notes, part, orchestra, length)
            if part == "bed":
                swell_in(stem, OPENING_SWELL)
            level = gated_loudness(stem)
            if not np.isfinite(level):
                continue
            gain = 10 ** ((preset_balance.get(part, -20.0) - level) / 20)
            _add_stem(dry, send, stem, part, gain, duck)
            del stem
    progress("generating", 0.85)
    del duck  # each full-length buffer goes as soon as it is used: a 10-min score holds 106 MB per channel
    mixed = master(dry, send, num_samples, brightness, reverb)
    del send
    return bus_limit(mixed)


def swell_in(stem: np.ndarray, seconds: float) -> None:
    """Raise the first ``seconds`` of a (n, 2) stem from silence (raised cosine), in place.

    The bed is already sounding when the range starts; at full level from the first sample an
    onset detector (and a listener) hears a hit at 0 s that the picture does not have.
    """
    size = min(stem.shape[0], round(seconds * SR))
    stem[:size] *= (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, size, dtype=np.float32)))[:, None]


def bus_limit(mix: np.ndarray) -> np.ndarray:
    """Hold the mix's peaks BUS_PLR dB over its loudness (the project's look-ahead limiter).

    Sampled drums have a higher crest factor than the numpy synthesis; limited here, the
    loudness normalisation that follows is a pure gain (one meter pass, no limiter
    iterations; audio/loudness.py). Limiting lowers the loudness a little, so the ceiling
    is set again from the limited mix, once.
    """
    for _ in range(2):
        level = gated_loudness(mix.T, stereo=True)
        if not np.isfinite(level):
            return mix
        ceiling = 10 ** ((level + BUS_PLR) / 20)
        if float(np.abs(mix).max()) <= ceiling * 10 ** (0.1 / 20):
            return mix
        mix = limit_peaks(mix, SR, ceiling)
    return mix


def _add_stem(dry: np.ndarray, send: np.ndarray, stem: np.ndarray, part: str, gain: float, duck: np.ndarray) -> None:
    mix = mix_of(part)
    left, right = (g * 1.41 * gain for g in pan_gains(mix.pan))
    for start in range(0, stem.shape[0], MIX_CHUNK):
        stop = min(stem.shape[0], start + MIX_CHUNK)
        piece = stem[start:stop]
        shape = (1.0 - mix.duck * (1.0 - duck[start:stop])) if mix.duck else 1.0
        dry[0, start:stop] += (left * shape) * piece[:, 0]
        dry[1, start:stop] += (right * shape) * piece[:, 1]
        if mix.send:
            send[start:stop] += (0.5 * gain * mix.send * shape) * (piece[:, 0] + piece[:, 1])
