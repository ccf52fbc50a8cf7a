"""``diffv2m serve``: the local HTTP server the Blender add-on talks to (docs/api.md)."""

from __future__ import annotations

import argparse
import logging
import sys

from .options import add_model_options, settings_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("serve", help="run the local scoring server (HTTP API of docs/api.md)")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1; anything else needs a token)")
    p.add_argument("--port", type=int, help="port (default 8767)")
    p.add_argument(
        "--token",
        help="require 'Authorization: Bearer TOKEN' (prefer DIFFV2M_TOKEN: flags show up in process lists)",
    )
    p.add_argument("--max-upload-mb", type=float, help="largest accepted upload (default 2048)")
    p.add_argument("--max-queue", type=int, help="jobs allowed to wait before new ones are refused (default 64)")
    p.add_argument(
        "--allowed-root",
        action="append",
        metavar="DIR",
        help="local-path jobs may only read files under DIR (repeatable; default: any readable file)",
    )
    p.add_argument(
        "--allow-browser-paths",
        action="store_true",
        help="let requests from web browsers name local files (off: pages must upload; DIFFV2M_ALLOW_BROWSER_PATHS=1)",
    )
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    add_model_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    # The server's own lines (disconnects, evictions, failed jobs) beside uvicorn's, at the same level.
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s:     %(name)s: %(message)s")
    from ..api.app import create_app  # raises AccessDenied for a non-loopback bind without a token

    app = create_app(settings)
    import uvicorn

    registry = app.state.registry
    print(
        f"diffv2m: serving on http://{settings.host}:{settings.port} "
        f"(engine auto = {registry.describe()['default_engine']}, cache {settings.cache_dir})",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=args.log_level,
        timeout_graceful_shutdown=5,
        access_log=args.log_level == "debug",
    )
    return 0
