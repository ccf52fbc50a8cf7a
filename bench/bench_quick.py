"""``bench/bench_model.py --quick``: one bf16 run of the whole GPU story, sized to fit 8 minutes on an H100/H200.

CUDA: the full-size stack (1.38 B DiT, the Oobleck decoder) in bf16. CPU: a reduced DiT and decoder in fp32
(the same table; the PASS/FAIL lines say "n/a on CPU"). It prints, in this order:

* device, versions, FLOPs per CFG step (counted exactly on the meta device);
* the bf16-vs-fp32 error of the guided v (relative RMS, both sides of the t = 0.2 switch);
* eager ms per CFG step (CUDA events on CUDA; median, p10, p90; t = 0.9 and t = 0.1) and the SDPA kernel the
  profiler saw;
* the compile (``model/compiled.py``: CUDA graphs on CUDA, Inductor without graphs on CPU), its time and whether
  Inductor's persistent cache hit, then the compiled ms per CFG step, TFLOP/s and the percentage of the card's
  dense bf16 peak (``DENSE_BF16_PEAK``, by device name);
* VAE decode of one window, then 30 s end to end (DiT sampling from prepared conditioning plus the decode) at
  25 and 50 DPM-Solver++ 2M steps and 250 DDIM steps, and the peak memory;
* PASS/FAIL against issue 13's targets: <= 5 ms per CFG step, 30 s in < 1 s at 25 steps, peak VRAM <= 8 GB.

Run it twice to see the compile cache hit on the second run (same ``--cache-dir``).
"""

from __future__ import annotations

import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from bench_model import build, flops_per_cfg_step, released_spec, synchronize  # bench/ is on sys.path

from diffv2m.model.acceleration import dummy_conditioning
from diffv2m.model.compiled import CACHE_FOLDER, compile_and_warm
from diffv2m.model.guidance import GuidedVelocity
from diffv2m.model.longform import one_window_frames
from diffv2m.model.samplers import run_sampler
from diffv2m.settings import Settings

# Dense (no sparsity) bf16 tensor-core peaks from NVIDIA's H100 and H200 datasheets, TFLOP/s; most specific first.
DENSE_BF16_PEAK = (("H100 PCIe", 756.0), ("H100 NVL", 835.0), ("H200 NVL", 835.0), ("H100", 989.4), ("H200", 989.4))
TARGET_STEP_MS, TARGET_E2E_S, TARGET_PEAK_GB = 5.0, 1.0, 8.0
SIDES = (0.9, 0.1)  # one time each side of the released hard switch at t = 0.2


def peak_for(name: str) -> tuple[str, float] | None:
    return next(((key, peak) for key, peak in DENSE_BF16_PEAK if key in name), None)


def step_times_ms(call: Callable[[], object], device: str, repeats: int) -> list[float]:
    """Each call timed alone: CUDA events on CUDA (no host sync inside the loop), perf_counter on CPU."""
    if device.startswith("cuda"):
        pairs = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(repeats)]
        for start, end in pairs:
            start.record()
            call()
            end.record()
        torch.cuda.synchronize()
        return [start.elapsed_time(end) for start, end in pairs]
    times = []
    for _ in range(repeats):
        begin = time.perf_counter()
        call()
        times.append(1e3 * (time.perf_counter() - begin))
    return times


def spread(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    at = lambda q: ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]  # noqa: E731
    return {"median": statistics.median(ordered), "p10": at(0.1), "p90": at(0.9)}


def per_side(velocity: GuidedVelocity, x: torch.Tensor, device: str, repeats: int) -> dict[float, dict]:
    velocity.prepare_schedule(list(SIDES))
    out = {}
    with torch.no_grad():
        for t in SIDES:
            velocity(x, t)  # warm-up (and, compiled, the graph replay's first run)
            out[t] = spread(step_times_ms(lambda t=t: velocity(x, t), device, repeats))
    return out


def sdpa_kernels(velocity: GuidedVelocity, x: torch.Tensor) -> str:
    """The SDPA implementation(s) dispatched in one eager step, as the profiler names them."""
    from torch.profiler import profile

    with torch.no_grad(), profile() as prof:
        velocity(x, SIDES[0])
    names = sorted({e.key for e in prof.key_averages() if e.key.startswith("aten::_scaled_dot_product")})
    return ", ".join(name.removeprefix("aten::") for name in names) or "none seen"


