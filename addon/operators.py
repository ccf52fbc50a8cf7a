"""Operators: Generate Score, Regenerate, Cancel, Save MIDI, and the server helpers.

Generate and Regenerate only read the file and start a worker; they return at
once and the ticker places the result later (one undo step then). Invoked from
the UI they also start a small modal handler whose only job is to catch Esc
while the job runs; every other event passes through, so editing goes on.
"""

from __future__ import annotations

import os
import shlex
import subprocess

import bpy
from bpy.props import EnumProperty, StringProperty

from . import compat, connection, placement, preferences, score_midi, snapshot, ticker
from .client import Client, ServerError
from .jobs import ScoreJob
from .timeline import FrameRange


def _start(operator: bpy.types.Operator, context: bpy.types.Context, plan: snapshot.Plan, replaces: int) -> set[str]:
    prefs = preferences.get(context)
    scene = bpy.data.scenes[plan.scene_name]
    try:
        folder = placement.output_folder(prefs.unsaved_folder, __package__)
        request = snapshot.build_request(plan, prefs, scene.diffv2m_score_settings, folder, replaces)
    except snapshot.NothingToScore as exc:
        operator.report({"ERROR"}, str(exc))
        return {"CANCELLED"}
    ticker.start(ScoreJob(request))
    seconds = float(plan.frames.seconds(plan.fps))
    operator.report(
        {"INFO"},
        f"Scoring frames {plan.frames.start}-{plan.frames.end - 1} ({seconds:.2f} s, "
        f"{len(plan.segments)} shot(s) from the {plan.source}).",
    )
    return {"FINISHED"}


class _JobOperator:
    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return ticker.active() is None

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        result = self.execute(context)
        if "FINISHED" in result and ticker.active() is not None:
            bpy.ops.diffv2m.watch_escape("INVOKE_DEFAULT")
        return result


class DIFFV2M_OT_generate_score(_JobOperator, bpy.types.Operator):
    """Score the selected strips (or the preview range) with music and beat markers"""

    bl_idname = "diffv2m.generate_score"
    bl_label = "Generate Score"

    def execute(self, context: bpy.types.Context) -> set[str]:
        try:
            plan = snapshot.plan_from_context(context)
        except snapshot.NothingToScore as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        return _start(self, context, plan, replaces=0)


class DIFFV2M_OT_regenerate_score(_JobOperator, bpy.types.Operator):
    """Score the same range again with the current emotion and seed, replacing that score and its markers"""

    bl_idname = "diffv2m.regenerate_score"
    bl_label = "Regenerate"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return super().poll(context) and placement.target_generation(compat.vse_scene(context)) is not None

    def execute(self, context: bpy.types.Context) -> set[str]:
        scene = compat.vse_scene(context)
        record = placement.target_generation(scene)
        if record is None:
            self.report({"ERROR"}, "There is no generated score to replace: use Generate Score first.")
            return {"CANCELLED"}
        try:
            plan = snapshot.plan_range(scene, FrameRange(*record["range"]), "regenerated range")
        except snapshot.NothingToScore as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        return _start(self, context, plan, replaces=int(record["generation"]))


