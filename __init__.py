"""The extension's entry point when Blender's own builder packs the repository root.

``blender --command extension build`` run here zips this file, blender_manifest.toml
and addon/ (the manifest's ``[build]`` section names them); the add-on itself is
the ``addon`` package below. ``python addon/build.py`` makes the other valid layout,
addon/'s modules at the zip's root (docs/addon.md). The imports wait for Blender to
call in, so tools that import this folder outside Blender (pytest) find nothing to fail.
"""

from __future__ import annotations


def register() -> None:
    from .addon import register as register_addon

    register_addon()


def unregister() -> None:
    from .addon import unregister as unregister_addon

    unregister_addon()
