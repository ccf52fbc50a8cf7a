"""Which General-MIDI sound bank renders the composer's notes, and loading it once.

Lookup order (docs/composer.md, "Sound banks"):

1. the configured bank (``--sound-bank`` / ``DIFFV2M_SOUND_BANK``); the word
   ``numpy`` asks for the numpy synthesis instead;
2. MuseScore General (MIT), as Debian's ``musescore-general-soundfont-*`` install it;
3. FluidR3_GM (MIT), Debian's ``fluid-soundfont-gm``;
4. TimGM6mb (GPL-2), shipped inside the ``pretty_midi`` wheel, so a fresh
   machine has a bank without any system package;
5. none of them (or no ``tinysoundfont``): the numpy synthesis of instruments/.

A configured bank that is missing or unreadable is one clear error, never a
silent fallback: the user asked for that sound.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import SoundBankError

NUMPY = "numpy"  # the configured value that selects the numpy synthesis
NUMPY_BANK_NAME = "numpy synthesis"
INSTALL_HINT = "pip install --no-deps tinysoundfont==0.3.7 (scripts/setup.sh does it)"


@dataclass(frozen=True)
class BankInfo:
    """What renders a result: reported as ``sound_bank`` in every result."""

    name: str
    licence: str
    path: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"name": self.name, "licence": self.licence, "path": self.path}


NUMPY_SYNTHESIS = BankInfo(NUMPY_BANK_NAME, "GPL-3.0-or-later (this project's code; no samples)")


def _timgm6mb() -> Path | None:
    spec = importlib.util.find_spec("pretty_midi")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "TimGM6mb.sf2"


def system_candidates() -> list[BankInfo]:
    """The known banks, in lookup order (those not installed are skipped by :func:`find_bank`)."""
    mit = "MIT"
    banks = [
        BankInfo("MuseScore General", mit, "/usr/share/sounds/sf3/MuseScore_General.sf3"),
        BankInfo("MuseScore General", mit, "/usr/share/sounds/sf2/MuseScore_General.sf2"),
        BankInfo("MuseScore General Lite", mit, "/usr/share/sounds/sf3/MuseScore_General_Lite.sf3"),
        BankInfo("FluidR3_GM", mit, "/usr/share/sounds/sf2/FluidR3_GM.sf2"),
    ]
    timgm = _timgm6mb()
    if timgm is not None:
        banks.append(BankInfo("TimGM6mb", "GPL-2.0", str(timgm)))
    return banks


def renderer_available() -> bool:
    return importlib.util.find_spec("tinysoundfont") is not None


def find_bank(configured: str | None, candidates: list[BankInfo] | None = None) -> BankInfo:
    """The bank to render with (see the module docstring for the order)."""
    if configured and configured.strip().lower() == NUMPY:
        return NUMPY_SYNTHESIS
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise SoundBankError(f"The sound bank {path} does not exist (set by --sound-bank / DIFFV2M_SOUND_BANK).")
        if not renderer_available():
            raise SoundBankError(f"The sound bank {path} needs the tinysoundfont package: {INSTALL_HINT}.")
        return BankInfo(path.stem, "as stated by the bank's author (configured by the user)", str(path))
    if not renderer_available():
        return NUMPY_SYNTHESIS
    for bank in system_candidates() if candidates is None else candidates:
        if bank.path and Path(bank.path).is_file():
            return bank
    return NUMPY_SYNTHESIS


class LoadedBank:
    """One bank decoded in memory for the life of the engine; renders one score at a time."""

    def __init__(self, info: BankInfo) -> None:
        import tinysoundfont

        assert info.path is not None
        self.info = info
        self.lock = threading.Lock()  # the synthesiser's channels are state: one render at a time
        self.synth: Any = tinysoundfont.Synth(samplerate=44_100)
        try:
            self.sfid = self.synth.sfload(info.path, max_voices=256)
        except RuntimeError as exc:  # what tinysoundfont raises for a file it cannot parse
            raise SoundBankError(f"The sound bank {info.path} could not be read as an sf2/sf3 file ({exc}).") from exc
        if self.synth.sfpreset_name(self.sfid, 0, 0) is None:
            raise SoundBankError(f"The sound bank {info.path} has no General-MIDI piano (bank 0, program 0).")

    def has(self, bank: int, program: int) -> bool:
        return self.synth.sfpreset_name(self.sfid, bank, program) is not None


def load_bank(configured: str | None) -> LoadedBank | None:
    """The loaded bank, or None for the numpy synthesis."""
    info = find_bank(configured)
    if info.path is None:
        return None
    try:
        return LoadedBank(info)
    except SoundBankError:
        if configured:
            raise
        return None  # a broken system bank: fall back rather than refuse every job
