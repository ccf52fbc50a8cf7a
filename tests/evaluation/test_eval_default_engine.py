"""``diffv2m eval --engine default`` on the benchmark: the embedded composer's report exists and is sane."""

from __future__ import annotations

import json
import math


def test_embedded_default_report(small_benchmark, tmp_path, cli):
    results = tmp_path / "default"
    cli(
        "eval",
        str(results),
        "--videos",
        str(small_benchmark),
        "--engine",
        "default",
        "--seed",
        "1",
        "--cache-dir",
        str(tmp_path / "cache"),
    )
    report = json.loads((results / "eval" / "report.json").read_text())
    assert (results / "eval" / "report.md").is_file() and (results / "eval" / "timeline.png").is_file()
    made = report["generation"]["tracks"]
    assert len(made) == len(report["tracks"]) == 9
    assert all(t["engine"] == "default" and t["seed"] == 1 for t in made.values())
    for track in report["tracks"]:
        # the job path normalises every take: -14 LUFS, true peak under -1 dBTP, no clipping or DC
        assert abs(track["lufs"] + 14.0) < 1.0, track["name"]
        assert track["true_peak_dbtp"] <= -0.9 and track["clipping_ratio"] == 0.0, track["name"]
        assert abs(track["dc_offset"]) < 1e-3 and track["silence_ratio"] < 0.2, track["name"]
        # exactly the video's length (the 23.976 fps clip ends on its last whole frame, before 6 s)
        assert abs(track["duration_s"] - made[track["name"]]["duration"]) < 1e-4, track["name"]
        assert abs(track["duration_s"] - 6.0) < 0.05, track["name"]
    summary = report["summary"]
    # The composer fits its beat grid to the visual events: clearly better than chance, on a steady tempo.
    assert summary["all"]["onset_bas_gain"] > 0.3 and summary["all"]["onset_f_gain"] > 0.3, summary["all"]
    assert summary["flash/periodic"]["tempo_match"] == 1.0
    assert summary["all"]["beat_interval_cv"] < 0.1
    assert not math.isnan(summary["all"]["odf_corr"])
