"""The HTTP routes of docs/api.md."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, JSONResponse
from starlette.requests import ClientDisconnect

from .. import __version__
from ..emotion import AUTO, PRESETS
from ..errors import Diffv2mError, InputError, NotFound
from ..job_request import FormValues, JobRequest, Segment, check_sources, request_from_form, validate
from ..limits import MAX_SEGMENTS, shown
from ..settings import Settings
from .jobs import JobManager
from .schema import job_form_schema
from .security import Client, check_local_path
from .store import JobRecord, JobStore
from .uploads import ParsedForm, read_form, too_large_message

log = logging.getLogger("diffv2m.api")
router = APIRouter()
MB = 1024 * 1024
FILE_FIELDS = {"video", "files"}
FORM_FIELDS = set(job_form_schema()["properties"]) - FILE_FIELDS
MULTIPART_SLACK = 64 * 1024  # form fields and part headers on top of the file bytes


_DEVICES: dict[str, str] = {}


async def _device(settings_device: str) -> str:
    """The resolved device, found once in a thread ("auto" imports torch: seconds, off the event loop)."""
    if settings_device not in _DEVICES:
        _DEVICES[settings_device] = await asyncio.to_thread(Settings(device=settings_device).resolved_device)
    return _DEVICES[settings_device]


@router.get("/health")
async def health(request: Request) -> dict[str, Any]:
    """Version, engines and their weights, device, queue: what a client shows before it submits.

    On the event loop, not in the thread pool: everything here is in-memory (the locks it takes
    are held only for list copies), and under 45 concurrent submissions the pool's hand-off
    waited behind their checks (bench/bench_health.py: worst answer 636-758 ms, 250-337 ms here).
    """
    settings: Settings = request.app.state.settings
    manager: JobManager = request.app.state.manager
    return {
        "status": "ok",
        "version": __version__,
        "device": await _device(settings.device),
        **request.app.state.registry.describe(),
        "queue": manager.counts(),
        "backend": manager.describe(),
        "auth_required": bool(settings.token),
        "max_upload_mb": settings.max_upload_mb,
    }


@router.get("/emotions")
def emotions() -> dict[str, Any]:
    """The emotion presets (valence/arousal on Russell's circumplex) and 'auto'."""
    items: list[dict[str, Any]] = [
        {"name": AUTO, "description": "Chosen from the picture: the preset nearest the colours' mood."}
    ]
    items += [
        {"name": p.name, "description": p.description, "valence": p.valence, "arousal": p.arousal}
        for p in PRESETS.values()
    ]
    return {"emotions": items}


def _segments(
    raw: str, form: ParsedForm, settings: Settings, client: Client
) -> tuple[list[Segment], dict[str, str], list[str]]:
    try:
        items = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise InputError("'segments' is not valid JSON.") from exc
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise InputError("'segments' must be a JSON list of objects.")
    if len(items) > MAX_SEGMENTS:
        raise InputError(f"'segments' has {len(items)} pieces; at most {MAX_SEGMENTS} are allowed.")
    files = form.files_named("files")
    names: dict[str, str] = {}
    sources: list[str] = []
    segments = []
    checked: dict[str, str] = {}
    for number, item in enumerate(items, 1):
        if ("path" in item) == ("file" in item):
            raise InputError(f"Segment {number} needs exactly one of 'path' or 'file'.")
        if "file" in item:
            index = item["file"]
            if type(index) is not int or not 0 <= index < len(files):
                raise InputError(
                    f"Segment {number} refers to file {shown(index)}, but {len(files)} file(s) were uploaded "
                    "as 'files' (give an index from 0)."
                )
            path = str(files[index].path)
            names[path] = files[index].client_name
            sources.append(files[index].client_name)
        else:
            raw_path = str(item["path"])
            if raw_path not in checked:  # a timeline cuts few files into many pieces: check each once
                checked[raw_path] = str(check_local_path(settings, client, raw_path))
            path = checked[raw_path]
            sources.append(path)
        try:
            segments.append(
                Segment(
                    path=path,
                    source_start=float(item.get("source_start", 0.0)),
                    source_end=float(item["source_end"]),
                    timeline_start=float(item.get("timeline_start", 0.0)),
                    speed=float(item.get("speed", 1.0)),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(
                f"Segment {number} needs a numeric 'source_end' (and numeric source_start, timeline_start, speed)."
            ) from exc
    return segments, names, sources


def build_request(form: ParsedForm, settings: Settings, client: Client) -> tuple[JobRequest, dict[str, str], list[str]]:
    """Form -> validated, source-checked JobRequest, {stored upload path: user's name}, sources for display."""
    unknown = sorted(set(form.fields) - FORM_FIELDS) + sorted({f.field for f in form.files} - FILE_FIELDS)
    if unknown:
        allowed = ", ".join(sorted(FORM_FIELDS | FILE_FIELDS))
        raise InputError(f"Unknown form field '{shown(unknown[0])}'; the fields are: {allowed}.")
    values = FormValues(form.fields)
    request = request_from_form(values)
    uploads = form.files_named("video")
    given = [bool(uploads), values.text("video_path") is not None, values.text("segments") is not None]
    if sum(given) != 1:
        raise InputError("Give the video exactly one way: a 'video' upload, a 'video_path' or 'segments'.")
    names: dict[str, str] = {}
    if uploads:
        if len(uploads) > 1:
            raise InputError("Upload one 'video' file (use 'segments' with 'files' for several).")
        request.video = str(uploads[0].path)
        names[request.video] = uploads[0].client_name
        sources = [uploads[0].client_name]
    elif given[1]:
        request.video = str(check_local_path(settings, client, values.text("video_path") or ""))
        sources = [request.video]
    else:
        request.segments, names, sources = _segments(values.text("segments") or "", form, settings, client)
    validate(request)
    check_sources(request, names)
    return request, names, list(dict.fromkeys(sources))


@router.post(
    "/jobs",
    status_code=202,
    openapi_extra={
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": job_form_schema()}}}
    },
)
async def create_job(request: Request) -> JSONResponse:
    """Queue a scoring job: answers 202 with its id at once; poll GET /jobs/{id}."""
    settings: Settings = request.app.state.settings
    store: JobStore = request.app.state.store
    manager: JobManager = request.app.state.manager
    limit = int(settings.max_upload_mb * MB)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + MULTIPART_SLACK:
        return JSONResponse({"detail": too_large_message(limit)}, 413, headers={"Connection": "close"})
    record = JobRecord(id=uuid.uuid4().hex, request={})
    work = store.create(record)
    client = Client.of(request)
    try:
        form = await read_form(request.headers.get("content-type"), request.stream(), work, limit)
        # Probing files takes time: it runs in its own small pool, never in the one that answers /health.
        checks = request.app.state.source_checks
        loop = asyncio.get_running_loop()
        job_request, record.names, record.sources = await loop.run_in_executor(
            checks, build_request, form, settings, client
        )
        request.app.state.registry.resolve(job_request.engine)  # 503 now if Diff-V2M cannot run
        record.request = job_request.to_dict()
        position = manager.submit(record)
    except ClientDisconnect:
        store.delete(record.id)
        log.info("client %s disconnected before its POST /jobs was complete", client.host)
        return JSONResponse({"detail": "The request ended before its body was complete."}, 400)
    except BaseException as exc:
        store.delete(record.id)
        if isinstance(exc, Diffv2mError) and exc.status == 413:
            return JSONResponse({"detail": exc.message}, 413, headers={"Connection": "close"})
        raise
    body = {"id": record.id, "state": "queued", "position": position, "seed": job_request.seed}
    return JSONResponse(body, 202, headers={"Location": f"/jobs/{record.id}"})


def job_view(record: JobRecord, position: int | None, cancel_requested: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": record.id,
        "state": record.state,
        "stage": record.stage,
        "progress": round(record.progress, 4),
        "position": position,
        "message": record.message,
        "sources": record.sources,
        "created": record.created,
        "started": record.started,
        "finished": record.finished,
    }
    if cancel_requested:
        view["cancel_requested"] = True
    if record.state == "done":
        view["result"] = record.result
    return view


@router.get("/jobs")
def list_jobs(request: Request) -> dict[str, Any]:
    """Every job the server knows, newest first (states only, no results)."""
    manager: JobManager = request.app.state.manager
    records = sorted(manager.records(), key=lambda r: r.created, reverse=True)
    return {"jobs": [{"id": r.id, "state": r.state, "created": r.created, "sources": r.sources} for r in records]}


@router.get("/jobs/{job_id}")
def get_job(job_id: str, request: Request) -> dict[str, Any]:
    """State, stage, progress; ``result`` once done, ``message`` once failed."""
    manager: JobManager = request.app.state.manager
    record, position = manager.get(job_id)
    return job_view(record, position, manager.cancel_requested(job_id))


@router.delete("/jobs/{job_id}")
def delete_job(job_id: str, request: Request) -> dict[str, Any]:
    """Cancel a queued/running job (it stops at its next step); remove a finished one with its files."""
    manager: JobManager = request.app.state.manager
    if manager.cancel(job_id) == "deleted":
        return {"id": job_id, "deleted": True}
    record, position = manager.get(job_id)
    return job_view(record, position, manager.cancel_requested(job_id))


def _finished_take(request: Request, job_id: str, take: int, kind: str) -> Any:
    manager: JobManager = request.app.state.manager
    store: JobStore = request.app.state.store
    record, _ = manager.get(job_id)
    if record.state != "done":
        raise _Conflict(f"Job {job_id} has no result: it is {record.state}.")
    takes = (record.result or {}).get("takes", [])
    if not 0 <= take < len(takes):
        raise NotFound(f"Job {job_id} has {len(takes)} take(s); take {take} does not exist.")
    path = store.take_path(job_id, take, kind)
    if not path.is_file():
        raise NotFound(f"The result file of job {job_id} is gone (the cache folder was cleaned).")
    return path


class _Conflict(Diffv2mError):
    status = 409


@router.get("/jobs/{job_id}/audio", response_class=FileResponse)
def get_audio(job_id: str, request: Request, take: int = Query(0, ge=0)) -> FileResponse:
    """The score: WAV, 44.1 kHz, stereo, 16-bit PCM, exactly the requested duration."""
    path = _finished_take(request, job_id, take, "audio")
    return FileResponse(path, media_type="audio/wav", filename=f"score-{job_id[:8]}-take{take}.wav")


@router.get("/jobs/{job_id}/beats")
def get_beats(job_id: str, request: Request, take: int = Query(0, ge=0)) -> JSONResponse:
    """Beats, downbeats, tempo, onsets and per-second ODF, in seconds from the range start."""
    path = _finished_take(request, job_id, take, "beats")
    return JSONResponse(json.loads(path.read_text()))


@router.get("/jobs/{job_id}/midi", response_class=FileResponse)
def get_midi(job_id: str, request: Request, take: int = Query(0, ge=0)) -> FileResponse:
    """The score as a standard MIDI file (tempo map, cut markers, one track per part); composer jobs only."""
    record, _ = request.app.state.manager.get(job_id)
    takes = (record.result or {}).get("takes", []) if record.state == "done" else []
    if 0 <= take < len(takes) and takes[take].get("midi") is None:
        raise NotFound(f"Job {job_id} has no MIDI: the {record.result.get('engine')} engine makes audio, not notes.")
    path = _finished_take(request, job_id, take, "midi")
    return FileResponse(path, media_type="audio/midi", filename=f"score-{job_id[:8]}-take{take}.mid")
