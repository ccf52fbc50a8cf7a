"""The panel's connection indicator: a health check in a thread, its answer kept here.

Drawing a panel must never wait on the network, so ``check`` starts a thread and
``poll`` (called by the main-thread tick) picks its answer up. No bpy here.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field

from .client import Client, ServerError


@dataclass
class ServerStatus:
    state: str = "unknown"  # unknown | checking | ok | down | offline
    text: str = "Not checked yet"
    version: str = ""
    device: str = ""
    default_engine: str = ""
    engines: dict = field(default_factory=dict)

    def engine_lines(self) -> list[str]:
        """One line per engine: availability and weights, as the panel shows them."""
        lines = []
        for name, info in sorted(self.engines.items()):
            if info.get("available"):
                lines.append(f"{name}: ready ({info.get('weights') or 'no weights needed'})")
            else:
                lines.append(f"{name}: unavailable ({info.get('reason') or 'no weights'})")
        return lines


STATUS = ServerStatus()
_answers: queue.Queue[ServerStatus] = queue.Queue()
_lock = threading.Lock()
_checking = False
_pending: threading.Thread | None = None
_again: tuple[str, str] | None = None


def check(url: str, token: str) -> None:
    """Ask for a health check unless one is running; the answer arrives through ``poll``.

    The thread starts on the next ``poll`` (the ticker's timer), not here: this runs
    inside an operator, and see ``ticker.start`` for why no thread may start there.
    """
    global _checking, _pending, _again
    with _lock:
        if _checking:
            _again = (url, token)  # checked when the running check ends: it may ask an old address
            return
        _checking = True
    STATUS.state, STATUS.text = "checking", "Checking the server..."
    _pending = threading.Thread(target=_run, args=(url, token), name="diffv2m-health", daemon=True)


def _run(url: str, token: str) -> None:
    global _checking
    try:
        health = Client(url, token, timeout=3.0).health()
        engines = dict(health.get("engines") or {})
        default = str(health.get("default_engine") or "")
        status = ServerStatus(
            state="ok",
            text=f"Connected: {url} (Diff-V2M {health.get('version', '?')}, {health.get('device', '?')})",
            version=str(health.get("version", "")),
            device=str(health.get("device", "")),
            default_engine=default,
            engines=engines,
        )
    except ServerError as exc:
        status = ServerStatus(state="down", text=exc.message)
    with _lock:
        _checking = False
    _answers.put(status)


def poll() -> bool:
    """Start a requested check, apply a finished one; True when the indicator changed."""
    global _pending, _again
    if _pending is not None:
        _pending.start()
        _pending = None
    changed = False
    while True:
        try:
            status = _answers.get_nowait()
        except queue.Empty:
            return changed
        STATUS.__dict__.update(status.__dict__)
        changed = True
        if _again is not None:
            url, token = _again
            _again = None
            check(url, token)


def busy() -> bool:
    return _checking


def reset() -> None:
    """Forget a requested check that never started (the add-on is being disabled)."""
    global _checking, _pending, _again
    with _lock:
        _again = None
        if _pending is not None:
            _checking, _pending = False, None


def refuse(message: str) -> None:
    """A check that may not contact the server (Blender's Online Access is off): say why instead."""
    STATUS.__dict__.update(ServerStatus(state="offline", text=message).__dict__)


def mark_down(message: str) -> None:
    """A job found the server gone: show it without waiting for the next check."""
    STATUS.state, STATUS.text = "down", message
