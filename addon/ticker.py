"""The main-thread side of a job: a ``bpy.app.timers`` tick that shows progress and places results.

The worker (jobs.py) never touches bpy; this tick drains its queue every 0.1 s,
updates the three progress surfaces (panel bar, window-manager progress, status
bar text), and on success places the score and pushes one undo step, because
edits made from a timer are not an operator's undo step. Headless Blender never
fires timers, so tests call ``tick()`` directly until it returns None.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from fractions import Fraction

import bpy

from . import connection, placement
from .jobs import Finished, Progress, ScoreJob
from .timeline import FrameRange

TICK_SECONDS = 0.1
# The last job message (level, text); the Esc watcher (operators.py) reports it when its job
# ends, since only an operator run from the UI puts a report in the status bar.
last_report: tuple[str, str] | None = None
watched = False  # an Esc watcher is running for the active job
_active: ScoreJob | None = None
_progress_open = False


def state() -> object | None:
    """The window manager's (unsaved, not undone) job state the panel draws."""
    wm = bpy.context.window_manager
    return getattr(wm, "diffv2m_score_state", None) if wm else None


def active() -> ScoreJob | None:
    return _active


def start(job: ScoreJob) -> None:
    """Make ``job`` the active one; its worker thread starts on the next tick.

    Never inside the operator that calls this: in headless bpy 4.5 a thread
    started inside a ``bpy.ops`` call crashed the process now and then (SIGSEGV
    in that call, about 1 run in 10 with cold caches). Started from the timer,
    the job begins 0.1 s later.
    """
    global _active, last_report
    _active = job
    last_report = None
    _stop_clear_timer()
    _set_state(running=True, stage="starting", progress=0.0, message="")
    _progress_begin()
    _status_text("Score: starting...  (Esc or Cancel to stop)")
    ensure_timer()


def cancel() -> bool:
    if _active is None:
        return False
    _active.cancel()
    _set_state(stage="cancelling")
    _status_text("Score: cancelling...")
    ensure_timer()  # the tick starts (or drains) the worker; without it a pending job would never end
    return True


def ensure_timer() -> None:
    if not bpy.app.timers.is_registered(tick):
        bpy.app.timers.register(tick, first_interval=TICK_SECONDS, persistent=True)


def tick() -> float | None:
    """Drain the job's messages; returns the next interval, or None when nothing is left to do."""
    global _active
    redraw = connection.poll()
    job = _active
    if job is not None and not job.started:
        job.start()  # cancelled before this: the worker ends at once, having sent nothing
    if job is not None:
        redraw = True
        while not job.messages.empty():
            message = job.messages.get_nowait()
            if isinstance(message, Progress):
                _show_progress(job, message)
            elif isinstance(message, Finished):
                _active = None
                _finish(job, message)
                break
    if redraw:
        _redraw()
    return TICK_SECONDS if (_active is not None or connection.busy()) else None


@bpy.app.handlers.persistent
def _on_file_load(*_args: object) -> None:
    """Opening another file cancels the job: its result would have no scene to go to."""
    if _active is not None:
        cancel()


def _first_check() -> None:
    """Fill the connection indicator once after start-up (a one-shot timer)."""
    recheck_server()
    return None


def recheck_server() -> None:
    """Check the preferences' server now; the answer reaches the indicator through the tick."""
    from . import preferences

    try:
        preferences.check_server(preferences.get())
    except KeyError:  # not enabled (any more)
        return
    ensure_timer()  # the check's thread starts on the next tick


def install() -> None:
    """On register: cancel jobs on File > Open, and check the server once shortly after start."""
    if _on_file_load not in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.append(_on_file_load)
    # Persistent: Blender started with a .blend (the usual way) loads it after registering the
    # add-ons, and a file load drops every other timer; without it the check never ran then.
    if not bpy.app.timers.is_registered(_first_check):
        bpy.app.timers.register(_first_check, first_interval=1.0, persistent=True)


def shutdown() -> None:
    """On unregister: stop the job (server side too), wait briefly, drop timers and handlers."""
    global _active
    if _on_file_load in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.remove(_on_file_load)
    if bpy.app.timers.is_registered(_first_check):
        bpy.app.timers.unregister(_first_check)
    _stop_clear_timer()
    if _active is not None:
        _active.cancel()
        _active.join(timeout=3.0)
        _active = None
        _close_progress()
    if bpy.app.timers.is_registered(tick):
        bpy.app.timers.unregister(tick)
    connection.reset()


def _show_progress(job: ScoreJob, message: Progress) -> None:
    if job.cancelling:
        return
    stage = message.stage or "working"
    if message.position:
        stage = f"queued (position {message.position})"
    percent = round(100 * message.fraction)
    _set_state(stage=stage, progress=message.fraction)
    _progress_update(message.fraction)
    _status_text(f"Score: {stage} {percent}%  (Esc or Cancel to stop)")


