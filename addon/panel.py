"""The "Score" tab in the Sequencer's sidebar (property-split layout, as Blender's own panels)."""

from __future__ import annotations

import blf
import bpy

from . import compat, connection, placement, preferences, snapshot, text

# Room the sidebar's tab column, the panel's and a box's margins, the icon and the label's own
# padding take from the region's width, in pixels at ui_scale 1 (Blender 4.3's sidebar: a
# 379 px region leaves about 261 px of text in a box; the rest is a safety margin).
_LABEL_MARGIN = 125
# blf measures a string about a tenth narrower than a label draws it (Blender 4.3's UI font,
# seen in screenshots of the sidebar): wrap against the drawn width.
_DRAWN_PER_MEASURED = 1.15


def wrapped_label(layout: bpy.types.UILayout, context: bpy.types.Context, message: str, icon: str = "NONE") -> None:
    """``message`` as labels that fit the sidebar, the icon on the first line only."""
    scale = context.preferences.system.ui_scale
    width = (context.region.width if context.region else 300) - _LABEL_MARGIN * scale
    blf.size(0, context.preferences.ui_styles[0].widget.points * scale)
    column = layout.column(align=True)
    for number, line in enumerate(text.wrap(message, width, lambda s: _DRAWN_PER_MEASURED * blf.dimensions(0, s)[0])):
        column.label(text=line, icon=icon if number == 0 else "BLANK1" if icon != "NONE" else "NONE")


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
        row.alignment = "RIGHT"
        row.operator("diffv2m.check_server", text="Check", icon="FILE_REFRESH")
        wrapped_label(box, context, status.text, preferences.status_icon(status.state))
        for line in status.engine_lines():
            wrapped_label(box, context, line)
        if status.state == "down" and preferences.get(context).start_command.strip():
            box.operator("diffv2m.start_server", icon="PLAY")

        col = layout.column()
        col.use_property_split = True
        col.use_property_decorate = False
        col.prop(settings, "emotion")
        col.prop(settings, "use_random_seed")
        sub = col.column()
        sub.enabled = not settings.use_random_seed
        sub.prop(settings, "seed")
        col.prop(settings, "engine")
        col.prop(settings, "markers")

        wrapped_label(layout, context, _range_text(context, scene), "SEQ_SEQUENCER")
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
                wrapped_label(layout, context, f"Replaces: {record['strip']}", "SOUND")
        if state.message:
            icon = {"ERROR": "ERROR", "WARNING": "ERROR"}.get(state.message_level, "INFO")
            wrapped_label(layout, context, state.message, icon)


def _range_text(context: bpy.types.Context, scene: bpy.types.Scene) -> str:
    try:
        frames, source = snapshot.scoring_range(context, scene)
    except snapshot.NothingToScore as exc:
        return str(exc)
    seconds = float(frames.seconds(snapshot.fps_of(scene)))
    return f"Frames {frames.start}-{frames.end - 1} ({seconds:.2f} s, {source})"


CLASSES = (SEQUENCER_PT_diffv2m_score,)
