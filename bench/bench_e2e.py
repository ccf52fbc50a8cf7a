"""End-to-end latency: 30 s of score from a 1080p clip, the way users get it.

    PYTHONPATH=server python bench/bench_e2e.py [--clip CLIP.mp4] [--repeats 3] [--json OUT.json]

Measures, on the embedded default (target: under 5 s on a 2-core CPU):
  pipeline   in-process ``pipeline.run`` with engines loaded and numba warm, cold feature cache
             (what a server job costs once the server is up), split into features / the rest;
  http       the real server (``diffv2m serve`` subprocess): POST a local-path job, poll, GET the WAV;
  cli        ``diffv2m generate`` as a fresh process (imports and JIT warm-up included).
Then, on a CUDA GPU only, the Diff-V2M engine with random full-size weights (pipeline, as above).
The clip (30 s, 1920x1080, 30 fps, H.264, flashes + cuts) is made on first use and kept.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import requests
from served import Served

from diffv2m.benchmark.videos import demo_clip_spec, write_clip
from diffv2m.engines.registry import EngineRegistry
from diffv2m.job_request import JobRequest, check_sources, validate
from diffv2m.settings import Settings

CLIP_SECONDS = 30.0
DEFAULT_CLIP = Path(tempfile.gettempdir()) / "diffv2m-bench-1080p-30s.mp4"


def make_clip(path: Path) -> Path:
    if not path.exists():
        spec = demo_clip_spec(CLIP_SECONDS, 112.0, seed=1)
        spec.width, spec.height = 1920, 1080
        print(f"encoding {path} (30 s of 1080p; once)...", file=sys.stderr)
        write_clip(path, spec)
    return path


def machine() -> str:
    cpus = os.cpu_count()
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or "unknown CPU"
    return f"{model}, {cpus} logical cores, Python {platform.python_version()}"


def time_pipeline(clip: Path, engine: str, settings: Settings, repeats: int) -> dict:
    from diffv2m import pipeline
    from diffv2m.audio.beats import track_beats

    registry = EngineRegistry(settings)
    registry.get(engine)
    track_beats(np.random.default_rng(0).normal(size=(2, 44_100)), 44_100)  # numba warm-up, as the server does
    totals, features = [], []
    for k in range(repeats + 1):  # the first run warms decoders and engine caches; not counted
        with tempfile.TemporaryDirectory() as cache_dir:
            run_settings = Settings(**{**settings.__dict__, "cache_dir": Path(cache_dir)})
            request = check_sources(validate(JobRequest(video=str(clip), end=CLIP_SECONDS, seed=k, engine=engine)))
            began = time.perf_counter()
            output = pipeline.run(request, registry=registry, cache=pipeline.feature_cache(run_settings))
            pipeline.wav_bytes(output.takes[0].audio)
            elapsed = time.perf_counter() - began
        if k:
            totals.append(elapsed)
            features.append(output.metadata["timings"]["features_s"])
    return {
        "engine": output.metadata["engine"],
        "median_s": statistics.median(totals),
        "runs_s": [round(t, 3) for t in totals],
        "features_median_s": statistics.median(features),
        "realtime_factor": CLIP_SECONDS / statistics.median(totals),
    }


def time_http(clip: Path, repeats: int) -> dict:
    cache_dir = Path(tempfile.mkdtemp(prefix="diffv2m-bench-"))
    server = Served(cache_dir / "cache", log=cache_dir / "server.log")
    cache_dir, url = server.cache, server.url
    try:
        times = []
        for k in range(repeats + 1):
            shutil.rmtree(cache_dir / "features", ignore_errors=True)  # no feature-cache hits
            began = time.perf_counter()
            job = requests.post(f"{url}/jobs", files={"video_path": (None, str(clip)), "seed": (None, str(k))}).json()
            while (view := requests.get(f"{url}/jobs/{job['id']}").json())["state"] in ("queued", "running"):
                time.sleep(0.02)
            assert view["state"] == "done", view
            wav = requests.get(f"{url}/jobs/{job['id']}/audio").content
            if k:
                times.append(time.perf_counter() - began)
        return {"median_s": statistics.median(times), "runs_s": [round(t, 3) for t in times], "wav_bytes": len(wav)}
    finally:
        server.stop()
        shutil.rmtree(cache_dir.parent, ignore_errors=True)


def time_cli(clip: Path) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "score.wav"
        command = [sys.executable, "-m", "diffv2m", "generate", str(clip), "-o", str(out), "-q", "--json"]
        began = time.perf_counter()
        subprocess.run([*command, "--cache-dir", folder], check=True, capture_output=True)
        return {"wall_s": time.perf_counter() - began}


# The released sizes: DiT 1536 wide, 24 deep, 24 heads (1.38 B), cond 768, rhythm predictor 512/12/8, SAO Oobleck.
RELEASED_SIZES = {"embed_dim": 1536, "depth": 24, "num_heads": 24, "cond_dim": 768, "predictor": (512, 12, 8),
                  "vae_channels": 128, "latent_dim": 64}  # fmt: skip


def time_diffv2m_gpu(clip: Path, repeats: int) -> dict:
    """Diff-V2M with random full-size weights, through the same pipeline (CUDA only: far too slow on a CPU)."""
    import torch

    if not torch.cuda.is_available():
        return {"skipped": "no CUDA GPU on this machine"}
    from diffv2m.model.testing import write_tiny_weights

    with tempfile.TemporaryDirectory() as folder:
        write_tiny_weights(folder, **RELEASED_SIZES)  # project format + a tiny CLIP in folder/clip
        settings = Settings(weights=folder, device="cuda")
        timing = time_pipeline(clip, "diffv2m", settings, repeats)
        return {**timing, "gpu": torch.cuda.get_device_name(), "clip": "tiny random CLIP (no ViT-B/32 offline)"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", type=Path, default=DEFAULT_CLIP, help="30 s 1080p clip (made if missing)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    clip = make_clip(args.clip)
    report: dict = {"machine": machine(), "clip": f"{clip} (30 s, 1920x1080, 30 fps)"}
    # Side by side in one run: the numpy synthesis, then the sampled bank the lookup finds.
    report["default_pipeline_numpy"] = time_pipeline(clip, "default", Settings(sound_bank="numpy"), args.repeats)
    report["default_pipeline"] = time_pipeline(clip, "default", Settings(), args.repeats)
    report["default_pipeline"]["sound_bank"] = EngineRegistry(Settings()).get("default").bank_info.name
    report["default_http"] = time_http(clip, args.repeats)
    report["default_cli_cold"] = time_cli(clip)
    report["diffv2m_gpu"] = time_diffv2m_gpu(clip, args.repeats)
    print(json.dumps(report, indent=1))
    target = report["default_pipeline"]["median_s"]
    print(
        f"\n30 s of score from 1080p, embedded default: {target:.2f} s in-process (target < 5 s), "
        f"{report['default_http']['median_s']:.2f} s over HTTP, {report['default_cli_cold']['wall_s']:.2f} s cold CLI"
    )
    numpy_s = report["default_pipeline_numpy"]["median_s"]
    print(f"sampled ({report['default_pipeline']['sound_bank']}) vs numpy synthesis: {target / numpy_s:.3f}x the time")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
