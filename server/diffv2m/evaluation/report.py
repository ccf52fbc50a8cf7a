"""Write an evaluation as JSON, a Markdown table and a PNG of events over time."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from .evaluate import TrackResult

# (metric, column title, format) for the Markdown tables
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("onset_f", "onset F", "{:.2f}"),
    ("onset_precision", "P", "{:.2f}"),
    ("onset_f_gain", "F gain", "{:+.2f}"),
    ("onset_bas", "BAS", "{:.2f}"),
    ("onset_bas_gain", "BAS gain", "{:+.2f}"),
    ("beat_bas_gain", "beat BAS gain", "{:+.2f}"),
    ("odf_lag_ms", "ODF lag ms", "{:+.0f}"),
    ("odf_corr", "ODF corr", "{:.2f}"),
    ("tempo_bpm", "tempo", "{:.1f}"),
    ("tempo_match", "tempo ok", "{:.2f}"),
    ("beat_interval_cv", "IBI CV", "{:.3f}"),
    ("lufs", "LUFS", "{:.1f}"),
    ("true_peak_dbtp", "dBTP", "{:.1f}"),
    ("clipping_ratio", "clip", "{:.4f}"),
    ("silence_ratio", "silence", "{:.2f}"),
)
MAX_PLOT_ROWS = 24


def json_safe(value: object) -> object:
    """Strict JSON has no NaN/Infinity: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


def _cell(value: object, fmt: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return fmt.format(value)


def _generation_lines(generation: dict | None) -> list[str]:
    """Which engine made the tracks and how long each took (when ``diffv2m eval --engine`` made them)."""
    tracks = list((generation or {}).get("tracks", {}).values())
    if not tracks:
        return []
    engines = sorted({f"{t['engine']} ({t['weights']}, {t['sampler']}, {t['steps']} steps)" for t in tracks})
    seconds = [t["seconds_to_make"] / max(t["duration"], 1e-9) for t in tracks]
    return [
        f"Tracks made by: {'; '.join(engines)}; emotion {tracks[0]['emotion']}, seed {tracks[0]['seed']}.",
        f"Time to make (job path, this machine): {sum(seconds) / len(seconds):.3f} s per second of music.",
    ]


def markdown(report: dict) -> str:
    header = "| track | group | " + " | ".join(title for _, title, _ in COLUMNS) + " |"
    rule = "|---|---|" + "---:|" * len(COLUMNS)
    lines = [
        f"# Evaluation of `{report['results_dir']}`",
        "",
        f"Videos: `{report['videos_dir']}`. diffv2m {report['diffv2m']}, {report['created']}, {report['machine']}.",
        "Gains are the score minus its chance level from circularly shifted visual events (0 = chance).",
        *_generation_lines(report.get("generation")),
        "",
        "## Summary (means)",
        "",
        header.replace("| track | group |", "| set | tracks |"),
        rule,
    ]
    for name, values in report["summary"].items():
        cells = " | ".join(_cell(values.get(key), fmt) for key, _, fmt in COLUMNS)
        lines.append(f"| {name} | {int(values['tracks'])} | {cells} |")
    lines += ["", "## Tracks", "", header, rule]
    for track in report["tracks"]:
        cells = " | ".join(_cell(track.get(key), fmt) for key, _, fmt in COLUMNS)
        lines.append(f"| {track['name']} | {track['group']} | {cells} |")
    optional = report.get("embedding_metrics") or {}
    if optional:
        lines += ["", "## Embedding metrics", ""]
        for name, outcome in optional.items():
            text = _cell(outcome.get("value"), "{:.4f}") if "value" in outcome else f"skipped: {outcome['skipped']}"
            lines.append(f"- **{name}**: {text}")
    lines += ["", "## Metrics", ""] + [f"- `{key}`: {doc}" for key, doc in report["metrics"].items()]
    return "\n".join(lines) + "\n"


def plot_timeline(results: list[TrackResult], path: Path) -> None:
    """One row per track: visual events (top), audio onsets and beats (bottom) over the onset strength."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and CI
    import matplotlib.pyplot as plt

    shown = results[:MAX_PLOT_ROWS]
    figure, axes = plt.subplots(len(shown), 1, figsize=(12, 1.25 * len(shown) + 0.6), squeeze=False, sharex=False)
    for axis, result in zip(axes[:, 0], shown, strict=True):
        events = result.events
        strength = events.onset_strength / max(float(np.max(events.onset_strength)), 1e-9)
        times = np.arange(strength.size) / events.frame_rate
        axis.fill_between(times, -1.0, -1.0 + strength, color="0.8", linewidth=0)
        axis.vlines(result.item.visual.times, 0.05, 1.0, color="tab:red", linewidth=1.2, label="visual events")
        axis.vlines(events.onsets, -1.0, -0.05, color="tab:blue", linewidth=1.0, label="audio onsets")
        axis.plot(events.beats, np.full(events.beats.size, -0.05), "v", color="tab:green", ms=4, label="audio beats")
        axis.axhline(0.0, color="0.5", linewidth=0.5)
        axis.set_xlim(0.0, result.item.visual.duration)
        axis.set_ylim(-1.05, 1.05)
        axis.set_yticks([])
        title = f"{result.item.name}   BAS gain {result.metrics['onset_bas_gain']:+.2f}"
        axis.set_title(title, fontsize=8, loc="left")
    axes[0, 0].legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=7, ncol=3, frameon=False)
    axes[-1, 0].set_xlabel("time (s)")
    if len(results) > len(shown):
        figure.suptitle(f"first {len(shown)} of {len(results)} tracks", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def write_report(report: dict, results: list[TrackResult], out_dir: str | Path) -> dict[str, Path]:
    """Write ``report.json``, ``report.md`` and ``timeline.png`` into ``out_dir``; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "report.json", "markdown": out_dir / "report.md", "plot": out_dir / "timeline.png"}
    paths["json"].write_text(json.dumps(json_safe(report), indent=1))
    paths["markdown"].write_text(markdown(report))
    plot_timeline(results, paths["plot"])
    return paths
