"""The model's named choices: samplers (with default step counts) and level-1 wirings.

Kept free of torch so the command line can offer them as flag choices without loading it.
"""

from typing import Literal, get_args

DEFAULT_STEPS = {"ddim": 250, "dpmpp-2m": 50}  # ddim: as released; dpmpp-2m: the fast default
SAMPLER_NAMES = tuple(DEFAULT_STEPS)

# What level 1 ("emotion") cross-attends to: the predicted rhythm tokens as the released
# checkpoint does, the colour tokens as the paper describes, or nothing (docs/model.md).
EmotionSource = Literal["released", "colour", "none"]
EMOTION_SOURCES: tuple[str, ...] = get_args(EmotionSource)
