"""Speed and memory of the Diff-V2M model stack, with random weights (the numbers do not depend on them).

    PYTHONPATH=server python bench/bench_model.py [--device cpu|cuda] [--json OUT.json]
    PYTHONPATH=server python bench/bench_model.py --quick   # one bf16 run, <= 8 min on an H100/H200 (bench_quick.py)

CPU (always): a reduced DiT (``--cpu-width/--cpu-depth``; full size does not fit a
2-core budget) with the released window (645 latent frames, 30 s) and the
full-size Oobleck decoder:
  per-step DiT time (one CFG step = batch of 2), a 30-s generation at 250 released
  DDIM steps and at the fast sampler's default (DPM-Solver++ 2M, 50 steps), VAE
  decode, peak RSS; and a side-by-side of one CFG step on the plain path (everything
  recomputed, the unconditional half attending its zero contexts) against the
  prepared one (per-run and per-schedule constants, the null half's
  cross-attentions skipped), printed as a ratio (``--side-by-side-only`` runs just that).
GPU (when CUDA is present): the full-size stack (1.38 B DiT) in fp32, bf16 and
fp16, eager and ``torch.compile(mode="reduce-overhead")`` (CUDA graphs):
  per-step time, 30-s generations, VAE decode, peak allocated memory, and the
  fraction of the card's dense bf16 peak each step reaches.
FLOPs per CFG step are counted exactly at full size on the meta device
(``torch.utils.flop_counter``), so they are printed on any machine.
Real-time factor = 30 s of music / wall time to make it (higher is faster).
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import resource
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

from diffv2m.model.acceleration import PRECISIONS, compile_denoise, dummy_conditioning, prepare_for_inference
from diffv2m.model.choices import DEFAULT_STEPS
from diffv2m.model.guidance import GuidedVelocity
from diffv2m.model.io.weights import build_on_meta
from diffv2m.model.samplers import run_sampler
from diffv2m.model.stack import DiffV2M
from diffv2m.model.testing import tiny_spec

WINDOW_SECONDS = 645 * 2048 / 44100
DENSE_BF16_PEAK = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L40S": 362e12, "A10": 125e12, "4090": 165e12}


def released_spec(width: int = 1536, depth: int = 24, heads: int = 24, vae_channels: int = 128):
    """The released sizes (DiT 1536/24/24, cond 768, rhythm predictor 512/12/8, SAO Oobleck), DiT optionally
    reduced (a reduced DiT gets tokens of at most its own width, so its query heads still cover the kv heads)."""
    return tiny_spec(embed_dim=width, depth=depth, num_heads=heads, cond_dim=min(768, width), predictor=(512, 12, 8),
                     vae_channels=vae_channels, latent_dim=64)  # fmt: skip


def flops_per_cfg_step(spec, per_run_constants: bool = True) -> float:
    """Exact FLOPs of one guided step at these sizes, counted on the meta device (per-run constants, made once
    before the step, not counted; ``per_run_constants=False``: the plain path, everything counted)."""
    from torch.utils.flop_counter import FlopCounterMode

    stack = build_on_meta(lambda: DiffV2M.from_spec(copy.deepcopy(spec)))
    velocity = GuidedVelocity(stack.transformer, dummy_conditioning(stack), 3.0, per_run_constants=per_run_constants)
    x = torch.zeros(1, 64, stack.latent_length, device="meta")
    counts = {}
    for t in (0.9, 0.1):  # the released fusion computes one level-2 branch per step
        with FlopCounterMode(display=False) as counter:
            velocity(x, t)
        counts[t] = counter.get_total_flops()
    return sum(counts.values()) / len(counts)


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(function, device: str, repeats: int = 1) -> float:
    synchronize(device)
    start = time.perf_counter()
    for _ in range(repeats):
        function()
    synchronize(device)
    return (time.perf_counter() - start) / repeats


def build(spec, device: str, precision: str, compile_mode: str | None = None) -> DiffV2M:
    torch.manual_seed(0)
    with torch.device(device if device.startswith("cuda") else "cpu"):
        stack = DiffV2M.from_spec(copy.deepcopy(spec))
    stack = prepare_for_inference(stack, device, precision)
    if compile_mode:
        compile_denoise(stack, compile_mode)
    return stack


@torch.no_grad()
def side_by_side(stack: DiffV2M, device: str, repeats: int = 5) -> dict:
    """ms per CFG step, plain path vs prepared path, both sides of the switch, interleaved (a loaded machine
    slows both alike); medians."""
    conditioning = dummy_conditioning(stack)
    noise = torch.randn(1, stack.transformer.config.io_channels, stack.latent_length, device=device)
    paths = {"plain": GuidedVelocity(stack.transformer, conditioning, 3.0, per_run_constants=False)}
    paths["prepared"] = GuidedVelocity(stack.transformer, conditioning, 3.0)
    paths["prepared"].prepare_schedule([0.9, 0.1])
    times: dict[str, list[float]] = {name: [] for name in paths}
    for velocity in paths.values():
        velocity(noise, 0.9)  # warm-up
    for _ in range(repeats):
        for name, velocity in paths.items():
            times[name].append(timed(lambda v=velocity: (v(noise, 0.9), v(noise, 0.1)), device) / 2)
    median = {name: 1e3 * sorted(values)[len(values) // 2] for name, values in times.items()}
    return {"plain_step_ms": median["plain"], "prepared_step_ms": median["prepared"],
            "speed_up": median["plain"] / median["prepared"]}  # fmt: skip


@torch.no_grad()
def measure(stack: DiffV2M, device: str, step_repeats: int, generations: dict[str, int]) -> dict:
    velocity = GuidedVelocity(stack.transformer, dummy_conditioning(stack), 3.0)
    noise = torch.randn(1, 64, stack.latent_length, device=device)
    for t in (0.9, 0.1):
        velocity(noise, t)  # warm-up (and compilation / graph capture) of both branches
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    step = timed(lambda: velocity(noise, 0.9), device, step_repeats)
    result = {"step_ms": 1e3 * step}
    for sampler, steps in generations.items():
        seconds = timed(lambda s=sampler, n=steps: stack.decode(run_sampler(s, velocity, noise, n)), device)
        result[f"{sampler}_{steps}_s"] = seconds
        result[f"{sampler}_{steps}_rtf"] = WINDOW_SECONDS / seconds
    latent = torch.randn(1, 64, stack.latent_length, device=device)
    stack.decode(latent)
    result["vae_decode_ms"] = 1e3 * timed(lambda: stack.decode(latent), device)
    if device.startswith("cuda"):
        result["peak_gib"] = torch.cuda.max_memory_allocated() / 2**30
    return result


def cpu_part(args) -> dict:
    torch.set_num_threads(args.threads)
    spec = released_spec(args.cpu_width, args.cpu_depth, args.cpu_width // 64)
    stack = build(spec, "cpu", "fp32")
    params = sum(p.numel() for p in stack.transformer.parameters())
    compared = side_by_side(stack, "cpu")
    print(f"CPU side by side, reduced DiT {args.cpu_width}/{args.cpu_depth} ({params / 1e6:.1f} M), fp32, "
          f"{args.threads} threads, 645 frames, CFG batch 2: plain {compared['plain_step_ms']:.0f} ms per CFG step, "
          f"prepared + null skip {compared['prepared_step_ms']:.0f} ms: x{compared['speed_up']:.2f}")  # fmt: skip
    if args.side_by_side_only:
        return {**compared, "dit_params": params, "width": args.cpu_width, "depth": args.cpu_depth}
    out = measure(stack, "cpu", 3, {"dpmpp-2m": DEFAULT_STEPS["dpmpp-2m"], "ddim": args.cpu_ddim_steps})
    out.update(compared, dit_params=params, width=args.cpu_width, depth=args.cpu_depth, threads=args.threads,
               flops_per_step=flops_per_cfg_step(spec),
               peak_rss_gib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)  # fmt: skip
    return out


def gpu_part(args) -> dict:
    spec = released_spec()
    name = torch.cuda.get_device_name()
    peak = next((v for k, v in DENSE_BF16_PEAK.items() if k in name), None)
    flops = flops_per_cfg_step(spec)
    rows = {}
    for dtype_name in args.dtypes:
        for compile_mode in (None, "reduce-overhead"):
            key = f"{dtype_name}{'+graphs' if compile_mode else ''}"
            stack = build(spec, "cuda", dtype_name, compile_mode)
            row = measure(stack, "cuda", 20, {"ddim": 250, "dpmpp-2m": DEFAULT_STEPS["dpmpp-2m"]})
            row["tflops"] = flops / (row["step_ms"] / 1e3) / 1e12
            if peak:
                row["fraction_of_bf16_peak"] = flops / (row["step_ms"] / 1e3) / peak
            rows[key] = row
            del stack
            torch.cuda.empty_cache()
    return {"device": name, "flops_per_step": flops, "rows": rows}


def print_gpu_part(args, report: dict) -> None:
    if torch.cuda.is_available():
        gpu = report["gpu"] = gpu_part(args)
        print(
            f"GPU {gpu['device']}, full size, {gpu['flops_per_step'] / 1e12:.2f} TFLOP per CFG step "
            "(official code on one H100: 78 ms/step under fp16 autocast, 93 ms fp32; target <= 8 ms):"
        )
        for key, row in gpu["rows"].items():
            fraction = (
                f"{100 * row['fraction_of_bf16_peak']:.1f}% of bf16 peak" if "fraction_of_bf16_peak" in row else ""
            )
            print(f"  {key:16s} step {row['step_ms']:.2f} ms  ddim x250 {row['ddim_250_s']:.2f} s (RTF "
                  f"{row['ddim_250_rtf']:.1f})  dpmpp-2m x50 {row['dpmpp-2m_50_s']:.2f} s (RTF "
                  f"{row['dpmpp-2m_50_rtf']:.1f})  VAE {row['vae_decode_ms']:.1f} ms  peak {row['peak_gib']:.2f} GiB  "
                  f"{row['tflops']:.0f} TFLOP/s {fraction}")  # fmt: skip
    else:
        print("GPU: no CUDA device here; the full-size fp32/bf16/fp16 measurements were not run.")


def main() -> int:
    from bench_quick import add_arguments, run_quick  # bench/ is on sys.path when run as a script

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cpu-width", type=int, default=384)
    parser.add_argument("--cpu-depth", type=int, default=6)
    parser.add_argument("--cpu-ddim-steps", type=int, default=250)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--dtypes", nargs="+", default=["fp32", "bf16", "fp16"], choices=list(PRECISIONS))
    parser.add_argument("--skip-cpu", action="store_true")
    parser.add_argument("--side-by-side-only", action="store_true", help="on CPU, only the plain-vs-prepared step")
    parser.add_argument("--json", type=Path)
    add_arguments(parser)
    args = parser.parse_args()
    if args.quick:
        report = run_quick(args)
        if args.json:
            args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
        return 0
    report = {"machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads",
              "torch": torch.__version__}  # fmt: skip
    plain, prepared = (flops_per_cfg_step(released_spec(), reuse) / 1e12 for reuse in (False, True))
    print(f"full-size FLOPs per CFG step: {prepared:.2f} TFLOP (the plain path: {plain:.2f} TFLOP)")
    if not args.skip_cpu:
        cpu = report["cpu"] = cpu_part(args)
    if not args.skip_cpu and not args.side_by_side_only:
        print(f"CPU, reduced DiT {cpu['width']}/{cpu['depth']} ({cpu['dit_params'] / 1e6:.1f} M), full VAE, "
              f"{cpu['threads']} threads:")  # fmt: skip
        ddim = f"ddim_{args.cpu_ddim_steps}"
        print(f"  step {cpu['step_ms']:.0f} ms   dpmpp-2m x50 {cpu['dpmpp-2m_50_s']:.1f} s (RTF "
              f"{cpu['dpmpp-2m_50_rtf']:.2f})   ddim x{args.cpu_ddim_steps} {cpu[ddim + '_s']:.1f} s "
              f"(RTF {cpu[ddim + '_rtf']:.2f})   VAE decode 30 s {cpu['vae_decode_ms']:.0f} ms   "
              f"peak RSS {cpu['peak_rss_gib']:.2f} GiB")  # fmt: skip
    if not args.side_by_side_only:
        print_gpu_part(args, report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
