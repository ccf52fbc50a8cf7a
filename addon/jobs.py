"""A scoring job in a worker thread: submit, poll, download; never touches bpy.

The operator snapshots everything it needs into a ``ScoreRequest`` (plain data)
on the main thread. The worker talks to the server and reports through a
``queue.Queue``; the main-thread tick (ticker.py) drains it and is the only
place that changes the Blender file. Cancelling sets an Event: the worker sends
``DELETE /jobs/{id}`` so the server stops too, and deletes any WAV it had begun.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from dataclasses import dataclass, field

from .client import Client, ServerError, ServerUnreachable
from .naming import claim_unique_file, wav_stem

POLL_SECONDS = 0.25


@dataclass
class ScoreRequest:
    """Everything the worker needs, captured on the main thread."""

    server_url: str
    token: str
    segments: list[dict]  # docs/api.md segments, "path" or "file" already set
    upload: list[str]  # files to send as ``files`` parts (empty for a local server)
    duration: float  # seconds of music (the range length, exact)
    emotion: str
    seed: int
    engine: str
    output_dir: str  # absolute folder for the WAV
    # Echoed back to the tick so it knows where to place the result.
    context: dict = field(default_factory=dict)

    def form_fields(self) -> dict[str, str]:
        fields = {
            "segments": json.dumps(self.segments),
            "end": repr(self.duration),
            "duration": repr(self.duration),
            "emotion": self.emotion,
            "seed": str(int(self.seed)),
        }
        if self.engine and self.engine != "auto":
            fields["engine"] = self.engine
        return fields


@dataclass
class ScoreResult:
    job_id: str
    wav_path: str
    result: dict  # the job's ``result`` object (engine, seed, emotion, duration, ...)
    beats: dict  # GET /jobs/{id}/beats


@dataclass
class Progress:
    stage: str
    fraction: float
    position: int | None = None


@dataclass
class Finished:
    """The last message of a job: exactly one of result/error is set, or neither when cancelled."""

    result: ScoreResult | None = None
    error: str | None = None
    unreachable: bool = False  # the error is that no server answered

    @property
    def cancelled(self) -> bool:
        return self.result is None and self.error is None


class ScoreJob:
    """One generation: a daemon thread plus the queue the tick reads."""

    def __init__(self, request: ScoreRequest, client: Client | None = None) -> None:
        self.request = request
        self.client = client or Client(request.server_url, request.token)
        self.messages: queue.Queue[Progress | Finished] = queue.Queue()
        self.job_id: str | None = None
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name="diffv2m-score", daemon=True)

    def start(self) -> ScoreJob:
        if not self.started:
            self._thread.start()
        return self

    @property
    def started(self) -> bool:
        return self._thread.ident is not None

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelling(self) -> bool:
        return self._cancel.is_set()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    # -- worker thread ---------------------------------------------------------
    def _run(self) -> None:
        try:
            finished = self._work()
        except ServerError as exc:
            finished = Finished(error=exc.message, unreachable=isinstance(exc, ServerUnreachable))
        except OSError as exc:
            finished = Finished(error=f"Could not write the score: {exc.strerror or exc}.")
        except Exception as exc:  # a bug must still end the job visibly, not hang the UI
            finished = Finished(error=f"Unexpected error: {exc!r}.")
        if finished.cancelled and self.job_id:
            self._cancel_on_server()
        self.messages.put(finished)

    def _work(self) -> Finished:
        request = self.request
        if self._cancel.is_set():  # cancelled before the thread ran: nothing was sent
            return Finished()
        self.messages.put(Progress("uploading" if request.upload else "submitting", 0.0))
        answer = self.client.submit(request.form_fields(), request.upload)
        self.job_id = str(answer["id"])
        while True:
            if self._cancel.wait(POLL_SECONDS):
                return Finished()
            status = self.client.job(self.job_id)
            state = status.get("state")
            self.messages.put(
                Progress(
                    str(status.get("stage") or state or ""),
                    float(status.get("progress") or 0.0),
                    status.get("position"),
                )
            )
            if state == "done":
                break
            if state == "failed":
                return Finished(error=status.get("message") or "The server could not make the score.")
            if state == "cancelled":
                return Finished()
        result = dict(status.get("result") or {})
        beats = self.client.beats(self.job_id)
        self.messages.put(Progress("downloading", 1.0))
        stem = wav_stem(
            str(result.get("emotion") or request.emotion),
            int(result.get("seed", request.seed)),
            str(result.get("engine") or request.engine),
        )
        wav_path = claim_unique_file(request.output_dir, stem)
        try:
            self.client.download_audio(self.job_id, wav_path)
        except BaseException:
            _remove_quietly(wav_path)
            raise
        if self._cancel.is_set():  # cancelled while downloading: leave no file behind
            _remove_quietly(wav_path)
            return Finished()
        return Finished(result=ScoreResult(self.job_id, wav_path, result, beats))

    def _cancel_on_server(self) -> None:
        # The server may be busy finishing a step; a few tries keep the GPU from
        # working on a score nobody will use.
        for _ in range(3):
            try:
                self.client.cancel(self.job_id or "")
                return
            except ServerError:
                time.sleep(0.2)


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass
