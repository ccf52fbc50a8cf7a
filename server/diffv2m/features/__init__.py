"""Per-second visual features of a video range (what Diff-V2M conditions on).

Entry point: ``extract.extract_features``; see docs/features.md.
"""

from .types import VideoFeatures

__all__ = ["VideoFeatures"]
