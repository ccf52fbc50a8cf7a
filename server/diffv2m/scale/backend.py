"""The job queue of ``diffv2m serve --backend ray``: the same ``JobManager``, its work on Ray actors.

Pools: one per engine (``default`` = the composer on CPU actors, ``diffv2m`` on
GPU actors where the cluster has GPUs). Each actor has a slot thread here that
takes the oldest queued job of its pool (one global submission order, so each
pool is first come, first served and a slow pool never holds up another),
sends it to its actor and relays progress and cancelling. When an actor or its
node dies mid-job, the slot starts a fresh actor (Ray places it wherever there
is room) and runs the job again, at most ``max_retries`` times; meanwhile the
job's stage reads "retrying". The head writes the take files into its own
``JobStore``, exactly as the in-process queue does, so results outlive the head.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from typing import Any

from ..api.app import save_takes
from ..api.jobs import JobManager
from ..api.store import JobRecord, JobStore
from ..engines.base import ProgressFn
from ..engines.registry import DEFAULT, DIFFV2M, EngineRegistry
from ..errors import Cancelled, Diffv2mError
from ..job_request import JobRequest
from ..settings import Settings
from .cluster import connect
from .serve_worker import actor_class

log = logging.getLogger("diffv2m.scale")
POLL_S = 0.2
RETRYING = "retrying"


class WorkerDied(Diffv2mError):
    status = 503


class RaySlot:
    """One actor and the job it runs; replaced when the actor dies."""

    def __init__(self, pool: str, settings: Settings, gpus: float) -> None:
        self.pool, self.settings, self.gpus = pool, settings, gpus
        self.job: str | None = None
        self.identity: dict[str, Any] = {}
        self.actor: Any = None

    def start_actor(self, ray: Any) -> None:
        self.actor = actor_class(self.pool, self.gpus).remote(self.settings, self.pool)
        self.identity = ray.get(self.actor.identity.remote())

    def view(self) -> dict[str, Any]:
        return {**self.identity, "job": self.job}


class RayJobManager(JobManager):
    def __init__(
        self,
        store: JobStore,
        settings: Settings,
        *,
        address: str | None,
        pools: dict[str, int],
        max_retries: int = 2,
    ) -> None:
        super().__init__(store, self._no_runner, settings.max_queue)
        self.settings = settings
        self.address = address
        self.max_retries = max_retries
        self.registry = EngineRegistry(settings)  # resolves "auto"; never loads weights here
        self._ray: Any = None
        gpus = 0.0
        self._slots = [RaySlot(pool, settings, gpus) for pool, count in pools.items() for _ in range(count)]
        self._threads: list[threading.Thread] = []

    @staticmethod
    def _no_runner(record: JobRecord, progress: ProgressFn) -> dict[str, Any]:
        raise AssertionError("the Ray backend runs jobs through its slots")

    # ---- life cycle --------------------------------------------------------
    def start(self) -> None:
        self._ray = connect(self.address)
        gpus = float(self._ray.cluster_resources().get("GPU", 0))
        for slot in self._slots:
            slot.gpus = gpus
            slot.start_actor(self._ray)
            thread = threading.Thread(target=self._slot_loop, args=(slot,), name=f"ray-{slot.pool}", daemon=True)
            self._threads.append(thread)
            thread.start()
        log.info("Ray backend: %s", self.describe())

    def stop(self, timeout: float = 10.0) -> None:
        with self._condition:
            self._stopping = True
            for event in self._cancel.values():
                event.set()
            self._condition.notify_all()
        for thread in self._threads:
            thread.join(timeout)
        if self._ray is not None and self._ray.is_initialized():
            self._ray.shutdown()

    # ---- views -------------------------------------------------------------
    def pool_of(self, record: JobRecord) -> str:
        try:
            return self.registry.resolve(JobRequest.from_dict(record.request).engine)
        except Diffv2mError:
            return DEFAULT

    def counts(self) -> dict[str, int]:
        with self._condition:
            return {"queued": len(self._waiting), "running": sum(slot.job is not None for slot in self._slots)}

    def describe(self) -> dict[str, Any]:
        with self._condition:
            pools: dict[str, dict[str, Any]] = {}
            for slot in self._slots:
                pool = pools.setdefault(slot.pool, {"workers": [], "queued": 0})
                pool["workers"].append(slot.view())
            for job_id in self._waiting:
                pools.setdefault(self.pool_of(self._records[job_id]), {"workers": [], "queued": 0})["queued"] += 1
            return {"name": "ray", "address": self.address or "local", "pools": pools}

    # ---- slot side ---------------------------------------------------------
    def _next_for(self, slot: RaySlot) -> JobRecord | None:
        """The oldest queued job of the slot's pool (call with the condition held)."""
        for job_id in self._waiting:
            record = self._records[job_id]
            if self.pool_of(record) == slot.pool:
                self._waiting.remove(job_id)
                return record
        return None

    def _slot_loop(self, slot: RaySlot) -> None:
        while True:
            with self._condition:
                record = None
                while not self._stopping and (record := self._next_for(slot)) is None:
                    self._condition.wait()
                if self._stopping or record is None:
                    return
                record.state, record.stage, record.started = "running", "starting", time.time()
                slot.job = record.id
                self.store.save(record)
            try:
                self._run(record, lambda r, p, s=slot: self._run_on(s, r, p))
            finally:
                with self._condition:
                    slot.job = None
                    self._cancel.pop(record.id, None)

    def _run_on(self, slot: RaySlot, record: JobRecord, progress: ProgressFn) -> dict[str, Any]:
        ray = self._ray
        from ray.exceptions import ActorDiedError, ActorUnavailableError, RayActorError, RayTaskError

        died = 0
        while True:
            try:
                output = self._await(slot, record, progress)
            except RayTaskError as exc:  # the job itself raised: Cancelled, a user error, a bug
                raise (exc.cause if isinstance(exc.cause, BaseException) else exc) from None
            except (ActorDiedError, ActorUnavailableError, RayActorError) as exc:
                died += 1
                log.warning("job %s: worker %s died (%s)", record.id, slot.identity, type(exc).__name__)
                if died > self.max_retries:
                    raise WorkerDied(f"The worker running this job died {died} times; submit it again.") from exc
                with self._condition:
                    record.stage, record.progress = RETRYING, 0.0
                    self.store.save(record)
                progress(RETRYING, 0.0)  # raises Cancelled when the job was cancelled meanwhile
                slot.start_actor(ray)
                continue
            return save_takes(self.store, record, output)

    def _await(self, slot: RaySlot, record: JobRecord, progress: ProgressFn) -> Any:
        """Send the job, relay the actor's progress; a cancel goes to the actor, which stops at its next step."""
        ray = self._ray
        ref = slot.actor.run.remote(dataclasses.asdict(record))
        cancel_sent = False
        while True:
            ready, _ = ray.wait([ref], timeout=POLL_S)
            if ready:
                return ray.get(ref)
            seen = ray.get(slot.actor.progress.remote(record.id))
            try:
                if seen is not None:
                    progress(*seen)
                elif not cancel_sent:
                    progress(record.stage, record.progress)
            except Cancelled:
                if not cancel_sent:
                    slot.actor.cancel.remote(record.id)
                    cancel_sent = True


def manager_factory(address: str | None, composer_workers: int, model_workers: int) -> Any:
    """For ``create_app(manager_factory=...)``: a Ray-backed queue with these pool sizes."""

    def make(settings: Settings, store: JobStore) -> JobManager:
        pools = {DEFAULT: composer_workers}
        if model_workers > 0:
            pools[DIFFV2M] = model_workers
        return RayJobManager(store, settings, address=address, pools=pools)

    return make
