"""``diffv2m generate VIDEO -o OUT.wav``: score a video in this process, no server needed.

Runs the same pipeline as the server's worker. A progress bar goes to stderr;
with ``--json`` the last line of stdout is one JSON object (engine, duration,
tempo, beats, downbeats, ... in seconds from the range start) that scripts
parse. Existing files are never replaced unless ``--overwrite`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..emotion import emotion_names
from ..errors import InputError
from ..job_request import ENGINE_CHOICES, MAX_TAKES, JobRequest, check_sources, validate
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
    p.add_argument("--steps", type=int, help="sampler steps (Diff-V2M; default: the engine's)")
    p.add_argument("--guidance", type=float, help="classifier-free guidance scale (Diff-V2M)")
    p.add_argument("--duration", type=float, help="seconds of music (default: the range length)")
    p.add_argument("--midi", type=Path, help="also write the score as a MIDI file (default engine; takes: .take2.mid)")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line of stdout")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_model_options(p)
    p.set_defaults(func=run)


def take_outputs(output: Path, takes: int) -> list[Path]:
    """score.wav, score.take2.wav, score.take3.wav, ..."""
    return [output if k == 0 else output.with_name(f"{output.stem}.take{k + 1}{output.suffix}") for k in range(takes)]


def write_new_file(path: Path, data: bytes, overwrite: bool) -> None:
    """Write ``path`` whole or not at all; never replace a file unless ``overwrite``."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(temp, path)
            return
        try:
            os.link(temp, path)  # atomic, and fails if the name is taken meanwhile
        except FileExistsError as exc:
            raise InputError(f"{path} already exists; choose another name or pass --overwrite.") from exc
        except OSError:  # file systems without hard links
            with path.open("xb") as handle:
                handle.write(data)
    finally:
        Path(temp).unlink(missing_ok=True)


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
    if not args.output.parent.is_dir():
        raise InputError(f"The output folder {args.output.parent} does not exist.")
    if args.output.is_dir():
        raise InputError(f"{args.output} is a folder; give the WAV file to write, e.g. {args.output / 'score.wav'}.")
    midi_outputs = take_outputs(args.midi, len(outputs)) if args.midi else []
    if args.midi and not args.midi.parent.is_dir():
        raise InputError(f"The MIDI output folder {args.midi.parent} does not exist.")
    if not args.overwrite:
        taken = [p for p in outputs + midi_outputs if p.exists()]
        if taken:
            raise InputError(f"{taken[0]} already exists; choose another name or pass --overwrite.")
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
