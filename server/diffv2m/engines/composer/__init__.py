"""The embedded default engine: a composer that needs no model weights.

See docs/composer.md for the emotion table and how the beat grid is fitted.
"""

from .engine import ComposerEngine

__all__ = ["ComposerEngine"]
