"""The FastAPI application: ``create_app(settings)`` builds everything the server needs.

One app owns one job store (under ``settings.cache_dir``), one queue with one
worker thread, one engine registry and one feature cache. Errors leave as
``{"detail": "<one sentence>"}`` with the status the ``errors`` class names.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from .. import __version__, pipeline
from ..engines.base import ProgressFn
from ..engines.registry import EngineRegistry
from ..errors import Diffv2mError, InputError
from ..job_request import JobRequest, user_message
from ..settings import Settings
from .jobs import JobManager
from .security import check_bind, check_browser_origin, check_token
from .store import JobRecord, JobStore

log = logging.getLogger("diffv2m.api")
MB = 1024 * 1024
SOURCE_CHECK_THREADS = 1  # submissions checked at once; the rest wait. One: a second thread only fought the
# event loop for the GIL (bench_health --posts 45: /health worst 174-318 ms with two, 170-255 ms with one)


class Guard:
    """ASGI middleware: token and browser-origin checks before any route reads a body."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            try:
                check_browser_origin(self.settings, headers.get("host"), headers.get("origin"))
                if not (scope["path"] == "/health" and scope["method"] in ("GET", "HEAD")):
                    check_token(self.settings, headers.get("authorization"))
            except Diffv2mError as exc:
                extra = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
                await JSONResponse({"detail": exc.message}, exc.status, headers=extra)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def score(record: JobRecord, registry: EngineRegistry, cache: Any, progress: ProgressFn) -> pipeline.PipelineOutput:
    """The pipeline in memory for one job (here, or on a Ray worker: diffv2m.scale)."""
    request = JobRequest.from_dict(record.request)
    try:
        return pipeline.run(request, registry=registry, cache=cache, progress=progress)
    except Diffv2mError as exc:
        exc.message = user_message(exc.message, record.names)
        raise


def save_takes(store: JobStore, record: JobRecord, output: pipeline.PipelineOutput) -> dict[str, Any]:
    """The take files into the store; returns the job's result metadata."""
    takes = []
    for index, take in enumerate(output.takes):
        store.write_result_file(store.take_path(record.id, index, "audio"), pipeline.wav_bytes(take.audio))
        beats = json.dumps(take.beats).encode()
        store.write_result_file(store.take_path(record.id, index, "beats"), beats)
        if take.midi is not None:
            store.write_result_file(store.take_path(record.id, index, "midi"), take.midi)
        takes.append(
            {
                "seed": take.seed,
                "tempo": take.beats["tempo"],
                "lufs": take.lufs,
                "true_peak_db": take.true_peak_db,
                "audio": f"/jobs/{record.id}/audio?take={index}",
                "beats": f"/jobs/{record.id}/beats?take={index}",
                "midi": f"/jobs/{record.id}/midi?take={index}" if take.midi is not None else None,
            }
        )
    return {**output.metadata, "sources": record.sources, "takes": takes}


def make_runner(settings: Settings, registry: EngineRegistry, store: JobStore) -> Any:
    """The worker's job function: pipeline in memory, then the take files into the store."""
    caches: list[Any] = []  # one feature cache for the server's life, opened by the first job

    def run(record: JobRecord, progress: ProgressFn) -> dict[str, Any]:
        if not caches:
            caches.append(pipeline.feature_cache(settings))
        return save_takes(store, record, score(record, registry, caches[0], progress))

    return run


def _warm_up(settings: Settings, registry: EngineRegistry) -> None:
    """Before the first job, not during it: the engine 'auto' picks, librosa's numba kernels, the device."""
    import numpy as np

    from ..audio.beats import track_beats

    registry.warm("auto")
    noise = np.random.default_rng(0).normal(0, 0.1, (2, 44_100 * 3)).astype(np.float32)
    track_beats(noise, 44_100)
    settings.resolved_device()


# manager_factory(settings, store) -> a JobManager: the Ray backend's (diffv2m.scale.backend).
ManagerFactory = Callable[[Settings, JobStore], JobManager]


def create_app(
    settings: Settings | None = None,
    *,
    registry: EngineRegistry | None = None,
    manager_factory: ManagerFactory | None = None,
) -> FastAPI:
    settings = settings or Settings()
    check_bind(settings)
    registry = registry or EngineRegistry(settings)
    try:
        store = JobStore(settings.cache_dir / "jobs", int(settings.cache_cap_mb * MB))
    except OSError as exc:
        raise InputError(f"The cache folder {settings.cache_dir} cannot be used ({exc.strerror or exc}).") from exc
    if manager_factory is not None:
        manager = manager_factory(settings, store)
    else:
        manager = JobManager(store, make_runner(settings, registry, store), settings.max_queue)
        manager.before_first_job = lambda: _warm_up(settings, registry)
    source_checks = ThreadPoolExecutor(SOURCE_CHECK_THREADS, thread_name_prefix="diffv2m-check")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        manager.start()
        log.info("diffv2m %s: jobs in %s", __version__, store.root)
        yield
        manager.stop()
        source_checks.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(
        title="Diff-V2M scoring server",
        version=__version__,
        description="Score video with music. See docs/api.md for the contract clients rely on.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.registry = registry
    app.state.store = store
    app.state.manager = manager
    app.state.source_checks = source_checks

    @app.exception_handler(Diffv2mError)
    async def user_error(request: Request, exc: Diffv2mError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
        return JSONResponse({"detail": f"'{where}': {first.get('msg', 'invalid value')}."}, 422)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "Internal server error; the server's log has the details."}, 500)

    from .routes import router

    app.include_router(router)
    app.add_middleware(Guard, settings=settings)
    return app
