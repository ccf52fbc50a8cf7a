"""Weight-free evaluation of music for video: alignment, tempo, loudness; optional embedding metrics.

``metrics.evaluate_track`` scores one track against a video's visual events,
``evaluate.evaluate_folder`` a whole results folder (layout: ``results.py``),
``report.write_report`` writes JSON + Markdown + PNG. ``diffv2m eval`` wraps them.
"""
