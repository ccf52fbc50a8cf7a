"""The progress callback every long stage takes (feature analysis, engines, the pipeline).

``progress(stage, fraction in [0, 1])``: called often; it raises ``errors.Cancelled``
when the job was cancelled, which is how cancelling "at the next step" works
without the stages knowing about jobs. Its own module, so ``features/`` and
``engines/`` both use it without importing each other.
"""

from __future__ import annotations

from collections.abc import Callable

ProgressFn = Callable[[str, float], None]


def no_progress(stage: str, fraction: float) -> None:
    """Default progress callback: ignore."""
