"""``diffv2m generate VIDEO -o OUT.wav``: score a video in this process, no server needed.

Runs the same pipeline as the server's worker. A progress bar goes to stderr;
with ``--json`` the last line of stdout is one JSON object (engine, duration,
tempo, beats, downbeats, ... in seconds from the range start) that scripts
parse. Existing files are never replaced unless ``--overwrite`` is given, and
then only regular files: a device, FIFO or symlink is never replaced. Each WAV is
written to a hidden ``.part`` file beside it first; Ctrl-C and SIGTERM remove it,
and one left by a killed run is removed at the next start.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from ..emotion import emotion_names
from ..errors import InputError
from ..job_request import JobRequest, check_sources, validate
from ..limits import ENGINE_CHOICES, MAX_DURATION_S, MAX_TAKES, PRESET_CHOICES, shown
from .options import add_model_options, settings_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("generate", help="score a video file with music (WAV), no server needed")
    p.add_argument("video", type=Path, help="the video to score")
    p.add_argument("-o", "--output", type=Path, required=True, help="the WAV to write (44.1 kHz stereo, 16-bit)")
    p.add_argument("--start", type=float, default=0.0, help="range start in the video, seconds (default 0)")
    p.add_argument("--end", type=float, help="range end, seconds (default: end of the video)")
    p.add_argument("--emotion", default="auto", help=f"one of: {', '.join(emotion_names())} (default auto)")
    p.add_argument("--seed", type=int, help="random seed (default: random, printed)")
    p.add_argument("--takes", type=int, default=1, help=f"1..{MAX_TAKES} takes with seeds seed, seed+1, ...")
    p.add_argument("--engine", default="auto", choices=ENGINE_CHOICES, help="auto: Diff-V2M when weights are set")
    p.add_argument("--steps", type=int, help="sampler steps (Diff-V2M; default: the preset's, else the engine's)")
    p.add_argument(
        "--preset",
        choices=PRESET_CHOICES,
        help="Diff-V2M speed against fidelity: fast (DPM-Solver++ 25 steps), default (50), released (DDIM 250)",
    )
    p.add_argument("--guidance", type=float, help="classifier-free guidance scale (Diff-V2M)")
    p.add_argument(
        "--duration", type=float, help=f"seconds of music (default: the range length; at most {MAX_DURATION_S:g})"
    )
    p.add_argument("--midi", type=Path, help="also write the score as a MIDI file (default engine; takes: .take2.mid)")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line of stdout")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_model_options(p)
    p.set_defaults(func=run)


def take_outputs(output: Path, takes: int) -> list[Path]:
    """score.wav, score.take2.wav, score.take3.wav, ..."""
    return [output if k == 0 else output.with_name(f"{output.stem}.take{k + 1}{output.suffix}") for k in range(takes)]


def _part_name(path: Path, pid: int) -> Path:
    return path.with_name(f".{path.name}.{pid}.part")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_parts(path: Path) -> int:
    """Remove ``.part`` files of ``path`` left by runs that were killed; returns how many."""
    removed = 0
    for part in path.parent.glob(f".{path.name}.*.part"):
        pid = part.name[len(path.name) + 2 : -len(".part")]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            part.unlink(missing_ok=True)
            removed += 1
    return removed


def check_output(path: Path, overwrite: bool) -> None:
    """Before any work: the folder exists and is writable; ``path`` is free, or (with overwrite) a regular file."""
    folder = path.parent
    if not folder.is_dir():
        raise InputError(f"The output folder {shown(folder)} does not exist.")
    probe = _part_name(path, os.getpid())
    try:  # a real write: access() says yes to root on read-only or virtual file systems
        probe.open("xb").close()
        probe.unlink()
    except OSError as exc:
        raise InputError(f"The output folder {shown(folder)} is not writable ({exc.strerror or exc}).") from None
    _check_target(path, overwrite)


def _check_target(path: Path, overwrite: bool) -> None:
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode):
        raise InputError(f"{shown(path)} is a folder; give the WAV file to write, e.g. {shown(path / 'score.wav')}.")
    if not stat.S_ISREG(mode):
        kind = "symlink" if stat.S_ISLNK(mode) else "device, FIFO or socket"
        raise InputError(f"{shown(path)} is a {kind}, not a regular file; it is never replaced, choose another name.")
    if not overwrite:
        raise InputError(f"{shown(path)} already exists; choose another name or pass --overwrite.")


def write_new_file(path: Path, data: bytes, overwrite: bool) -> None:
    """Write ``path`` whole or not at all; never replace a file unless ``overwrite``, never a non-regular one."""
    _check_target(path, overwrite)
    temp = _part_name(path, os.getpid())
    try:
        with temp.open("xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            _check_target(path, overwrite)  # still a regular file (or gone) just before the rename
            os.replace(temp, path)  # replaces the name itself: a symlink there is never followed
            return
        try:
            os.link(temp, path)  # atomic, and fails if the name is taken meanwhile
        except FileExistsError as exc:
            raise InputError(f"{shown(path)} already exists; choose another name or pass --overwrite.") from exc
        except OSError:  # file systems without hard links
            with path.open("xb") as handle:
                handle.write(data)
    finally:
        temp.unlink(missing_ok=True)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt, so ``finally`` blocks (the ``.part`` removal) run as on Ctrl-C."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _ProgressBar:
    """tqdm on stderr: the stage as the description, percent as the bar."""

    def __init__(self, enabled: bool) -> None:
        from tqdm import tqdm

        layout = "{desc:<16}{bar}{percentage:3.0f}% {elapsed}"
        self.bar = tqdm(total=100, file=sys.stderr, disable=not enabled, bar_format=layout)
        self.stage = ""

    def __call__(self, stage: str, fraction: float) -> None:
        if stage != self.stage:
            self.stage = stage
            self.bar.set_description_str(stage)
        self.bar.update(max(0.0, round(fraction * 100, 1) - self.bar.n))

    def close(self) -> None:
        self.bar.close()


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    outputs = take_outputs(args.output, args.takes if 1 <= args.takes <= MAX_TAKES else 1)
    midi_outputs = take_outputs(args.midi, len(outputs)) if args.midi else []
    for path in outputs + midi_outputs:
        check_output(path, args.overwrite)
        remove_stale_parts(path)
    video = args.video.expanduser()
    request = JobRequest(
        video=str(video.resolve()),
        start=args.start,
        end=args.end,
        emotion=args.emotion,
        seed=args.seed,
        takes=args.takes,
        engine=args.engine,
        steps=args.steps,
        preset=args.preset,
        guidance=args.guidance,
        duration=args.duration,
    )
    validate(request)

    from .. import pipeline
    from ..engines.registry import DEFAULT, EngineRegistry

    registry = EngineRegistry(settings)
    engine = registry.resolve(request.engine)  # a clear error before any video work
    if args.midi and engine != DEFAULT:
        raise InputError(f"--midi needs the default engine: the {engine} engine makes audio, not notes.")
    check_sources(request)
    bar = _ProgressBar(enabled=not args.quiet)
    with sigterm_as_interrupt():
        try:
            result = pipeline.run(request, registry=registry, cache=pipeline.feature_cache(settings), progress=bar)
        finally:
            bar.close()
        for take, path in zip(result.takes, outputs, strict=True):
            write_new_file(path, pipeline.wav_bytes(take.audio), args.overwrite)
        for take, path in zip(result.takes, midi_outputs, strict=False):
            if take.midi is not None:
                write_new_file(path, take.midi, args.overwrite)
    summary = _summary(result, outputs, midi_outputs)
    if args.json:
        print(json.dumps(summary), flush=True)
    else:
        for take in summary["takes"]:
            print(
                f"wrote {take['output']}: {summary['duration']:.2f} s, {summary['engine']} engine, "
                f"{take['tempo']:.1f} BPM, {len(take['beats'])} beats, seed {take['seed']}"
            )
    return 0


def _summary(result: Any, outputs: list[Path], midi_outputs: list[Path]) -> dict[str, Any]:
    midis = [str(p) for p in midi_outputs] or [None] * len(outputs)
    takes = [
        {
            "output": str(path),
            "midi": midi,
            "seed": take.seed,
            "tempo": take.beats["tempo"],
            "beats": take.beats["beats"],
            "downbeats": take.beats["downbeats"],
            "onsets": take.beats["onsets"],
            "lufs": take.lufs,
            "true_peak_db": take.true_peak_db,
        }
        for take, path, midi in zip(result.takes, outputs, midis, strict=True)
    ]
    first = takes[0]
    return {
        **result.metadata,
        "output": first["output"],
        "beats": first["beats"],
        "downbeats": first["downbeats"],
        "onsets": first["onsets"],
        "takes": takes,
    }