def v_error(spec, device: str, x: torch.Tensor) -> dict[float, float]:
    """Relative RMS of the guided v, bf16 DiT against the same weights in fp32."""
    errors = {}
    stacks = {precision: build(spec, device, precision) for precision in ("bf16", "fp32")}
    with torch.no_grad():
        for t in SIDES:
            v = {p: GuidedVelocity(s.transformer, dummy_conditioning(s), 3.0)(x, t) for p, s in stacks.items()}
            errors[t] = float((v["bf16"] - v["fp32"]).pow(2).mean().sqrt() / v["fp32"].pow(2).mean().sqrt())
    del stacks
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return errors


def end_to_end_s(stack, velocity: GuidedVelocity, noise: torch.Tensor, sampler: str, steps: int, device: str) -> float:
    with torch.no_grad():
        synchronize(device)
        begin = time.perf_counter()
        stack.decode(run_sampler(sampler, velocity, noise, steps))
        synchronize(device)
    return time.perf_counter() - begin


def verdict(ok: bool, on_cpu: bool) -> str:
    return "n/a on CPU" if on_cpu else ("PASS" if ok else "FAIL")


def run_quick(args) -> dict:
    began = time.perf_counter()

    def stage(what: str) -> None:  # so a run stopped at its time limit still shows how far it got
        print(f"[{time.perf_counter() - began:6.1f} s] {what}", flush=True)

    cuda = torch.cuda.is_available() and not args.quick_on_cpu
    device = "cuda" if cuda else "cpu"
    if cuda:
        spec, precision, mode, repeats = released_spec(), "bf16", "reduce-overhead", 30
    else:
        torch.set_num_threads(args.threads)
        width = args.quick_cpu_width
        spec = released_spec(width, args.quick_cpu_depth, max(1, width // 64), args.quick_cpu_vae_channels)
        precision, mode, repeats = "fp32", "default", 5
    row: dict = {"device": torch.cuda.get_device_name() if cuda else f"CPU ({platform.processor() or 'cpu'})"}
    row["versions"] = (f"python {platform.python_version()}, torch {torch.__version__}, CUDA {torch.version.cuda}, "
                       f"cuDNN {torch.backends.cudnn.version()}")  # fmt: skip
    row["flops_full_size_TFLOP"] = flops_per_cfg_step(released_spec()) / 1e12
    flops = flops_per_cfg_step(spec)
    row["flops_this_run_TFLOP"] = flops / 1e12
    stack = build(spec, device, precision)
    frames = one_window_frames(stack)  # a 30.0-s request: one window (issue 13 item 1)
    x = torch.randn(1, stack.transformer.config.io_channels, frames, generator=torch.Generator().manual_seed(0))
    x = x.to(device)
    stage(f"built on {device}; bf16 vs fp32")
    row["bf16_vs_fp32_rel_rms"] = v_error(spec, device, x)
    stage(f"bf16 vs fp32: {row['bf16_vs_fp32_rel_rms']}; eager steps")
    velocity = GuidedVelocity(stack.transformer, dummy_conditioning(stack), 3.0)
    row["sdpa"] = sdpa_kernels(velocity, x)
    row["eager_ms"] = per_side(velocity, x, device, repeats)
    cache = (args.cache_dir or Settings(device=device).cache_dir) / CACHE_FOLDER
    stage(f"eager: {row['eager_ms']}; compiling ({mode}, cache {cache})")
    report = compile_and_warm(stack, mode, "inductor", cache)
    row["compile"] = report.as_dict()
    stage(f"compile: {report.state} in {report.seconds} s, cache {report.cache}; compiled steps")
    velocity = GuidedVelocity(stack.transformer, dummy_conditioning(stack), 3.0)
    row["compiled_ms"] = per_side(velocity, x, device, repeats)
    worst = max(side["median"] for side in row["compiled_ms"].values())
    row["tflops"] = flops / (worst / 1e3) / 1e12
    peak = peak_for(row["device"]) if cuda else None
    row["peak_fraction"] = (peak[0], row["tflops"] / peak[1]) if peak else None
    latent = torch.randn(1, stack.transformer.config.io_channels, frames, device=device)
    with torch.no_grad():
        stack.decode(latent)
        row["vae_decode_ms"] = spread(step_times_ms(lambda: stack.decode(latent), device, 3))["median"]
    stage(f"compiled: {row['compiled_ms']}; VAE {row['vae_decode_ms']:.1f} ms; end to end")
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    row["e2e_s"] = {f"{s} x{n}": end_to_end_s(stack, velocity, x, s, n, device)
                    for s, n in (("dpmpp-2m", 25), ("dpmpp-2m", 50), ("ddim", 250))}  # fmt: skip
    if cuda:
        row["peak_memory_GB"] = torch.cuda.max_memory_allocated() / 1e9
    else:
        row["peak_memory_GB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9
    row["checks"] = {
        f"<= {TARGET_STEP_MS} ms per CFG step (compiled, worse side)": verdict(worst <= TARGET_STEP_MS, not cuda),
        f"30 s in < {TARGET_E2E_S} s at 25 steps, VAE included": verdict(
            row["e2e_s"]["dpmpp-2m x25"] < TARGET_E2E_S, not cuda
        ),
        f"peak VRAM <= {TARGET_PEAK_GB} GB": verdict(row["peak_memory_GB"] <= TARGET_PEAK_GB, not cuda),
    }
    row["wall_s"] = time.perf_counter() - began
    dit = spec.transformer
    row["config"] = (f"{'full size' if cuda else 'reduced'}: DiT {dit['embed_dim']}/{dit['depth']}, VAE channels "
                     f"{spec.vae['decoder_channels']}, {precision}, {frames} frames, CFG batch 2, "
                     f"compile mode {mode}")  # fmt: skip
    print_table(row)
    return row


def print_table(row: dict) -> None:
    ms = lambda s: f"{s['median']:.2f} (p10 {s['p10']:.2f}, p90 {s['p90']:.2f})"  # noqa: E731
    c = row["compile"]
    flops = f"{row['flops_this_run_TFLOP']:.3f} TFLOP (full size {row['flops_full_size_TFLOP']:.2f})"
    errors = ", ".join(f"t={t}: {e:.2%}" for t, e in row["bf16_vs_fp32_rel_rms"].items())
    memory = "RSS" if "CPU" in row["device"] else "allocated VRAM"
    lines = [
        ("device", row["device"]),
        ("versions", row["versions"]),
        ("config", row["config"]),
        ("FLOPs per CFG step", flops),
        ("bf16 vs fp32, guided v rel. RMS", errors),
        ("SDPA kernel", row["sdpa"]),
        *((f"eager ms/CFG step, t={t}", ms(s)) for t, s in row["eager_ms"].items()),
        ("compile", f"{c['state']} in {c['seconds']} s, cache {c['cache']} ({c['cache_hits']} hits, "
                    f"{c['cache_misses']} misses) in {c['cache_dir']}" + (f"; {c['reason']}" if c["reason"] else "")),
        *((f"compiled ms/CFG step, t={t}", ms(s)) for t, s in row["compiled_ms"].items()),
        ("TFLOP/s (compiled, worse side)", f"{row['tflops']:.2f}" + (
            f" = {row['peak_fraction'][1]:.1%} of the {row['peak_fraction'][0]} dense bf16 peak"
            if row["peak_fraction"] else " (no peak for this device)")),
        ("VAE decode, one window", f"{row['vae_decode_ms']:.1f} ms"),
        *((f"30 s end to end, {k}", f"{v:.2f} s") for k, v in row["e2e_s"].items()),
        ("peak memory", f"{row['peak_memory_GB']:.2f} GB ({memory})"),
        *((f"check: {k}", v) for k, v in row["checks"].items()),
        ("bench wall time", f"{row['wall_s']:.0f} s"),
    ]  # fmt: skip
    width = max(len(k) for k, _ in lines)
    print("\n| what | value |\n|---|---|")
    for key, value in lines:
        print(f"| {key:{width}s} | {value} |")
    sys.stdout.flush()


def add_arguments(parser) -> None:
    parser.add_argument("--quick", action="store_true", help="one bf16 run of the GPU table (this module's doc)")
    parser.add_argument("--quick-on-cpu", action="store_true", help="--quick on the CPU even where CUDA is")
    parser.add_argument("--quick-cpu-width", type=int, default=128)
    parser.add_argument("--quick-cpu-depth", type=int, default=2)
    parser.add_argument("--quick-cpu-vae-channels", type=int, default=8)
    parser.add_argument("--cache-dir", type=Path, help="the server's cache dir (compile cache in its compile/)")
