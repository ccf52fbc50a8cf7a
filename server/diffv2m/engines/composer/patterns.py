"""Rhythm patterns, one 4/4 bar each, in eighth-note positions (see timeline.parse_pattern).

Drums: ``X`` = full, ``x`` = medium, ``o`` = soft, ``.`` = rest. Pitched lines:
``R`` root, ``F`` fifth, ``O`` octave, ``T`` third, ``-`` hold, ``.`` rest.
Levels 1..3 are the arrangement densities (section motion decides). Nothing is
finer than an eighth: the composer never subdivides below half the visual pulse.
"""

from __future__ import annotations

DrumBar = dict[str, str]

DRUM_PATTERNS: dict[str, dict[int, DrumBar]] = {
    "four_floor": {
        1: {"kick": "X.x.X.x.", "hat": ".o.o.o.o"},
        2: {"kick": "X.X.X.X.", "clap": "..x...x.", "hat_open": ".o.o.o.o"},
        3: {"kick": "X.X.X.X.", "clap": "..X...X.", "hat_open": ".x.x.x.x", "hat": "o.o.o.o.", "shaker": "oooooooo"},
    },
    "pop_backbeat": {
        1: {"kick": "X...x...", "snare": "..x...x.", "hat": "o.o.o.o."},
        2: {"kick": "X..oX...", "snare": "..X...X.", "hat": "xoxoxoxo"},
        3: {"kick": "X..oX.o.", "snare": "..X...X.", "hat": "xoxoxoxo", "shaker": "oooooooo"},
    },
    "brushed": {
        1: {"kick": "x.......", "rim": "....o...", "shaker": "o.o.o.o."},
        2: {"kick": "x...o...", "rim": "..o...o.", "shaker": "oooooooo"},
        3: {"kick": "x..ox...", "rim": "..x...x.", "shaker": "oooooooo", "hat": "o.o.o.o."},
    },
    "sparse": {
        1: {"kick": "x.......", "rim": "....o..."},
        2: {"kick": "x...o...", "rim": "..o...o.", "hat": "o.o.o.o."},
        3: {"kick": "x..ox...", "snare": "..o...x.", "hat": "oooooooo"},
    },
    "driving": {
        1: {"kick": "X.x.X.x.", "hat": "oooooooo"},
        2: {"kick": "X.X.X.X.", "snare": "..X...X.", "hat": "xoxoxoxo"},
        3: {"kick": "X.XoX.Xo", "snare": "..X...X.", "hat": "xoxoxoxo", "tom_low": "o.o.o.o."},
    },
    "tom_pulse": {
        1: {"kick": "X...x...", "tom_low": "o.o.o.o."},
        2: {"kick": "X...X...", "tom_low": "ooxoooxo", "rim": "..o...o."},
        3: {"kick": "X..xX...", "tom_low": "oxoxoxox", "tom_mid": "..x...x.", "snare": "....X..."},
    },
    "taiko": {
        1: {"taiko": "X...x...", "tom_low": "..o...o."},
        2: {"taiko": "X..xX...", "tom_low": "..x...x.", "snare": "....X..."},
        3: {"taiko": "X..xX.x.", "tom_mid": "..x...x.", "snare": "..X...X.", "hat": "oooooooo"},
    },
    "big_backbeat": {
        1: {"kick": "X...x...", "snare": "..x...x."},
        2: {"kick": "X..xX...", "snare": "..X...X.", "hat": "o.o.o.o."},
        3: {"kick": "X..xX.x.", "snare": "..X...X.", "hat": "xoxoxoxo", "taiko": "X.......", "tom_low": "......o."},
    },
}

# Half-time feel: the backbeat lands on beat 3 and the hats mark only the beats.
HALF_TIME: dict[int, DrumBar] = {
    1: {"kick": "X.......", "snare": "....x...", "hat": "o.o.o.o."},
    2: {"kick": "X.....o.", "snare": "....X...", "hat": "x.o.x.o."},
    3: {"kick": "X..o..o.", "snare": "....X...", "hat": "xoxoxoxo"},
}