class DIFFV2M_OT_save_midi(bpy.types.Operator):
    """Save the score's notes as a MIDI file beside its WAV (tempo map, cut markers, one track per part)"""

    bl_idname = "diffv2m.save_midi"
    bl_label = "Save MIDI"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        record = placement.target_generation(compat.vse_scene(context))
        return record is not None and record.get("engine") == "default"

    def execute(self, context: bpy.types.Context) -> set[str]:
        record = placement.target_generation(compat.vse_scene(context))
        if record is None:
            self.report({"ERROR"}, "There is no generated score to save as MIDI.")
            return {"CANCELLED"}
        prefs = preferences.get(context)
        client = Client(prefs.server_url, prefs.token)
        try:  # a new name beside the WAV: nothing existing is replaced
            path = score_midi.save_midi_beside(client, str(record["job"]), bpy.path.abspath(record["wav"]))
        except (ServerError, OSError) as exc:
            self.report({"ERROR"}, f"Could not save the MIDI: {getattr(exc, 'message', exc)}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"Saved the score's MIDI to {path}.")
        return {"FINISHED"}


class DIFFV2M_OT_cancel_score(bpy.types.Operator):
    """Stop the running score generation (on the server too); nothing is changed"""

    bl_idname = "diffv2m.cancel_score"
    bl_label = "Cancel"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return ticker.active() is not None

    def execute(self, context: bpy.types.Context) -> set[str]:
        ticker.cancel()
        return {"FINISHED"}


class DIFFV2M_OT_watch_escape(bpy.types.Operator):
    """Cancel the running score generation with Esc (internal)"""

    bl_idname = "diffv2m.watch_escape"
    bl_label = "Watch for Esc"
    bl_options = {"INTERNAL"}  # noqa: RUF012 (Blender reads this class attribute)

    _timer = None

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        if context.window is None:
            return {"CANCELLED"}
        # The timer only wakes this handler so it ends with the job (the work itself runs
        # on bpy.app.timers and survives this handler).
        self._timer = context.window_manager.event_timer_add(0.25, window=context.window)
        context.window_manager.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        if ticker.active() is None:
            return self._end(context, {"FINISHED"})
        if event.type == "ESC" and event.value == "PRESS":
            ticker.cancel()
            return self._end(context, {"FINISHED"})
        return {"PASS_THROUGH"}

    def _end(self, context: bpy.types.Context, result: set[str]) -> set[str]:
        if self._timer is not None:
            context.window_manager.event_timer_remove(self._timer)
            self._timer = None
        return result


class DIFFV2M_OT_check_server(bpy.types.Operator):
    """Ask the server whether it is running and which engines and weights it has"""

    bl_idname = "diffv2m.check_server"
    bl_label = "Check Server"

    def execute(self, context: bpy.types.Context) -> set[str]:
        prefs = preferences.get(context)
        connection.check(prefs.server_url, prefs.token)
        ticker.ensure_timer()
        return {"FINISHED"}


class DIFFV2M_OT_start_server(bpy.types.Operator):
    """Run the start command from the preferences (a local 'diffv2m serve')"""

    bl_idname = "diffv2m.start_server"
    bl_label = "Start Server"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return bool(preferences.get(context).start_command.strip())

    def execute(self, context: bpy.types.Context) -> set[str]:
        prefs = preferences.get(context)
        log_dir = bpy.utils.extension_path_user(__package__, path="logs", create=True)
        log_path = os.path.join(log_dir, "server.log")
        try:
            argv = shlex.split(prefs.start_command, posix=os.name != "nt")
            with open(log_path, "ab") as log:
                subprocess.Popen(
                    argv,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=os.name != "nt",
                )
        except (OSError, ValueError) as exc:
            self.report({"ERROR"}, f"Could not run the start command: {exc}.")
            return {"CANCELLED"}
        self.report({"INFO"}, f"Server starting (log: {log_path}); press Check in a few seconds.")
        return {"FINISHED"}


class DIFFV2M_OT_notify(bpy.types.Operator):
    """Show a message from a background job (internal)"""

    bl_idname = "diffv2m.notify"
    bl_label = "Score Message"
    bl_options = {"INTERNAL"}  # noqa: RUF012 (Blender reads this class attribute)

    level: EnumProperty(items=[(k, k, "") for k in ("INFO", "WARNING", "ERROR")], default="INFO")
    message: StringProperty(default="")

    def execute(self, context: bpy.types.Context) -> set[str]:
        self.report({self.level}, self.message)
        return {"FINISHED"}


CLASSES = (
    DIFFV2M_OT_generate_score,
    DIFFV2M_OT_regenerate_score,
    DIFFV2M_OT_cancel_score,
    DIFFV2M_OT_save_midi,
    DIFFV2M_OT_watch_escape,
    DIFFV2M_OT_check_server,
    DIFFV2M_OT_start_server,
    DIFFV2M_OT_notify,
)
