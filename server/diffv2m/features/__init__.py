"""Per-second visual features of a video range (what Diff-V2M conditions on)."""

from .types import VideoFeatures

__all__ = ["VideoFeatures"]
