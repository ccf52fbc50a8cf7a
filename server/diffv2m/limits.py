"""What one job may ask for: the single source of every request limit.

``job_request.validate`` enforces these, ``diffv2m generate``'s help quotes them
and the OpenAPI schema of ``POST /jobs`` is generated from them
(``api/schema.py``), so the three can never disagree. Nothing here imports
anything heavy: the CLI reads it at start-up.
"""

from __future__ import annotations

from .model.choices import PRESET_NAMES  # torch-free: the step presets are the model's own list

ENGINE_CHOICES = ("auto", "default", "diffv2m")
MAX_DURATION_S = 3600.0  # seconds of music per job, from the resolved timeline or the 'duration' field
MAX_TAKES = 4
MAX_STEPS = 1000
PRESET_CHOICES = PRESET_NAMES  # fast, default, released (docs/model.md)
MIN_GUIDANCE, MAX_GUIDANCE = 0.0, 30.0
MAX_SEED = 2**63 - 1 - MAX_TAKES  # seed + take index must stay a 64-bit integer
MIN_SPEED, MAX_SPEED = 1.0 / 64, 64.0  # segment playback rates (Blender's speed factor, with room)
MAX_SEGMENTS = 512  # pieces of one timeline (each names a file the server opens)
CHECK_BUDGET_S = 30.0  # wall time a submission's source checks (probing each file) may take
MAX_FIELD_BYTES = 1024 * 1024  # one text form field (the segments JSON is the largest)
MAX_PARTS = 64  # form fields and files in one POST /jobs
MAX_ECHO = 120  # characters of a user's own value repeated in an error message


def shown(value: object) -> str:
    """A user's value for an error message: printable, at most ``MAX_ECHO`` characters."""
    text = "".join(ch if ch.isprintable() else "?" for ch in str(value))
    return text if len(text) <= MAX_ECHO else text[: MAX_ECHO - 1] + "…"
