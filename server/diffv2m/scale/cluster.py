"""Connecting to Ray: the one module that imports it at the top level of a call."""

from __future__ import annotations

import os
from typing import Any

from ..errors import InputError

LOOPBACK_SWITCH = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def ray_environment(*, local: bool) -> None:
    """Ray's settings that it reads when it is imported, so call this before ``import ray``.

    Token mode (docs.ray.io, ray-security/token-auth): a joining client only sends the token
    (RAY_AUTH_TOKEN or ~/.ray/auth_token) in token mode; set after the import, the client
    stays tokenless and even a private local cluster refuses it ("Failed to start GCS").
    ``local``, a cluster this command starts for itself: Ray binds its GCS, raylet and worker
    ports to every interface and names the node by its outward IP, even when given
    ``_node_ip_address="127.0.0.1"``, unless its single-machine switch is off
    (``ray._private.ray_constants.ENABLE_RAY_CLUSTER``); off, every port is on 127.0.0.1.
    A value the user set is kept.
    """
    os.environ.setdefault("RAY_AUTH_MODE", "token")
    if local:
        os.environ.setdefault(LOOPBACK_SWITCH, "0")


def ray_module() -> Any:
    """``import ray``, or one sentence saying how to install the extra."""
    try:
        import ray
    except ImportError as exc:
        raise InputError("The Ray backend needs the optional extra: pip install -e '.[ray]'.") from exc
    return ray


def connect(address: str | None) -> Any:
    """Join the cluster at ``address`` (``host:port``), or start a private loopback one when None.

    The head's ``PYTHONPATH`` travels to the workers (runtime_env env_vars, Ray's
    documented way), so a worktree's code runs there too on a shared file system.
    """
    ray_environment(local=address is None)
    ray = ray_module()
    if ray.is_initialized():
        return ray
    env = {"PYTHONPATH": os.environ["PYTHONPATH"]} if os.environ.get("PYTHONPATH") else {}
    options: dict[str, Any] = {"runtime_env": {"env_vars": env}, "log_to_driver": False}
    if address is None:
        options.update(include_dashboard=False, _node_ip_address="127.0.0.1")
    try:
        ray.init(address=address, **options)
    except ConnectionError as exc:
        raise InputError(f"No Ray cluster answers at {address} ({exc}); start one with 'ray start --head'.") from exc
    return ray
