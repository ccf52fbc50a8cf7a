"""General-MIDI orchestration: which GM program plays each part, per mood, section and seed, and its mix.

The one place for instrumentation in GM terms (the sampled renderer and the MIDI
export both read it; docs/composer.md lists the table). Each mood offers, per
part, a few *palettes* of (soft, full) GM programs; the seed walks through them
with ``(base + seed) % len`` so two neighbouring seeds never share a palette in
any part that has two or more (takes differ in instrumentation). A section
plays its palette's *full* program when it is among the take's loudest sections
(arrangement level 2 or more), the *soft* one elsewhere. Drums use the GM
percussion kits of bank 128 on MIDI channel 10; program numbers are 0-based
(General MIDI 1, "GM 1 Sound Set", minus one).
"""

from __future__ import annotations

from dataclasses import dataclass

Palette = tuple[int, int]  # (soft, full) GM program

PROGRAMS: dict[str, dict[str, tuple[Palette, ...]]] = {
    "calm": {
        "bass": ((32, 32), (35, 33), (33, 32)),
        "bed": ((89, 49), (49, 48), (91, 52)),
        "harmony": ((4, 0), (24, 25), (46, 48)),
        "melody": ((73, 73), (71, 68), (11, 73), (74, 71)),
        "stabs": ((11, 11), (46, 46), (8, 8)),
    },
    "happy": {
        "bass": ((33, 34), (32, 33), (38, 39)),
        "bed": ((48, 48), (90, 61), (16, 48)),
        "harmony": ((0, 1), (25, 27), (5, 4), (12, 0)),
        "melody": ((72, 56), (9, 73), (65, 64), (13, 11)),
        "stabs": ((61, 61), (0, 0), (114, 114)),
    },
    "tense": {
        "bass": ((38, 38), (43, 43), (39, 38)),
        "bed": ((44, 44), (95, 92), (50, 51)),
        "harmony": ((45, 48), (28, 29), (62, 61)),
        "melody": ((40, 40), (69, 57), (86, 81)),
        "stabs": ((55, 55), (47, 47), (61, 61)),
    },
    "sad": {
        "bass": ((42, 43), (35, 35), (32, 32)),
        "bed": ((49, 49), (92, 89), (53, 52)),
        "harmony": ((0, 0), (46, 46), (4, 49)),
        "melody": ((42, 40), (73, 73), (69, 68), (0, 40)),
        "stabs": ((0, 0), (46, 46), (14, 14)),
    },
    "epic": {
        "bass": ((43, 42), (57, 58), (38, 43)),
        "bed": ((48, 48), (52, 52), (49, 48)),
        "harmony": ((61, 61), (60, 61), (48, 44)),
        "melody": ((60, 56), (40, 40), (52, 56)),
        "stabs": ((55, 55), (47, 47), (61, 61)),
    },
    "mysterious": {
        "bass": ((35, 35), (42, 42), (38, 39)),
        "bed": ((94, 94), (99, 97), (92, 89)),
        "harmony": ((11, 11), (8, 10), (46, 46), (107, 46)),
        "melody": ((77, 73), (75, 75), (79, 71)),
        "stabs": ((14, 14), (98, 98), (11, 11)),
    },
}
KITS: dict[str, tuple[int, ...]] = {  # GM percussion kits (bank 128): 0 Standard, 8 Room, 16 Power, ...
    "calm": (40, 32),
    "happy": (0, 8, 24),
    "tense": (16, 24, 25),
    "sad": (40, 32, 8),
    "epic": (48, 16, 8),
    "mysterious": (32, 48, 40),
}
# The composer's drum voices on the GM percussion key map (GM 1 "Percussion Key Map").
DRUM_KEYS: dict[str, int] = {
    "kick": 36,
    "snare": 38,
    "clap": 39,
    "hat": 42,
    "hat_open": 46,
    "shaker": 70,
    "rim": 37,
    "tom_low": 45,
    "tom_mid": 47,
    "crash": 49,
}
# Where each kit piece sits, as a drummer's kit is heard from the front (-1 left .. +1 right).
DRUM_PANS: dict[str, float] = {
    "hat": 0.35,
    "hat_open": 0.35,
    "shaker": -0.45,
    "rim": -0.2,
    "tom_low": -0.4,
    "tom_mid": 0.3,
    "crash": 0.4,
}
# Level of each kit piece against the kick (amplitude), the balance a drummer plays with; the
# MIDI velocity is scaled by its square root, as a GM bank's velocity curve is roughly 40 log10(v) dB.
DRUM_LEVELS: dict[str, float] = {
    "kick": 1.0,
    "taiko": 0.9,
    "snare": 0.6,
    "clap": 0.55,
    "rim": 0.45,
    "tom_low": 0.5,
    "tom_mid": 0.5,
    "crash": 0.3,
    "hat": 0.22,
    "hat_open": 0.18,
    "shaker": 0.16,
}
TAIKO = (116, 45)  # GM program "Taiko Drum" and the key it plays (a melodic program, not the kit)
RISER_PROGRAM = 119  # "Reverse Cymbal", the riser's stand-in in the MIDI file
DRUM_BANK = 128
MIDI_CHANNELS = {"bass": 0, "bed": 1, "harmony": 2, "melody": 3, "stabs": 4, "fx": 5, "taiko": 6, "drums": 9}
FULL_LEVEL = 2  # sections at this arrangement level or above play the palette's full program


