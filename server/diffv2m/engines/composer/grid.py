"""The beat grid: tempo and phase fitted to the picture's visual events.

The clip is split into sections at its scene cuts. In each section the visual
*pulse* (the period that best explains the events, chance-corrected) is found by
autocorrelating the event train, then refined by least squares over the events
it explains, growing the fitted window so that long sections with a slightly
off tempo estimate never slip a beat. The musical beat is the pulse or half of
it (never slower: every visual event of a steady pulse must fall on a beat), the
choice that lands nearest the mood's tempo range. Sections without a pulse of
their own inherit the neighbouring tempo, re-anchored on their strongest event
or on the cut. Bars restart at each section's first beat, so downbeats fall on
cuts whenever a cut falls on a beat.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

TOLERANCE = 0.035  # an event "is on" a grid point within this many seconds
MIN_SECTION = 1.0  # shots shorter than this share their neighbour's grid
SHORTEST_BEAT = 0.75  # no beat across a section boundary is shorter than this share of the beat
MIN_EVENTS = 4  # a section needs this many events for a pulse of its own
# Who leads the rhythm of a section (Section.lead; timeline.articulated_positions applies it).
STRONG_PULSE = 0.6  # Pulse.score from which the picture's pulse sets the music's rhythm
BUSY_PICTURE = 0.5  # events per beat, cuts aside, from which a picture without a pulse leads with its hits
LOOSE_STRENGTH = 0.15  # weaker events are left to the groove (as accents.MIN_EVENT_STRENGTH)
SLOWEST_BEAT, FASTEST_BEAT = 60.0 / 48.0, 60.0 / 200.0  # beat periods allowed, seconds
FASTEST_EIGHTHS = 60.0 / 150.0  # above 150 BPM the lattice stays on quarter notes
_TRAIN_RATE = 500.0  # Hz of the event impulse train used for autocorrelation
_SIGMA = 0.02  # seconds: timing blur of events (frame quantisation at 24 fps is 42 ms)


@dataclass
class Pulse:
    period: float  # seconds between pulses
    phase: float  # time of one pulse (seconds from the range start)
    score: float  # chance-corrected share of event strength on the pulse, 0..1


@dataclass
class Section:
    start: float
    end: float
    beat: float  # beat period, seconds
    pulse: float | None  # the visual pulse period the beat was derived from (None: no pulse)
    steps: int  # lattice steps per beat: 2 = eighths allowed, 1 = quarters only
    beats: np.ndarray = field(default_factory=lambda: np.zeros(0))
    downbeats: np.ndarray = field(default_factory=lambda: np.zeros(0))
    half_time: bool = False  # the arrangement should feel it at half speed
    pulse_phase: float = 0.0  # time of one visual pulse (seconds from the range start), when there is a pulse
    # Who leads the rhythm: "pulse" (a strong visual pulse: the band plays on it), "hits" (a busy
    # picture without one: a half-time groove under its hits) or "groove" (the mood's own patterns).
    lead: str = "groove"

    @property
    def tempo(self) -> float:
        return 60.0 / self.beat


@dataclass
class BeatGrid:
    sections: list[Section]
    duration: float

    @property
    def beats(self) -> np.ndarray:
        return np.concatenate([s.beats for s in self.sections]) if self.sections else np.zeros(0)

    @property
    def downbeats(self) -> np.ndarray:
        return np.concatenate([s.downbeats for s in self.sections]) if self.sections else np.zeros(0)

    @property
    def tempo(self) -> float:
        """Tempo of the longest-sounding beat period (what a single number should say)."""
        weights: dict[float, float] = {}
        for s in self.sections:
            key = round(s.tempo, 2)
            weights[key] = weights.get(key, 0.0) + (s.end - s.start)
        return max(weights, key=lambda k: weights[k])


def split_sections(cut_times: np.ndarray, duration: float) -> list[tuple[float, float]]:
    """[start, end) spans between cuts; spans shorter than MIN_SECTION join their neighbour."""
    cuts = sorted(float(c) for c in cut_times if MIN_SECTION * 0.5 <= c <= duration - MIN_SECTION * 0.5)
    bounds = [0.0]
    for cut in cuts:
        if cut - bounds[-1] >= MIN_SECTION:
            bounds.append(cut)
    if len(bounds) > 1 and duration - bounds[-1] < MIN_SECTION:
        bounds.pop()
    bounds.append(duration)
    return list(itertools.pairwise(bounds))


def _candidate_periods(times: np.ndarray, weights: np.ndarray, span: float) -> list[float]:
    """Lags where the autocorrelation of the event train peaks (strongest first)."""
    length = math.ceil(span * _TRAIN_RATE) + 1
    train = np.zeros(length)
    np.add.at(train, np.clip(np.round(times * _TRAIN_RATE).astype(int), 0, length - 1), weights)
    radius = int(3 * _SIGMA * _TRAIN_RATE)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / (_SIGMA * _TRAIN_RATE)) ** 2)
    train = np.convolve(train, kernel, mode="same")
    size = 1 << math.ceil(math.log2(2 * length))
    spectrum = np.fft.rfft(train, size)
    autocorr = np.fft.irfft(spectrum * np.conj(spectrum), size)[:length]
    lo = int(FASTEST_BEAT * _TRAIN_RATE)
    hi = min(int(2 * SLOWEST_BEAT * _TRAIN_RATE), length - 2)
    if hi <= lo + 2:
        return []
    segment = autocorr[lo : hi + 1]
    peaks = np.flatnonzero((segment[1:-1] > segment[:-2]) & (segment[1:-1] >= segment[2:])) + 1
    peaks = peaks[np.argsort(segment[peaks])[::-1][:8]]
    periods = []
    for p in peaks:
        a, b, c = segment[p - 1], segment[p], segment[p + 1]
        offset = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) != 0 else 0.0
        periods.append((lo + p + offset) / _TRAIN_RATE)
    return periods


def _best_phase(times: np.ndarray, weights: np.ndarray, period: float) -> float:
    """Phase (seconds in [0, period)) where the most event strength lies on the grid."""
    phases = np.mod(times, period)
    diff = np.abs(phases[:, None] - phases[None, :])
    diff = np.minimum(diff, period - diff)
    score = (weights[None, :] * np.exp(-0.5 * (diff / _SIGMA) ** 2)).sum(axis=1)
    return float(phases[int(np.argmax(score))])


def _refine(times: np.ndarray, weights: np.ndarray, period: float, centre: float) -> tuple[float, float]:
    """Weighted least-squares (period, phase) grown outwards from ``centre``.

    The phase is first found among the events within four periods of
    ``centre`` only, where a slightly wrong period cannot smear it; the window
    then doubles, re-fitting each time before the grid is extrapolated further,
    so the beat index of each event stays right across long sections. Each fit
    is iteratively re-weighted with a shrinking residual scale, so
    frame-quantised events (alternating 11/12-frame gaps) pull the grid to
    their true mean period while stray events do not.
    """
    half = 4 * period
    local = np.abs(times - centre) <= half
    phase = _best_phase(times[local], weights[local], period)
    while True:
        inside = np.abs(times - centre) <= half
        for scale in (0.15 * period, 0.06 * period, TOLERANCE):
            index = np.round((times[inside] - phase) / period)
            residual = times[inside] - (phase + index * period)
            w = weights[inside] * np.exp(-0.5 * (residual / scale) ** 2)
            if np.count_nonzero(w > 1e-3) < 2 or np.ptp(index[w > 1e-3]) < 1:
                break
            design = np.stack([np.ones(index.size), index], axis=1) * np.sqrt(w)[:, None]
            solution, *_ = np.linalg.lstsq(design, times[inside] * np.sqrt(w), rcond=None)
            phase, period = float(solution[0]), float(solution[1])
        if inside.all():
            return period, phase
        half *= 2


def _explained(times: np.ndarray, weights: np.ndarray, period: float, phase: float) -> np.ndarray:
    """Boolean mask of events within TOLERANCE of the grid."""
    residual = np.mod(times - phase + period / 2, period) - period / 2
    return np.abs(residual) <= TOLERANCE


def fit_pulse(times: np.ndarray, weights: np.ndarray, span: float) -> Pulse | None:
    """The steadiest visual pulse among the events, or None when there is no convincing one."""
    if times.size < MIN_EVENTS:
        return None
    weights = np.maximum(weights, 0.05)
    best: list[Pulse] = []
    # Grow each fit from the first events and from the middle: a stray event can
    # spoil one starting window, rarely both.
    centres = (float(times[min(2, times.size - 1)]), float(np.median(times)))
    for candidate in _candidate_periods(times, weights, span):
        for centre in centres:
            period, phase = _refine(times, weights, candidate, centre)
            if not FASTEST_BEAT * 0.9 <= period <= 2 * SLOWEST_BEAT:
                continue
            share = float(weights[_explained(times, weights, period, phase)].sum() / weights.sum())
            chance = min(1.0, 2 * TOLERANCE / period)
            best.append(Pulse(period, phase, (share - chance) / (1.0 - chance + 1e-9)))
    if not best:
        return None
    top = max(p.score for p in best)
    if top < 0.35:
        return None
    # Among near-equal explanations prefer the longest period: 2 flashes per pulse
    # explain the same events at half the period but with twice the empty beats.
    return max((p for p in best if p.score >= 0.85 * top), key=lambda p: p.period)


# Beats per visual pulse the grid may use: every pulse then lands on a beat or an
# eighth of the lattice. (ratio, lattice steps per beat, cost of the choice)
RATIOS = ((1.0, 2, 0.0), (2.0, 1, 0.05), (0.5, 2, 0.1), (1.5, 2, 0.15), (3.0, 1, 0.2), (4.0, 1, 0.25))
SLACK = 1.01  # a tempo this close outside the mood's range still counts as inside
MAX_STEP = 1.15  # largest tempo ratio between neighbouring sections shorter than LONG_SECTION
LONG_SECTION = 8.0


def _distance(tempo: float, reference: float) -> float:
    return abs(math.log2(tempo / reference))


def choose_beat(pulse: float, tempo_low: float, reference: float, tempo_high: float) -> tuple[float, int] | None:
    """(beat period, lattice steps) for a visual pulse inside the mood's range, or None when no ratio fits.

    The beat is the pulse times a ratio of RATIOS, so every pulse falls on the
    lattice; among the ratios whose tempo lies inside the range the one nearest
    ``reference`` wins.
    """
    options = []
    for ratio, steps, penalty in RATIOS:
        tempo = 60.0 / pulse * ratio
        if tempo_low / SLACK <= tempo <= tempo_high * SLACK:
            beat = pulse / ratio
            if beat < FASTEST_EIGHTHS:
                steps = 1  # eighths this fast would sit too close to the picture's events to read as separate
            options.append((_distance(tempo, reference) + penalty, beat, steps))
    if not options:
        return None
    _, beat, steps = min(options)
    return beat, steps


def cut_beats(
    span: float,
    tempo_low: float,
    reference: float,
    tempo_high: float,
    held: bool = True,
    previous: float | None = None,
) -> float:
    """Beats between two cuts: a whole number (or a half, held into the cut) whose tempo lies in range.

    The grid then lands on both cuts; a half count ends on a held beat (a
    fermata into the cut) instead of a short one. Without any fitting count
    the reference tempo is kept and the cut falls where it falls. ``held=False``
    (a cut inside a section, where the beat goes on) allows whole counts only.
    A count more than MAX_STEP away from the ``previous`` section's tempo is
    taken only when no other fits.
    """
    options = []
    for halves in range(1, int(2 * span * tempo_high * SLACK / 60.0) + 1):
        count = halves / 2
        tempo = 60.0 * count / span
        if count >= 1 and (held or halves % 2 == 0) and tempo_low / SLACK <= tempo <= tempo_high * SLACK:
            jump = previous is not None and max(tempo, previous) / min(tempo, previous) > MAX_STEP
            options.append((_distance(tempo, reference) + (0.08 if halves % 2 else 0.0) + jump, count))
    return min(options)[1] if options else span * reference / 60.0


def _grid_points(phase: float, beat: float, start: float, end: float) -> np.ndarray:
    first = math.ceil((start - TOLERANCE - phase) / beat)
    last = math.floor((end - 1e-9 - phase) / beat)
    return phase + beat * np.arange(first, last + 1) if last >= first else np.zeros(0)


def _bar_offset(beats: np.ndarray, times: np.ndarray, weights: np.ndarray) -> int:
    """Which of the first four beats starts the first bar: the one whose bar-lines carry the most strength."""
    if beats.size < 2 or times.size == 0:
        return 0
    nearest = np.abs(beats[:, None] - times[None, :]).argmin(axis=0)
    on_beat = np.abs(beats[nearest] - times) <= TOLERANCE
    strength = np.zeros(beats.size)
    np.add.at(strength, nearest[on_beat], weights[on_beat])
    scores = [strength[o::4].sum() + (0.25 * strength.max() if o == 0 else 0.0) for o in range(min(4, beats.size))]
    return int(np.argmax(scores))


def _reference(sections: list[Section], target: float, low: float, high: float) -> float:
    """The tempo a section should stay near: halfway (geometrically) between its predecessor's, for
    continuity, and the take's target, so that a take keeps its own lean; the target for the first."""
    return float(np.clip(math.sqrt(sections[-1].tempo * target), low, high)) if sections else target


