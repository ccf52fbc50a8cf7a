"""``diffv2m batch`` in process: outputs and report per row, bad rows reported, 30 rows killed and resumed."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile

from .conftest import batch_command, done_counts, events, run_batch, write_manifest


def test_batch_writes_each_row_and_a_report_and_reports_bad_rows(batch_clip, tmp_path):
    manifest = write_manifest(
        tmp_path / "rows.csv",
        [
            f"{batch_clip},0,2,happy,1,1",
            f"{batch_clip.name},0.5,2.5,,2,2",  # relative to the manifest's folder: not there
            f"{batch_clip},0,2,grumpy,,",
            f"{batch_clip},1,3,sad,,",
        ],
    )
    out = tmp_path / "out"
    run = run_batch(manifest, out, tmp_path / "cache")
    assert run.returncode == 1, run.stderr  # some rows failed
    assert "batch" in run.stderr and "row" in run.stderr, "no progress bar on stderr"
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["rows"] == 4 and report["summary"]["done"] == 2 and report["summary"]["failed"] == 2
    problems = {f["row"]: f["problem"] for f in report["failed"]}
    assert "does not exist" in problems[2] and "Unknown emotion 'grumpy'" in problems[3]
    done = {r["row"]: r for r in report["rows"]}
    assert set(done) == {1, 4}
    assert done[4]["request"]["seed"] == 0 and done[4]["emotion"] == "sad"  # an empty seed is 0: reruns match
    for record in done.values():
        folder = out / "rows" / record["id"]
        (take,) = record["takes"]
        assert set(take["files"]) == {"wav", "beats", "midi"}
        audio, rate = soundfile.read(folder / take["files"]["wav"])
        assert rate == 44100 and audio.shape == (2 * 44100, 2) and np.abs(audio).max() > 0.01
        beats = json.loads((folder / take["files"]["beats"]).read_text())
        assert beats["duration"] == 2.0 and len(beats["beats"]) >= 2
        assert (folder / take["files"]["midi"]).read_bytes()[:4] == b"MThd"
        metrics = take["metrics"]
        assert 0.0 <= metrics["onset_f"] <= 1.0 and -20 < metrics["lufs"] < -8
    assert report["summary"]["mean"]["onset_f"] is not None
    markdown = (out / "report.md").read_text()
    assert "2 of 4 rows done, 2 failed" in markdown and "Unknown emotion 'grumpy'" in markdown
    assert f"{done[1]['takes'][0]['metrics']['onset_f']:.2f}" in markdown


def test_batch_refuses_a_folder_it_did_not_make(batch_clip, tmp_path):
    manifest = write_manifest(tmp_path / "rows.csv", [f"{batch_clip},0,2,,,"])
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    run = run_batch(manifest, out, tmp_path / "cache")
    assert run.returncode == 1 and "not made by 'diffv2m batch'" in run.stderr
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"] and (out / "notes.txt").read_text() == "keep me"


def _outputs(out: Path) -> dict[str, int]:
    """Every file under rows/ and its modification time (ns): a row written again shows a new time."""
    return {str(path.relative_to(out)): path.stat().st_mtime_ns for path in (out / "rows").rglob("*") if path.is_file()}


def test_batch_of_30_rows_killed_mid_run_resumes_and_does_each_row_exactly_once(batch_clip, tmp_path):
    rows, kill_after = 30, 10  # 2 s ranges: about 0.2 s a row here, so the kill lands well before the end
    manifest = tmp_path / "rows.jsonl"
    manifest.write_text(
        "".join(json.dumps({"video": str(batch_clip), "start": 0, "end": 2, "seed": s}) + "\n" for s in range(rows))
    )
    out, cache = tmp_path / "out", tmp_path / "cache"
    process = subprocess.Popen(batch_command(manifest, out, cache, "-q"), stdout=subprocess.PIPE, stderr=sys.stderr)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        if (out / "log.jsonl").is_file() and sum(done_counts(out).values()) >= kill_after:
            break
        time.sleep(0.02)
    assert process.poll() is None, "the batch ended before it could be interrupted"
    process.send_signal(signal.SIGKILL)  # no handler runs: what is on disk is all a resume has
    process.wait(timeout=30)
    logged = set(done_counts(out))
    # Done on disk: done.json is written just before the log line, so a kill between the two
    # leaves one row done whose line is missing; the resume must count it done, not redo it.
    first = {folder.name for folder in (out / "rows").iterdir() if (folder / "done.json").is_file()}
    assert logged <= first and len(first - logged) <= 1 and kill_after <= len(first) < rows
    written_before, lines_before = _outputs(out), len(events(out))
    half = out / "rows" / f"{rows:04d}-{batch_clip.stem}" / ".score.wav.4242.part"  # as a kill mid-write leaves
    half.parent.mkdir(exist_ok=True)
    half.write_bytes(b"RIFF")

    resumed = run_batch(manifest, out, cache, "-q")
    assert resumed.returncode == 0, resumed.stderr
    assert f"{rows} of {rows} rows done ({len(first)} from an earlier run)" in resumed.stdout
    counts = done_counts(out)
    assert len(counts) == len(logged) + rows - len(first) and set(counts.values()) == {1}, counts
    report = json.loads((out / "report.json").read_text())
    assert [r["row"] for r in report["rows"]] == list(range(1, rows + 1)) and report["failed"] == []
    second = events(out)[lines_before:]
    assert {e["row"] for e in second if e["event"] == "skipped"} == first
    assert sorted(e["row"] for e in second if e["event"] == "done") == sorted({r["id"] for r in report["rows"]} - first)
    assert [r["request"]["seed"] for r in report["rows"]] == list(range(rows))
    # The rows done before the kill are the first run's, untouched; the rest are the resumed run's, once.
    by_pid: dict[int, set[str]] = {}
    for record in report["rows"]:
        by_pid.setdefault(record["worker_pid"], set()).add(record["id"])
    assert by_pid.pop(process.pid) == first and len(by_pid) == 1
    (resumed_rows,) = by_pid.values()
    assert resumed_rows == {r["id"] for r in report["rows"]} - first
    written_after = _outputs(out)
    for name, mtime in written_before.items():
        if name.split("/")[1] in first:
            assert written_after[name] == mtime, f"{name} was written again"
    assert all(f"rows/{r['id']}/done.json" in written_after for r in report["rows"])
    assert not [name for name in written_after if name.endswith(".part")]
