"""``diffv2m eval RESULTS_DIR``: score generated music against its videos (weight-free)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .options import add_model_options, settings_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "eval",
        help="score tracks against their videos: alignment, tempo, loudness (report: JSON, Markdown, PNG)",
        description="Each track in RESULTS_DIR is named after its video (<video stem>.wav, "
        "<video stem>.<take>.wav, or a video with the music muxed in). Visual events come from the "
        "benchmark manifest in --videos, or are detected. The report goes to RESULTS_DIR/eval/.",
    )
    p.add_argument("results", type=Path, help="folder of generated tracks")
    p.add_argument("--videos", type=Path, help="folder with the videos or a benchmark (default: RESULTS_DIR)")
    p.add_argument("--out", type=Path, help="report folder (default: RESULTS_DIR/eval)")
    p.add_argument("--reference", type=Path, help="real music for FAD/KL (named like the tracks for KL)")
    p.add_argument(
        "--embedding", action="store_true", help="also try FAD-VGGish, KL-PANNs, ImageBind (only with local weights)"
    )
    p.add_argument(
        "--engine",
        choices=("default", "diffv2m", "auto"),
        help="first make the missing tracks (<video stem>.wav) with this engine, through the server's job path",
    )
    p.add_argument("--emotion", default="auto", help="emotion for --engine (default auto)")
    p.add_argument("--seed", type=int, default=0, help="seed for --engine (default 0)")
    add_model_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..evaluation.evaluate import build_report, evaluate_items
    from ..evaluation.report import write_report
    from ..evaluation.results import REPORT_FOLDER, discover

    videos = args.videos or args.results
    settings = settings_from_args(args)
    extra: dict = {}
    if args.engine:
        from ..evaluation.generate import generate_missing

        made = generate_missing(
            args.results, videos, args.engine, settings, args.emotion, args.seed, lambda m: print(f"  made {m}")
        )
        print(f"made {len(made)} tracks with the {args.engine} engine", flush=True)
    items, unmatched = discover(args.results, videos)
    if unmatched:
        print(f"ignoring {len(unmatched)} files named after no video: {', '.join(unmatched)}", flush=True)
    print(f"evaluating {len(items)} tracks", flush=True)
    results = evaluate_items(items, progress=lambda name: print(f"  {name}", flush=True))
    if args.embedding:
        from ..evaluation.embedding import embedding_metrics

        extra["embedding_metrics"] = embedding_metrics(items, args.results, args.reference, settings.resolved_device())
    from ..evaluation.generate import RUN_RECORD

    generation = args.results / RUN_RECORD
    if generation.is_file():
        extra["generation"] = json.loads(generation.read_text())
    report = build_report(results, args.results, videos, extra)
    paths = write_report(report, results, args.out or args.results / REPORT_FOLDER)
    summary = report["summary"]["all"]
    print(
        f"onset F {summary['onset_f']:.2f} (gain {summary['onset_f_gain']:+.2f}), "
        f"BAS {summary['onset_bas']:.2f} (gain {summary['onset_bas_gain']:+.2f}), "
        f"LUFS {summary['lufs']:.1f}"
    )
    for outcome_name, outcome in extra.get("embedding_metrics", {}).items():
        print(f"{outcome_name}: {outcome.get('value', 'skipped: ' + str(outcome.get('skipped')))}")
    print(f"report: {paths['markdown']}  {paths['json']}  {paths['plot']}")
    return 0