def _pulse_section(
    pulse: Pulse | None, start: float, reference: float, low: float, high: float
) -> tuple[float, int, float] | None:
    """(beat, steps, phase) from a visual pulse whose ratio fits the mood's range, else None."""
    if pulse is None:
        return None
    chosen = choose_beat(pulse.period, low, reference, high)
    if chosen is None:
        return None
    return chosen[0], chosen[1], pulse.phase + start


def fit_grid(
    event_times: np.ndarray,
    event_strengths: np.ndarray,
    cut_times: np.ndarray,
    duration: float,
    tempo: tuple[float, float, float],
    half_time_style: bool = False,
) -> BeatGrid:
    """Fit one grid per section; ``tempo`` is the mood's (low, target, high) BPM.

    Every section plays inside the range. A section with a visual pulse takes
    the pulse ratio nearest its reference tempo; a section without one (or
    whose pulse fits no ratio) is anchored on the cut that starts it, with a
    beat count that also lands the grid on the cut that ends it. Neighbouring
    short sections stay within MAX_STEP of each other where the range allows.
    """
    times = np.asarray(event_times, np.float64)
    weights = np.asarray(event_strengths, np.float64) if len(event_strengths) == len(times) else np.ones(times.size)
    order = np.argsort(times)
    times, weights = times[order], weights[order]
    low, target, high = tempo
    cuts = np.sort(np.asarray(cut_times, np.float64))
    spans = split_sections(cuts, duration)
    pulses: list[Pulse | None] = []
    for start, end in spans:
        inside = (times >= start - TOLERANCE) & (times < end)
        pulses.append(fit_pulse(times[inside] - start, weights[inside], end - start))
    whole = fit_pulse(times, weights, duration) if len(spans) == 1 and pulses[0] is None else None

    sections: list[Section] = []
    for index, ((start, end), pulse) in enumerate(zip(spans, pulses, strict=True)):
        inside = (times >= start - TOLERANCE) & (times < end)
        reference = _reference(sections, target, low, high)
        own = _pulse_section(pulse or whole, start if pulse else 0.0, reference, low, high)
        cut_at_start, cut_at_end = index > 0, index < len(spans) - 1
        source = pulse or whole
        if own is not None and source is not None:
            beat, steps, phase = own
            period: float | None = source.period
        else:
            period = None
            # The next cut the grid should land on: the section's end, or one that joined it.
            landing = next((c for c in cuts if start + MIN_SECTION * 0.5 <= c <= end + 1e-9), None)
            if landing is not None:
                short = end - start < LONG_SECTION or (
                    sections and sections[-1].end - sections[-1].start < LONG_SECTION
                )
                previous = sections[-1].tempo if sections and short else None
                count = cut_beats(landing - start, low, reference, high, landing >= end - 1e-9, previous)
                beat = (landing - start) / count
            else:
                beat = 60.0 / float(np.clip(reference, low, high))
            steps = 1 if beat < FASTEST_EIGHTHS else 2
            if cut_at_start or not inside.any():
                phase = end if (cut_at_end and not cut_at_start) else start
            else:
                strongest = np.flatnonzero(inside)[np.argmax(weights[inside])]
                phase = float(times[strongest]) if not cut_at_end else end
        beats = _grid_points(phase, beat, start, end)
        beats = beats[beats >= 0.0]
        if beats.size == 0:
            beats = np.array([start])
        if cut_at_start and abs(beats[0] - start) <= TOLERANCE:
            offset = 0  # the cut that starts the section is its downbeat
        else:
            offset = _bar_offset(beats, times[inside], weights[inside])
        section = Section(start, end, beat, period, steps, beats, beats[offset::4])
        section.half_time = half_time_style and section.tempo > high * 1.15
        if period is not None and source is not None and source.score >= STRONG_PULSE:
            section.pulse_phase, section.lead = source.phase + (start if pulse else 0.0), "pulse"
        elif _loose_events(times[inside], weights[inside], cuts) * beat / (end - start) >= BUSY_PICTURE:
            section.lead, section.half_time = "hits", True
        sections.append(section)

    _separate_boundaries(sections)
    return BeatGrid(sections, duration)


def _loose_events(times: np.ndarray, weights: np.ndarray, cuts: np.ndarray) -> int:
    """How many of ``times`` are events of their own: not a cut, and strong enough to be heard."""
    heard = weights >= LOOSE_STRENGTH
    if cuts.size and times.size:
        heard &= np.min(np.abs(times[:, None] - cuts[None, :]), axis=1) > TOLERANCE
    return int(np.count_nonzero(heard))


def _separate_boundaries(sections: list[Section]) -> None:
    """Drop a section's last beats when they crowd the next section's first beat.

    What is left between them is at least SHORTEST_BEAT of the shorter beat: the
    last beat before a cut is held longer (a fermata into the cut) rather than
    clipped.
    """
    for before, after in itertools.pairwise(sections):
        if not after.beats.size:
            continue
        gap = SHORTEST_BEAT * max(before.beat, after.beat)
        keep = before.beats < after.beats[0] - gap
        if not keep.all() and keep.any():
            before.beats = before.beats[keep]
            before.downbeats = before.downbeats[before.downbeats < after.beats[0] - gap]
