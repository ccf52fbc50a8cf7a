"""Video analysis speed: decode + every feature of a 60-s 1080p clip, with and without CLIP.

    PYTHONPATH=server python bench/bench_features.py [--seconds 60] [--fps 25] [--clip-dir DIR] [--json OUT]
                                                    [--weights FOLDER_OR_HUB_ID]

Makes the clip once (synthetic flashes and cuts, H.264, cached in --clip-dir) and
reports, each run timed from a cold ``extract_features`` call:
  decode      frames/s of the single decode pass alone (downscaled to the analysis size);
  no_clip     decode + colour + rhythm + cuts: real-time factor (target >= 10x on 2 CPU cores);
  tiny_clip   the same plus a tiny random-weight CLIP (target >= 4x);
  clip_fps    CLIP frames/s of the tiny model on 224x224 crops, on the GPU when there is one,
              and of --weights (e.g. a local ViT-B/32 folder) or --vit-b32 (random init) when given;
  peak_rss    peak resident memory of the process.
Wall times on a shared machine are noisy: CPU seconds and the load average are reported too.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from diffv2m.features.extract import extract_features
from diffv2m.features.semantic import ClipEncoder, tiny_clip_encoder
from diffv2m.features.settings import FeatureSettings
from diffv2m.video import iter_frames, probe_video


def make_clip(folder: Path, seconds: float, fps: int, preset: str = "superfast") -> Path:
    """A 1080p clip that decodes like camera footage (~8 Mbit/s H.264: texture, motion, grain),
    with flashes on a 120-bpm pulse and a cut every 4 s. (benchmark.videos' clips are flat
    colour plus noise, which encodes to ~60 Mbit/s at 1080p: far costlier to decode than real video.)"""
    import av

    path = folder / f"bench-{int(seconds)}s-1080p-{fps}fps-{preset}.mp4"
    if path.exists():
        return path
    started = time.perf_counter()
    width, height = 1920, 1080
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    shots = []
    for shot in range(4):
        fx, fy, fxy = rng.uniform(0.002, 0.012, 3)
        texture = cv2.GaussianBlur(rng.normal(0, 28, (height, width)).astype(np.float32), (0, 0), 3)
        base = np.stack(
            [110 + 70 * np.sin(x * fx + shot), 110 + 70 * np.sin(y * fy + 2 * shot), 110 + 70 * np.sin((x + y) * fxy)],
            -1,
        )
        shots.append(np.clip(base + texture[..., None], 0, 255).astype(np.uint8))
    grain = [rng.integers(-4, 5, (height, width, 1), dtype=np.int16) for _ in range(8)]
    beats = set(np.round(np.arange(0.25, seconds, 0.5) * fps).astype(int))
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": preset, "crf": "23"}
        for index in range(int(seconds * fps)):
            t = index / fps
            frame = np.roll(shots[int(t // 4) % 4], int(t * 120) % width, axis=1).astype(np.int16)
            left = int(300 + 700 * abs(np.sin(t * 1.3)))
            frame[420:640, left : left + 260] = (235, 225, 210)
            frame += grain[index % 8]
            if any(index - beat in (0, 1, 2) for beat in beats):
                frame += int((0.6, 0.25, 0.08)[min(index - b for b in beats if 0 <= index - b < 3)] * 150)
            image = np.clip(frame, 0, 255).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    megabits = path.stat().st_size * 8 / 1e6 / seconds
    print(f"made {path.name} ({megabits:.1f} Mbit/s) in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return path


def timed(function):
    """(result, wall seconds); the process CPU seconds of the last call are in ``timed.cpu``."""
    started, cpu = time.perf_counter(), time.process_time()
    result = function()
    timed.cpu = time.process_time() - cpu
    return result, time.perf_counter() - started


def figures(duration: float, seconds: float) -> dict[str, float]:
    # CPU seconds (all threads) show the work when the machine is shared and wall time does not;
    # spread over every core of an idle machine they bound its wall time from below.
    return {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(timed.cpu, 2),
        "realtime_x": round(duration / seconds, 1),
        "realtime_x_if_idle": round(duration / (timed.cpu / (os.cpu_count() or 1)), 1),
    }


def clip_rate(encoder: ClipEncoder, frames: int = 256) -> float:
    crops = np.random.default_rng(0).integers(0, 256, (frames, 224, 224, 3), dtype=np.uint8)
    encoder.encode(crops[: encoder.batch_size])  # warm-up (kernels, allocator)
    if encoder.device == "cuda":
        torch.cuda.synchronize()
    _, seconds = timed(lambda: encoder.encode(crops))
    return frames / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--clip-dir", type=Path, default=Path(tempfile.gettempdir()) / "diffv2m-bench")
    parser.add_argument(
        "--preset",
        default="superfast",
        help="x264 preset of the clip: superfast (CABAC, deblocking, B-frames: like camera and web video) "
        "or ultrafast (CAVLC, no deblocking: much cheaper to decode)",
    )
    parser.add_argument("--weights", help="a real CLIP (folder or hub id) to time as well")
    parser.add_argument(
        "--vit-b32", action="store_true", help="also time a random-init full-size ViT-B/32 (no weights needed)"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    args.clip_dir.mkdir(parents=True, exist_ok=True)
    path = make_clip(args.clip_dir, args.seconds, args.fps, args.preset)
    info = probe_video(path)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    report: dict[str, object] = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch threads "
        f"{torch.get_num_threads()}, device {device}"
        + (f" ({torch.cuda.get_device_name()})" if device == "cuda" else ""),
        "clip": f"{path.name}: {info.width}x{info.height}, {info.fps:g} fps, {info.duration:.1f} s",
        "load_average_before": [round(value, 1) for value in os.getloadavg()],
    }

    frames, seconds = timed(lambda: sum(1 for _ in iter_frames(path, width=FeatureSettings().analysis_width)))
    report["decode"] = {**figures(info.duration, seconds), "frames": frames, "frames_per_s": round(frames / seconds, 1)}

    features, seconds = timed(lambda: extract_features(path, settings=FeatureSettings(semantic=False)))
    report["no_clip"] = figures(info.duration, seconds)
    report["events"] = {"visual": int(features.event_times.size), "cuts": int(features.cut_times.size)}

    tiny = tiny_clip_encoder(device=device)
    features, seconds = timed(lambda: extract_features(path, clip=tiny))
    report["tiny_clip"] = figures(info.duration, seconds)
    report["clip_fps"] = {f"tiny ({device})": round(clip_rate(tiny), 1)}
    if args.vit_b32:
        from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

        full = ClipEncoder(CLIPVisionModelWithProjection(CLIPVisionConfig()), name="vit-b32-random", device=device)
        report["clip_fps"][f"ViT-B/32 random init ({device})"] = round(clip_rate(full, 64), 1)
        _, seconds = timed(lambda: extract_features(path, clip=full))
        report["vit_b32_clip"] = figures(info.duration, seconds)
    if args.weights:
        real = ClipEncoder.from_pretrained(args.weights, device=device)
        report["clip_fps"][f"{args.weights} ({device})"] = round(clip_rate(real, 128), 1)
        _, seconds = timed(lambda: extract_features(path, clip=real))
        report["real_clip"] = figures(info.duration, seconds)
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    report["load_average_after"] = [round(value, 1) for value in os.getloadavg()]

    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
