"""Add-on preferences: where the server is, its token, and how to start one locally."""

from __future__ import annotations

import bpy
from bpy.props import StringProperty

from . import connection
from .client import DEFAULT_URL, is_loopback_url

# The module Blender enabled: this package, or the repository-root package that imports it as
# ``.addon`` when Blender's own builder packed the repository (blender_manifest.toml [build]).
MODULE = __package__.removesuffix(".addon")


def _recheck(_prefs: ScorePreferences, _context: bpy.types.Context) -> None:
    """A new address or token: check it now, so the indicator never describes the old one."""
    from . import ticker

    ticker.recheck_server()


class ScorePreferences(bpy.types.AddonPreferences):
    bl_idname = MODULE

    server_url: StringProperty(
        name="Server URL",
        default=DEFAULT_URL,
        description="Address of the Diff-V2M server (diffv2m serve); files are uploaded when it is not this computer",
        update=_recheck,
    )
    token: StringProperty(
        name="Token",
        subtype="PASSWORD",
        default="",
        description="Bearer token, if the server was started with one (required for non-local servers)",
        update=_recheck,
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
        layout.use_property_split = True
        layout.use_property_decorate = False
        layout.prop(self, "server_url")
        layout.prop(self, "token")
        row = layout.row(align=True)
        row.prop(self, "start_command")
        row.operator("diffv2m.start_server", text="", icon="PLAY")
        layout.prop(self, "unsaved_folder")
        row = layout.row()
        row.label(text=connection.STATUS.text, icon=_STATUS_ICONS.get(connection.STATUS.state, "QUESTION"))
        row.operator("diffv2m.check_server", text="Check", icon="FILE_REFRESH")


_STATUS_ICONS = {
    "ok": "CHECKMARK",
    "down": "ERROR",
    "offline": "INTERNET_OFFLINE",
    "checking": "SORTTIME",
    "unknown": "QUESTION",
}


def status_icon(state: str) -> str:
    return _STATUS_ICONS.get(state, "QUESTION")


def get(context: bpy.types.Context | None = None) -> ScorePreferences:
    context = context or bpy.context
    return context.preferences.addons[MODULE].preferences


def check_server(prefs: ScorePreferences) -> None:
    """Start a health check of the preferences' server, unless Online Access forbids it."""
    refusal = offline_refusal(prefs.server_url)
    if refusal:
        connection.refuse(refusal)
    else:
        connection.check(prefs.server_url, prefs.token)


def offline_refusal(url: str) -> str | None:
    """Why ``url`` may not be contacted now (Blender's Online Access is off and it is not this
    computer), or None. Every network use asks this first: jobs, the start-up check, Check."""
    if is_loopback_url(url.strip()) or bpy.app.online_access:
        return None
    return "The server is not on this computer: allow Online Access (Preferences > System > Network) to reach it."


CLASSES = (ScorePreferences,)
