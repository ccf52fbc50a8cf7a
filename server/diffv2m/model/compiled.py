"""Which torch.compile mode a device gets, where its cache lives, and what one compile did.

Inductor's FX-graph and AOTAutograd caches are on by default in torch 2.13
(``torch._inductor.config.fx_graph_cache``), but they are kept in
``TORCHINDUCTOR_CACHE_DIR``, which defaults to a folder under the system's temp
directory that a reboot empties. Pointing it at the server's cache directory makes
the second start load the generated kernels instead of generating them again;
Triton's kernel cache follows it (``torch/_inductor/runtime/cache_dir_utils.py``,
``triton_cache_dir``). Dynamo still traces the Python at every start (seconds);
what the cache saves is Inductor's code generation and Triton's compile (minutes
at full size: issue 13 measured about 210 s per start without a cache).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .acceleration import compile_denoise
from .stack import DiffV2M

log = logging.getLogger(__name__)
# torch.compile's modes (torch._inductor.list_mode_options); "reduce-overhead" adds CUDA graphs.
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
CUDA_DEFAULT_MODE = "reduce-overhead"  # at CFG batch 2 a step is ~700 small kernel launches: graphs remove them
OFF_WORDS = ("off", "none", "eager", "no", "false", "0")
CACHE_FOLDER = "compile"  # under the server's cache directory


def resolve_compile_mode(requested: str | None, device: str) -> str | None:
    """The mode to compile the DiT with, or None for eager.

    ``auto`` (or unset): CUDA graphs on CUDA, eager elsewhere. An off word: eager. A torch.compile mode is used
    as asked on any device (Inductor compiles for the CPU too, without graphs), which is how CPU tests run the path.
    """
    key = (requested or "auto").strip().lower()
    if key == "auto":
        return CUDA_DEFAULT_MODE if device.startswith("cuda") else None
    if key in OFF_WORDS:
        return None
    if key not in COMPILE_MODES:
        raise ValueError(f"Unknown compile mode '{requested}'; choose auto, off or one of {', '.join(COMPILE_MODES)}.")
    return key


def use_cache_dir(folder: Path) -> Path:
    """Make ``folder`` Inductor's (and so Triton's) cache for this process; returns it, created."""
    folder = Path(folder).expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(folder)  # read at every lookup (cache_dir_utils.cache_dir)
    return folder


def cache_counts() -> tuple[int, int]:
    """Inductor's FX-graph cache (hits, misses) so far in this process."""
    from torch._dynamo.utils import counters

    inductor = counters["inductor"]
    return inductor["fxgraph_cache_hit"], inductor["fxgraph_cache_miss"] + inductor["fxgraph_cache_bypass"]


@dataclass
class CompileReport:
    """What /health and the bench say about the DiT's compilation."""

    mode: str | None  # None: eager by choice
    backend: str
    cache_dir: str | None = None
    state: str = "off"  # off | pending | compiled | eager-fallback
    reason: str | None = None  # why it fell back to eager
    seconds: float | None = None  # compiling plus the warm-up calls that trigger it
    cache_hits: int = 0
    cache_misses: int = 0

    @property
    def cache(self) -> str:
        """hit: nothing was generated; miss: everything was; partial: some of each; not used: no Inductor graphs."""
        if not self.cache_hits and not self.cache_misses:
            return "not used"
        if not self.cache_misses:
            return "hit"
        return "miss" if not self.cache_hits else "partial"

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "cache": self.cache}


def compile_and_warm(stack: DiffV2M, mode: str, backend: str, cache_dir: Path | None) -> CompileReport:
    """Compile the DiT's per-step call and run it at every shape and on both sides of the switch (``warm_up``),
    so no request pays for it; a failure leaves the DiT eager and says why. Logs the cache outcome."""
    report = CompileReport(mode, backend, str(use_cache_dir(cache_dir)) if cache_dir is not None else None)
    hits, misses = cache_counts()
    start = time.perf_counter()
    reason = compile_denoise(stack, mode, backend)
    report.seconds = round(time.perf_counter() - start, 2)
    now_hits, now_misses = cache_counts()
    report.cache_hits, report.cache_misses = now_hits - hits, now_misses - misses
    if reason is None:
        report.state = "compiled"
        log.info(
            "DiT compiled (mode %s, backend %s) in %.1f s; compile cache %s (%d hits, %d misses) in %s",
            mode, backend, report.seconds, report.cache, report.cache_hits, report.cache_misses, report.cache_dir,
        )  # fmt: skip
    else:
        report.state, report.reason = "eager-fallback", reason
    return report
