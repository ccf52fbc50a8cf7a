"""The "Score" tab in the Sequencer's sidebar."""

from __future__ import annotations

import bpy

from . import compat, connection, placement, preferences, snapshot


class SEQUENCER_PT_diffv2m_score(bpy.types.Panel):
    bl_space_type = "SEQUENCE_EDITOR"
    bl_region_type = "UI"
    bl_category = "Score"
    bl_label = "Score"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        scene = compat.vse_scene(context)
        settings = scene.diffv2m_score_settings
        state = context.window_manager.diffv2m_score_state

        status = connection.STATUS
        box = layout.box()
        row = box.row()
        row.label(text=status.text, icon=preferences.status_icon(status.state))
        row.operator("diffv2m.check_server", text="", icon="FILE_REFRESH")
        for line in status.engine_lines():
            box.label(text=line)
        if status.state == "down" and preferences.get(context).start_command.strip():
            box.operator("diffv2m.start_server", icon="PLAY")

        col = layout.column()
        col.prop(settings, "emotion")
        row = col.row(align=True)
        row.prop(settings, "use_random_seed", text="", icon="FILE_REFRESH")
        sub = row.row(align=True)
        sub.enabled = not settings.use_random_seed
        sub.prop(settings, "seed")
        col.prop(settings, "engine")
        col.prop(settings, "markers")

        layout.label(text=_range_text(context, scene), icon="SEQ_SEQUENCER")
        if state.running:
            layout.progress(factor=state.progress, type="BAR", text=f"{state.stage} {round(100 * state.progress)}%")
            layout.operator("diffv2m.cancel_score", icon="CANCEL")
        else:
            layout.operator("diffv2m.generate_score", icon="PLAY_SOUND")
            record = placement.target_generation(scene)
            row = layout.row()
            row.operator("diffv2m.regenerate_score", icon="FILE_REFRESH")
            row.operator("diffv2m.save_midi", icon="FILE_SOUND")
            if record:
                layout.label(text=f"Replaces: {record['strip']}", icon="SOUND")
        if state.message:
            icon = {"ERROR": "ERROR", "WARNING": "ERROR"}.get(state.message_level, "INFO")
            layout.label(text=state.message, icon=icon)


def _range_text(context: bpy.types.Context, scene: bpy.types.Scene) -> str:
    try:
        frames, source = snapshot.scoring_range(context, scene)
    except snapshot.NothingToScore as exc:
        return str(exc)
    seconds = float(frames.seconds(snapshot.fps_of(scene)))
    return f"Frames {frames.start}-{frames.end - 1} ({seconds:.2f} s, {source})"


CLASSES = (SEQUENCER_PT_diffv2m_score,)
