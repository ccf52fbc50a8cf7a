"""Diff-V2M Score: music for the Video Sequencer, made by a local Diff-V2M server.

Blender imports this package as ``bl_ext.<repo>.diffv2m_score``. Everything that
needs bpy is imported inside register(), so the plain-Python modules (timeline,
naming, client, jobs, connection) import without Blender for tests and tools.
"""

from __future__ import annotations


def _classes() -> list:
    from . import operators, panel, preferences

    return [*preferences.CLASSES, *operators.CLASSES, *panel.CLASSES]


def register() -> None:
    import bpy

    from . import keymap, properties, ticker

    properties.register()
    for cls in _classes():
        bpy.utils.register_class(cls)
    keymap.register()
    ticker.install()


def unregister() -> None:
    import bpy

    from . import keymap, properties, ticker

    ticker.shutdown()
    keymap.unregister()
    for cls in reversed(_classes()):
        bpy.utils.unregister_class(cls)
    properties.unregister()
