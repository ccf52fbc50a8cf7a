"""Word-wrapping panel messages to the sidebar's width (no bpy here).

Blender's ``UILayout.label`` shortens a line that does not fit by cutting out its
middle, which hid the fix in messages such as "No Diff-V2M server answers at …
start it with 'diffv2m serve'". The panel measures words with Blender's font
(``blf``) and draws one label per line that ``wrap`` returns.
"""

from __future__ import annotations

from collections.abc import Callable


def wrap(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """Greedy word wrap of ``text`` into lines ``measure``-wide at most ``width``.

    A word wider than a whole line (a long path or URL) is split where it must be.
    Every character of ``text`` but the spaces at line breaks is kept, in order.
    """
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if measure(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = ""
            while measure(word) > width and len(word) > 1:
                cut = _longest_prefix(word, width, measure)
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    return lines


def _longest_prefix(word: str, width: float, measure: Callable[[str], float]) -> int:
    """How many leading characters of ``word`` fit in ``width`` (at least one)."""
    low, high = 1, len(word)
    while low < high:
        mid = (low + high + 1) // 2
        if measure(word[:mid]) <= width:
            low = mid
        else:
            high = mid - 1
    return low
