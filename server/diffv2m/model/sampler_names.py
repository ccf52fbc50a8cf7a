"""The samplers by name, with their default step counts.

Kept free of torch so the command line can offer ``--sampler`` choices without loading it.
"""

DEFAULT_STEPS = {"ddim": 250, "dpmpp-2m": 50}  # ddim: as released; dpmpp-2m: the fast default
SAMPLER_NAMES = tuple(DEFAULT_STEPS)
