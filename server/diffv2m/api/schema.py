"""The OpenAPI schema of the ``POST /jobs`` form, generated from ``limits``.

The route reads a streamed multipart body itself (``uploads.py``), so FastAPI
cannot infer this schema; it is built here from the same constants
``job_request.validate`` enforces, so the published contract is the checked one.
"""

from __future__ import annotations

from typing import Any

from .. import limits
from ..emotion import emotion_names


def job_form_schema() -> dict[str, Any]:
    """JSON Schema (OpenAPI 3.1) of the multipart form fields of ``POST /jobs``."""
    binary = {"type": "string", "format": "binary"}
    seconds = {"type": "number", "minimum": 0, "maximum": limits.MAX_DURATION_S}
    return {
        "type": "object",
        "maxProperties": limits.MAX_PARTS,
        "properties": {
            "video": binary,
            "files": {"type": "array", "items": binary},
            "video_path": {"type": "string", "description": "an absolute local path (loopback clients only)"},
            "segments": {
                "type": "string",
                "maxLength": limits.MAX_FIELD_BYTES,
                "description": f"JSON list of at most {limits.MAX_SEGMENTS} segments, see docs/api.md",
            },
            "start": {**seconds, "default": 0},
            "end": {**seconds, "exclusiveMinimum": 0},
            "emotion": {"type": "string", "enum": emotion_names(), "default": "auto"},
            # FastAPI's schema model stores bounds as floats, which cannot spell 2^63 - 5 exactly.
            "seed": {"type": "integer", "minimum": 0, "description": f"0 to {limits.MAX_SEED}"},
            "takes": {"type": "integer", "minimum": 1, "maximum": limits.MAX_TAKES, "default": 1},
            "engine": {"type": "string", "enum": list(limits.ENGINE_CHOICES), "default": "auto"},
            "steps": {"type": "integer", "minimum": 1, "maximum": limits.MAX_STEPS},
            "preset": {
                "type": "string",
                "enum": list(limits.PRESET_CHOICES),
                "description": "Diff-V2M sampler and steps by name (docs/model.md); 'steps' overrides its count",
            },
            "guidance": {"type": "number", "minimum": limits.MIN_GUIDANCE, "maximum": limits.MAX_GUIDANCE},
            "duration": {"type": "number", "exclusiveMinimum": 0, "maximum": limits.MAX_DURATION_S},
        },
    }
