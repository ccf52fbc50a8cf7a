"""The add-on's shortcut: Shift+Alt+M in the Sequencer runs Generate Score.

Registered in the add-on key configuration (Preferences > Keymap lists it under
Sequencer, where it can be changed); removed again on unregister. Shift+Alt+M is
not bound in Blender's default Sequencer keymap.
"""

from __future__ import annotations

import bpy

KEY = {"type": "M", "value": "PRESS", "shift": True, "alt": True}
_items: list[tuple[object, object]] = []


def register() -> None:
    keyconfig = bpy.context.window_manager.keyconfigs.addon
    if keyconfig is None:  # Blender started without key configurations (background mode)
        return
    keymap = keyconfig.keymaps.new(name="Sequencer", space_type="SEQUENCE_EDITOR")
    _items.append((keymap, keymap.keymap_items.new("diffv2m.generate_score", **KEY)))


def unregister() -> None:
    for keymap, item in _items:
        keymap.keymap_items.remove(item)
    _items.clear()