@dataclass(frozen=True)
class PartMix:
    """How a part sits in the stereo mix."""

    pan: float  # -1 left .. +1 right, applied to the part's stereo stem
    send: float  # reverb send
    width: float  # 0 mono .. 1: split over two channels panned +-width (doubled and detuned for the bed)
    duck: float  # how much the kick pushes it down (sidechain pump)


MIX: dict[str, PartMix] = {
    "drums": PartMix(0.0, 0.15, 0.0, 0.0),
    "bass": PartMix(0.0, 0.04, 0.0, 0.35),
    "bed": PartMix(0.0, 0.5, 0.9, 0.2),
    "harmony": PartMix(-0.3, 0.32, 0.8, 0.1),
    "melody": PartMix(0.3, 0.35, 0.0, 0.0),
    "stabs": PartMix(0.3, 0.4, 0.6, 0.0),
    "fx": PartMix(0.0, 0.5, 0.0, 0.0),
}
DEFAULT_MIX = PartMix(0.0, 0.3, 0.0, 0.0)


@dataclass(frozen=True)
class Orchestra:
    """The GM programs of one take: per part, the program from each section start on."""

    kit: int
    programs: dict[str, list[tuple[float, int]]]  # part -> [(section start, program)], time-ordered

    def program_at(self, part: str, time: float) -> int:
        current = self.programs[part][0][1]
        for start, program in self.programs[part]:
            if start <= time + 1e-9:
                current = program
        return current

    def describe(self) -> dict[str, object]:
        """For the result's details: the GM programs each part used, and the kit."""
        return {"kit": self.kit, **{part: sorted({p for _, p in changes}) for part, changes in self.programs.items()}}


def _mood(preset: str) -> str:
    return preset if preset in PROGRAMS else "calm"


def orchestrate(preset: str, seed: int, sections: list[tuple[float, int]]) -> Orchestra:
    """GM programs of a take: ``sections`` are (start time, arrangement level) in time order."""
    mood = _mood(preset)
    loud = max([level for _, level in sections], default=0) >= FULL_LEVEL
    programs: dict[str, list[tuple[float, int]]] = {}
    for offset, (part, palettes) in enumerate(PROGRAMS[mood].items()):
        soft, full = palettes[(offset + seed) % len(palettes)]
        changes = [(start, full if loud and level >= FULL_LEVEL else soft) for start, level in sections]
        programs[part] = changes or [(0.0, soft)]
    kits = KITS[mood]
    return Orchestra(kits[seed % len(kits)], programs)


def mix_of(part: str) -> PartMix:
    return MIX.get(part, DEFAULT_MIX)
