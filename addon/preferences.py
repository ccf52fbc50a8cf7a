"""Add-on preferences: where the server is, its token, and how to start one locally."""

from __future__ import annotations

import bpy
from bpy.props import StringProperty

from . import connection
from .client import DEFAULT_URL


class ScorePreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    server_url: StringProperty(
        name="Server URL",
        default=DEFAULT_URL,
        description="Address of the Diff-V2M server (diffv2m serve); files are uploaded when it is not this computer",
    )
    token: StringProperty(
        name="Token",
        subtype="PASSWORD",
        default="",
        description="Bearer token, if the server was started with one (required for non-local servers)",
    )
    start_command: StringProperty(
        name="Start Command",
        default="",
        description="Optional command that starts a local server, e.g. '/path/to/.venv/bin/diffv2m serve'",
    )
    unsaved_folder: StringProperty(
        name="Folder for Unsaved Files",
        subtype="DIR_PATH",
        default="",
        description="Where scores go while the .blend is unsaved (saved files use //scores next to the .blend); "
        "empty: the extension's user folder",
    )

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        layout.prop(self, "server_url")
        layout.prop(self, "token")
        row = layout.row(align=True)
        row.prop(self, "start_command")
        row.operator("diffv2m.start_server", text="", icon="PLAY")
        layout.prop(self, "unsaved_folder")
        row = layout.row()
        row.label(text=connection.STATUS.text, icon=_STATUS_ICONS.get(connection.STATUS.state, "QUESTION"))
        row.operator("diffv2m.check_server", text="Check", icon="FILE_REFRESH")


_STATUS_ICONS = {"ok": "CHECKMARK", "down": "ERROR", "checking": "SORTTIME", "unknown": "QUESTION"}


def status_icon(state: str) -> str:
    return _STATUS_ICONS.get(state, "QUESTION")


def get(context: bpy.types.Context | None = None) -> ScorePreferences:
    context = context or bpy.context
    return context.preferences.addons[__package__].preferences


CLASSES = (ScorePreferences,)
