"""Run batch rows as Ray actor tasks: long-lived ``RowWorker`` actors, one per CPU the cluster offers.

Only this module imports Ray, and only when ``diffv2m batch --ray`` is given. Retries
are Ray's own (docs.ray.io, "Fault tolerance"): an actor whose process dies is
restarted (``max_restarts``) and the row it held is run again (``max_task_retries``);
a row that raises is retried too (``retry_exceptions``). ``--ray local`` starts a
bounded single-node Ray for this command: 2 CPUs, no dashboard, loopback only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..errors import InputError
from ..settings import Settings
from .cluster import ray_environment
from .local import LogFn
from .manifest import BatchRow
from .worker import ROW_RETRIES, RowResult, RowWorker, crashed

LOCAL = "local"
LOCAL_CPUS = 2
LOCAL_OBJECT_STORE_BYTES = 256 * 1024**2
ACTOR_RESTARTS = 2  # per actor: a worker process that keeps dying is given up on


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise InputError("--ray needs Ray: pip install -e '.[ray]' (scripts/setup.sh --test installs it).") from None
    return ray


def connect(ray: Any, address: str) -> None:
    """Join the cluster at ``address`` (``auto``: the one ``ray start`` made here), or start a local one."""
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    if address == LOCAL:
        options.update(
            num_cpus=LOCAL_CPUS,
            object_store_memory=LOCAL_OBJECT_STORE_BYTES,
            _node_ip_address="127.0.0.1",
        )
        ray.init(**options)
    else:
        options.pop("include_dashboard")  # a cluster's dashboard is its head's choice
        try:
            ray.init(address=address, **options)
        except ConnectionError as exc:
            raise InputError(f"Cannot reach the Ray cluster at {address}: {exc}") from None


def run_ray(
    rows: list[BatchRow], settings: Settings, address: str, log: LogFn, workers: int | None = None
) -> Iterator[RowResult]:
    """Each row's result as it finishes (not in manifest order); ``workers`` actors (default: one per CPU)."""
    ray_environment(local=address == LOCAL)
    ray = import_ray()
    connect(ray, address)
    actor_class = ray.remote(num_cpus=1, max_restarts=ACTOR_RESTARTS, max_task_retries=ROW_RETRIES)(RowWorker)
    size = max(1, min(len(rows), workers or int(ray.cluster_resources().get("CPU", 1))))
    idle = [actor_class.remote(settings) for _ in range(size)]
    pending: dict[Any, tuple[BatchRow, Any]] = {}
    queue = list(reversed(rows))
    try:
        while queue or pending:
            while queue and idle:
                row, actor = queue.pop(), idle.pop()
                log(row.id, "start", attempt=1)
                pending[actor.run.options(retry_exceptions=True).remote(row)] = (row, actor)
            ready, _ = ray.wait(list(pending), num_returns=1)
            row, actor = pending.pop(ready[0])
            try:
                result = ray.get(ready[0])
            except ray.exceptions.ActorDiedError as exc:
                result = crashed(row, f"the worker died ({type(exc).__name__})")
                actor = actor_class.remote(settings)  # it used up its restarts: a fresh one for the next rows
            except ray.exceptions.RayError as exc:
                result = crashed(row, str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__)
            idle.append(actor)
            yield result
    finally:
        for actor in idle + [a for _, a in pending.values()]:
            ray.kill(actor)
        ray.shutdown()
