"""Manifest rows: CSV and JSONL read the same, each bad row keeps one sentence and the others stay."""

from __future__ import annotations

import json

import pytest

from diffv2m.errors import InputError
from diffv2m.scale.manifest import read_manifest


def test_csv_and_jsonl_give_the_same_checked_rows(batch_clip, tmp_path):
    (tmp_path / batch_clip.name).symlink_to(batch_clip)
    csv_path = tmp_path / "rows.csv"
    csv_path.write_text(f"video,start,end,emotion,seed,takes\n{batch_clip.name},0.5,2,Happy,3,2\n{batch_clip},,,,,\n")
    jsonl_path = tmp_path / "rows.jsonl"
    jsonl_path.write_text(
        json.dumps({"video": batch_clip.name, "start": 0.5, "end": 2, "emotion": "Happy", "seed": 3, "takes": 2})
        + "\n\n"
        + json.dumps({"video": str(batch_clip)})
        + "\n"
    )
    from_csv, from_jsonl = read_manifest(csv_path), read_manifest(jsonl_path)
    assert [r.request for r in from_csv] == [r.request for r in from_jsonl]
    first, second = from_csv
    assert first.id == f"0001-{batch_clip.stem}" and first.problem is None
    assert first.request["emotion"] == "happy" and first.request["takes"] == 2 and first.request["start"] == 0.5
    assert first.request["video"] == str((tmp_path / batch_clip.name).resolve())
    assert second.request["seed"] == 0 and second.request["end"] is None and second.request["emotion"] == "auto"


def test_bad_rows_keep_one_sentence_each(batch_clip, tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps({"video": str(batch_clip), "end": 2}),
                "{not json",
                json.dumps([1, 2]),
                json.dumps({"video": str(batch_clip), "tempo": 120}),
                json.dumps({"video": str(batch_clip), "takes": 1.5}),
                json.dumps({"video": str(batch_clip), "start": 3, "end": 2}),
                json.dumps({"video": ""}),
            ]
        )
    )
    rows = read_manifest(path)
    assert rows[0].problem is None
    problems = [r.problem for r in rows[1:]]
    assert all(r.request is None for r in rows[1:])
    assert problems[0].startswith("Row 2 is not JSON")
    assert problems[1] == "Row 3 is not a JSON object."
    assert "Unknown column(s) tempo" in problems[2]
    assert "'takes' must be a whole number" in problems[3]
    assert "The range is empty" in problems[4]
    assert "'video' is empty" in problems[5]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("rows.txt", "video\nclip.mp4\n", "must be a .csv or .jsonl file"),
        ("rows.csv", "clip.mp4,0,2\n", "needs a header line"),
        ("rows.csv", "video,start\n", "has no rows"),
    ],
)
def test_an_unusable_manifest_is_refused_with_one_sentence(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        read_manifest(path)
    with pytest.raises(InputError, match="does not exist"):
        read_manifest(tmp_path / "missing.csv")
