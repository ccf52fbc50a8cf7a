"""Panel messages wrapped to the sidebar's width instead of cut in the middle (addon/text.py)."""

from __future__ import annotations

from diffv2m_score.text import wrap

DOWN = (
    "No Diff-V2M server answers at http://127.0.0.1:8767: start it with 'diffv2m serve' "
    "(or set its address in the add-on preferences)."
)


def test_every_word_of_a_long_message_is_kept_and_each_line_fits():
    lines = wrap(DOWN, 30, len)
    assert all(len(line) <= 30 for line in lines)
    assert " ".join(lines) == DOWN
    assert any("'diffv2m serve'" in line for line in lines)


def test_a_word_longer_than_the_line_is_split_not_dropped():
    path = "/home/editor/projects/film/scores/calm_s11_default.wav"
    lines = wrap(f"Added it ({path}).", 20, len)
    assert all(len(line) <= 20 for line in lines)
    assert "".join(lines[1:]) == f"({path})." and lines[0] == "Added it"


def test_a_short_message_stays_one_line():
    assert wrap("Connected", 300, lambda s: 7.0 * len(s)) == ["Connected"]
    assert wrap("", 300, len) == [""]
