"""Sound sources of the composer: drum one-shots and pitched voices."""

from .drums import DRUMS, drum_hit, riser
from .tonal import VOICES, render_voice

__all__ = ["DRUMS", "VOICES", "drum_hit", "render_voice", "riser"]
