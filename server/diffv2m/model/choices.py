"""The model's named choices: samplers, step presets and level-1 wirings.

Kept free of torch so the command line can offer them as flag choices without loading it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args


@dataclass(frozen=True)
class StepPreset:
    sampler: str
    steps: int
    summary: str


# Speed against fidelity (docs/model.md), by name: the one list the CLI (--preset), the HTTP API ('preset')
# and every result use. "released" is the authors' own sampler and step count (arXiv 2511.09090's code).
STEP_PRESETS: dict[str, StepPreset] = {
    "fast": StepPreset("dpmpp-2m", 25, "DPM-Solver++ 2M, 25 steps"),
    "default": StepPreset("dpmpp-2m", 50, "DPM-Solver++ 2M, 50 steps"),
    "released": StepPreset("ddim", 250, "the released DDIM, 250 steps"),
}
PRESET_NAMES = tuple(STEP_PRESETS)
DEFAULT_STEPS = {"ddim": STEP_PRESETS["released"].steps, "dpmpp-2m": STEP_PRESETS["default"].steps}
SAMPLER_NAMES = tuple(DEFAULT_STEPS)


def resolve_sampling(preset: str | None, steps: int | None, sampler: str) -> tuple[str, int, str | None]:
    """(sampler, steps, preset) of a run.

    A preset gives the sampler and the step count, and an explicit ``steps`` overrides the count. Without a
    preset, ``sampler`` (the engine's) runs ``steps`` or its default. The preset reported is the one the run
    *is* (same sampler and steps), whichever way it was asked for; None for any other combination.
    """
    if preset is not None:
        if preset not in STEP_PRESETS:
            raise ValueError(f"unknown preset '{preset}'; choose one of {', '.join(PRESET_NAMES)}")
        sampler = STEP_PRESETS[preset].sampler
        steps = steps or STEP_PRESETS[preset].steps
    if sampler not in DEFAULT_STEPS:
        raise ValueError(f"unknown sampler '{sampler}'; choose one of {', '.join(SAMPLER_NAMES)}")
    steps = steps or DEFAULT_STEPS[sampler]
    matching = [name for name, p in STEP_PRESETS.items() if (p.sampler, p.steps) == (sampler, steps)]
    return sampler, steps, matching[0] if matching else None


# What level 1 ("emotion") cross-attends to: the predicted rhythm tokens as the released
# checkpoint does, the colour tokens as the paper describes, or nothing (docs/model.md).
EmotionSource = Literal["released", "colour", "none"]
EMOTION_SOURCES: tuple[str, ...] = get_args(EmotionSource)
