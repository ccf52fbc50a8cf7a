"""The ``diffv2m`` command: one sub-module per sub-command.

Each sub-module ``cli/<name>.py`` defines ``register(subparsers)`` that adds its
parser and sets ``func`` to a callable taking the parsed args and returning an
exit code. Heavy imports (torch, av, librosa) happen inside those callables, so
``diffv2m --help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn

from .. import __version__
from ..errors import Diffv2mError

SUBCOMMAND_MODULES = (
    "serve",
    "generate",
    "sample_clip",
    "conformance",
    "convert",
    "bench",
    "prepare",
    "train",
    "eval",
    "make_benchmark",
)


class _Parser(argparse.ArgumentParser):
    """Usage errors in the documented form (docs/server.md): one line on stderr, exit status 1."""

    def error(self, message: str) -> NoReturn:
        self.exit(1, f"diffv2m: error: {message} (see '{self.prog} --help').\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="diffv2m", description="Score video with music (Diff-V2M).")
    parser.add_argument("--version", action="version", version=f"diffv2m {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue  # sub-command not built yet
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except Diffv2mError as exc:
        print(f"diffv2m: error: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("diffv2m: interrupted", file=sys.stderr)
        return 130
