"""Diff-V2M: score video with music, from a local server or the command line."""

__version__ = "0.1.0"