# The odd seeds' take of the slow families (and of the half-time feel): the same kit, displaced.
# Kicks and backbeats move to the off-beats before beats 2 and 4 (a 3+3+2 feel), the hats or shaker
# to the off-beats, so a take differs from its neighbour in *where* the groove strikes, not only in
# key and sound: a slow mood's narrow tempo range often leaves two takes the same grid.
DISPLACED: dict[str, dict[int, DrumBar]] = {
    "sparse": {
        1: {"kick": "x.....o.", "rim": "...o...."},
        2: {"kick": "x.....o.", "rim": "...o...o", "hat": ".o.o.o.o"},
        3: {"kick": "x..o..o.", "snare": "....x...", "rim": "...o...o", "hat": ".o.o.o.o"},
    },
    "brushed": {
        1: {"kick": "x.......", "rim": "......o.", "shaker": ".o.o.o.o"},
        2: {"kick": "x.....o.", "rim": "...o...o", "shaker": "o.o.o.o."},
        3: {"kick": "x..o..o.", "rim": "...x...x", "shaker": "o.o.o.o.", "hat": ".o.o.o.o"},
    },
    "tom_pulse": {
        1: {"kick": "X.....x.", "tom_low": "o..o..o."},
        2: {"kick": "X..x..X.", "tom_low": "o..o..o.", "rim": "....o..."},
        3: {"kick": "X..x..X.", "tom_low": "o.oo.oo.", "tom_mid": "...x...x", "snare": "....X..."},
    },
    "half_time": {
        1: {"kick": "X.....x.", "snare": "....x...", "hat": ".o.o.o.o"},
        2: {"kick": "X..x....", "snare": "....X..o", "hat": ".o.o.o.o"},
        3: {"kick": "X..x..x.", "snare": "....X...", "hat": ".oxo.oxo"},
    },
}

# Fills replace the second half of a bar (positions 4..7) before a cut and every
# eighth bar; "backbeat" stands for the family's backbeat drum.
FILLS: dict[int, DrumBar] = {
    1: {"backbeat": "......x."},
    2: {"backbeat": "....x.xX", "tom_mid": ".....x.."},
    3: {"backbeat": "....xoXX", "tom_mid": ".....x..", "tom_low": ".......x"},
}
SOFT_DRUMS = frozenset({"hat", "hat_open", "shaker"})  # dropped under a fill, humanised everywhere

# The drum every mood uses to put an onset on a visual event that has none yet.
ACCENT_DRUM = {
    "calm": "rim",
    "sad": "rim",
    "mysterious": "rim",
    "happy": "clap",
    "tense": "tom_mid",
    "epic": "snare",
}
# A family's backbeat voice, used by the half-time pattern.
BACKBEAT = {
    "four_floor": "clap",
    "pop_backbeat": "snare",
    "brushed": "rim",
    "sparse": "rim",
    "driving": "snare",
    "tom_pulse": "tom_mid",
    "taiko": "taiko",
    "big_backbeat": "snare",
}
# Only these count as an audible accent on an event: broadband hits. A kick or a
# taiko alone lives below 1 kHz, where sustained parts mask its onset; hats and
# shakers are too soft to rely on.
STRONG_DRUMS = frozenset({"snare", "clap", "rim", "tom_mid"})
ACCENT_VELOCITY = 0.6  # a pattern hit at least this loud already marks the event

BASS_LINES: dict[str, dict[int, tuple[str, ...]]] = {
    "roots": {1: ("R-------",), 2: ("R-------", "R---R---"), 3: ("R---R---", "R---F---")},
    "roots_fifths": {1: ("R-------",), 2: ("R---F---",), 3: ("R---F-R-", "R-R-F---")},
    "octave_bounce": {1: ("R---R---",), 2: ("R-O-R-O-", "R.O.R.O."), 3: ("ROROROFO", "R.ORR.OR")},
    "roots_eighths": {1: ("R---R---",), 2: ("R-RRR-RR", "RRRRRRRR"), 3: ("RRRRRRRR", "RRRRFFOO")},
    "pulse_eighths": {1: ("R-R-R-R-",), 2: ("RRRRRRRR",), 3: ("RRRRRRRR", "RRORRROR")},
}

# Chord rhythm of the harmony instrument (sustained voices just hold the bar).
COMPING: dict[int, tuple[str, ...]] = {
    1: ("X-------", "X---x---"),
    2: ("X--x--x-", "X-x-X-x-", "X---x-x-"),
    3: ("X-xX-xX-", "X-x-X-xx", "xxX-xxX-"),
}
SUSTAINED_HARMONY = frozenset(
    {"pad_warm", "pad_bright", "pad_dark", "pad_air", "strings_soft", "strings_dark", "strings_ensemble", "brass"}
)

# Melody rhythm cells: 'x' starts a note, '-' holds, '.' rests.
MELODY_CELLS: dict[int, tuple[str, ...]] = {
    1: ("x-------", "x---x---", "x-----x-", "....x---", "x---x-x-"),
    2: ("x---x-x-", "x-x-x---", "x--x--x-", "..x-x-x-", "x-----xx", "x-x---x-"),
    3: ("x-xxx-x-", "xx-x-xx-", "x-x-xxx-", "xxx-x-x-", "x-xx-xx-"),
}
PHRASE_ENDINGS = ("x-------", "x---....", "x-x-----", "x-----..")
ARPEGGIO = "01232101"  # chord-tone indices, one per eighth