def _finish(job: ScoreJob, message: Finished) -> None:
    _close_progress()
    _set_state(running=False, stage="", progress=0.0)
    result = message.result
    # A cancel always wins, whatever the moment: this runs on the main thread, as do the Cancel
    # button and Esc, so once cancelling is set no strip, marker or WAV of this job is kept.
    if message.cancelled or job.cancelling:
        if result is not None:
            _remove_quietly(result.wav_path)
        notify("INFO", "Score generation cancelled; nothing was changed.")
        return
    if message.unreachable:
        connection.mark_down(message.error)
    elif connection.STATUS.state == "down":
        recheck_server()  # the server answered this job: the indicator's "down" is stale
    if message.error:
        notify("ERROR", message.error)
        return
    context = job.request.context
    scene = bpy.data.scenes.get(context["scene"])
    if scene is None:
        notify("WARNING", f"The scene was closed before the score arrived; it is saved at {result.wav_path}.")
        return
    placed = {
        **asdict(result),
        "requested_emotion": context.get("requested_emotion"),
        "replaces": context.get("replaces", 0),
    }
    try:
        strip = placement.place_score(
            scene, FrameRange(*context["range"]), Fraction(*context["fps"]), placed, context.get("markers", "BEATS")
        )
    except (RuntimeError, ValueError, OSError) as exc:
        notify("ERROR", f"Could not place the score ({exc}); the WAV is kept at {result.wav_path}.")
        return
    # Placing and its undo step happen in this one call, with no tick between them.
    undo_push(f"Generate Score: {strip.name}")
    bank = (result.result.get("sound_bank") or {}).get("name")
    sound = f"; sound: {bank}" if bank else ""
    notify("INFO", f"Added '{strip.name}' on channel {strip.channel} ({result.wav_path}{sound}).")


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def undo_push(message: str) -> None:
    """One undo step for the whole generation (strip + markers + record)."""
    with _window_override():
        bpy.ops.ed.undo_push(message=message)


def notify(level: str, message: str) -> None:
    """Tell the editor: panel line, status/info report (via an operator), console."""
    global last_report
    _set_state(message=message, message_level=level)
    print(f"Diff-V2M score: {message}")
    last_report = (level, message)
    if watched:
        _status_text(None)  # the Esc watcher reports it: Blender's status-bar report banner
    else:
        _status_text(f"Score: {message}")
        _clear_status_later()
    try:
        with _window_override():
            bpy.ops.diffv2m.notify(level=level, message=message)
    except (AttributeError, RuntimeError):
        pass  # not registered (unregistering) or no window: the panel line remains


STATUS_SECONDS = 15.0  # how long a job's last message stays in the status bar


def _clear_status_later() -> None:
    """Clear the status bar STATUS_SECONDS after the last message (a new job takes it over)."""
    _stop_clear_timer()
    bpy.app.timers.register(_clear_status, first_interval=STATUS_SECONDS)


def _clear_status() -> None:
    if _active is None:
        _status_text(None)


def _stop_clear_timer() -> None:
    if bpy.app.timers.is_registered(_clear_status):
        bpy.app.timers.unregister(_clear_status)


def _window_override() -> object:
    wm = bpy.context.window_manager
    windows = list(wm.windows) if wm else []
    if bpy.context.window is None and windows:
        return bpy.context.temp_override(window=windows[0])
    return bpy.context.temp_override()


def _set_state(**values: object) -> None:
    target = state()
    if target is None:
        return
    for key, value in values.items():
        setattr(target, key, value)


def _progress_begin() -> None:
    global _progress_open
    wm = bpy.context.window_manager
    if wm and not _progress_open:
        wm.progress_begin(0, 100)
        _progress_open = True


def _progress_update(fraction: float) -> None:
    wm = bpy.context.window_manager
    if wm and _progress_open:
        wm.progress_update(int(100 * max(0.0, min(1.0, fraction))))


def _close_progress() -> None:
    global _progress_open
    wm = bpy.context.window_manager
    if wm and _progress_open:
        wm.progress_end()
    _progress_open = False
    _status_text(None)


def _status_text(text: str | None) -> None:
    wm = bpy.context.window_manager
    for window in wm.windows if wm else []:
        workspace = window.workspace
        if workspace is not None:
            with bpy.context.temp_override(window=window):
                workspace.status_text_set(text)


def _redraw() -> None:
    wm = bpy.context.window_manager
    for window in wm.windows if wm else []:
        for area in window.screen.areas:
            if area.type == "SEQUENCE_EDITOR":
                # The sidebar only: redrawing the whole Sequencer ten times a second was most
                # of the add-on's own share of the UI's stalls during a job.
                for region in area.regions:
                    if region.type == "UI":
                        region.tag_redraw()
