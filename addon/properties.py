"""Settings the panel edits (saved with the scene) and the live job state (window manager, never saved)."""

from __future__ import annotations

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty, StringProperty

# The server's presets (GET /emotions); the server validates, so a newer server's
# extra presets only need a newer add-on to be offered here.
EMOTIONS = [
    ("auto", "Auto (from the picture)", "Let the server pick the mood from the picture's colours"),
    ("calm", "Calm", "Slow, soft and consonant"),
    ("happy", "Happy", "Bright major key, lively tempo"),
    ("tense", "Tense", "Minor key, driving pulse, dissonant colour"),
    ("sad", "Sad", "Minor key, slow and sparse"),
    ("epic", "Epic", "Big, loud and wide"),
    ("mysterious", "Mysterious", "Modal and dark, airy textures"),
]

ENGINES = [
    ("auto", "Auto", "Diff-V2M when the server has its weights, else the built-in composer"),
    ("default", "Composer", "The server's built-in beat-exact composer (no weights needed)"),
    ("diffv2m", "Diff-V2M", "The Diff-V2M diffusion model (the server needs its weights)"),
]

MARKERS = [
    ("BEATS", "Beats", "A marker on every beat; bar starts are named ♪N, other beats ♪N.k"),
    ("BARS", "Bars", "Markers on bar starts only"),
    ("NONE", "None", "No markers"),
]


class ScoreSettings(bpy.types.PropertyGroup):
    emotion: EnumProperty(name="Emotion", items=EMOTIONS, default="auto")
    use_random_seed: BoolProperty(
        name="New Seed Each Time", default=True, description="Pick a new random seed for every generation"
    )
    seed: IntProperty(name="Seed", min=0, default=0, description="Seed used when 'New Seed Each Time' is off")
    engine: EnumProperty(name="Engine", items=ENGINES, default="auto")
    markers: EnumProperty(name="Markers", items=MARKERS, default="BEATS")


class ScoreState(bpy.types.PropertyGroup):
    running: BoolProperty(default=False)
    stage: StringProperty(default="")
    progress: FloatProperty(default=0.0, min=0.0, max=1.0, subtype="FACTOR")
    message: StringProperty(default="")
    message_level: StringProperty(default="INFO")


CLASSES = (ScoreSettings, ScoreState)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.diffv2m_score_settings = PointerProperty(type=ScoreSettings)
    bpy.types.WindowManager.diffv2m_score_state = PointerProperty(type=ScoreState)


def unregister() -> None:
    del bpy.types.WindowManager.diffv2m_score_state
    del bpy.types.Scene.diffv2m_score_settings
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
