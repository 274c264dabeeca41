"""One short check to run wherever a CUDA GPU is available (under 5 minutes).

1. Bit-equality of the CUDA target with the CPU target for every distribution
   x dtype at 2**20 elements (a block at an offset), by the tiled and the flat
   kernels, and of column shards (blocks of many runs) by both; then the
   library paths: new torch CUDA tensors, ``fill_`` of contiguous and strided
   torch tensors, cupy arrays, jax GPU arrays.
2. Throughput at 2**28 elements: float32 truncated normal (tiled and flat
   kernels) and bfloat16, against ``torch.nn.init.trunc_normal_`` on CUDA,
   ``cupy.random.standard_normal`` and a device-to-device copy of the same
   bytes (the bandwidth bound).
3. First-launch time (JIT compile included) of the CUDA kernel.

Writes ``$OUT/gpu_check.json`` (or ``benchmarks/results/``) and prints a table.
Run: ``python benchmarks/gpu_check.py`` (needs numba-cuda, e.g. ``pip install -e
'.[cuda]'``; where numba-cuda, torch and cupy are installed already,
``PYTHONPATH=src python benchmarks/gpu_check.py`` from the repository root).
``--smoke``: tiny sizes, for checking the script in the CUDA simulator.
"""

from __future__ import annotations

import json
import os
import pathlib
import sys
import time

import numpy as np

from arrayinit import _engine, _plan
from arrayinit._kernels.abi import BITS
from arrayinit._plan import FillPlan

CASES = {
    "uniform": lambda d: _plan.uniform_params(-0.5, 0.5, d),
    "normal": lambda d: _plan.normal_params(0.0, 0.02, d),
    "truncated_normal": lambda d: _plan.truncnorm_params(0.0, 0.02, -2.0, 2.0, -0.04, 0.04, d),
    "truncated_wide": lambda d: _plan.truncnorm_params(0.0, 1.0, -4.0, 3.0, -4.0, 3.0, d),
    "far_tail": lambda d: _plan.truncnorm_params(0.0, 1.0, 9.0, 12.0, 9.0, 12.0, d),
}


def plan_for(name: str, dtype: str, shape, full, off) -> FillPlan:
    if name == "bits":
        return FillPlan(shape, full, off, BITS, "uint32", 1234, 0)
    dist, c64, params = CASES[name](dtype)
    return FillPlan(shape, full, off, dist, dtype, 1234, 0, c64, params)


def plans(smoke: bool):
    """(label, dtype, plan, threads): every distribution x dtype as one run by the tiled and the flat
    kernel; three of them as a block of many runs (a column shard) by both kernels."""
    n = 2**8 if smoke else 2**20
    tiled, flat = (8, 512) if smoke else (256, 512)  # the flat kernel: over 256 threads a block
    one_run = ((n,), (n + 12345,), (12345,))
    runs = ((4, 40), (5, 61), (1, 3)) if smoke else ((64, 2048), (65, 3072), (1, 3))
    for name in [*CASES, "bits"]:
        for dtype in ["uint32"] if name == "bits" else ["float32", "float64", "bfloat16", "float16"]:
            for kernel, threads in [("tiled", tiled), ("flat", flat)]:
                yield f"{name}/{dtype}/{kernel}", dtype, plan_for(name, dtype, *one_run), threads
    for name, dtype in [("truncated_normal", "float32"), ("normal", "bfloat16"), ("uniform", "float64")]:
        for kernel, threads in [("tiled", tiled), ("flat", flat)]:
            yield f"{name}/{dtype}/{kernel}/runs", dtype, plan_for(name, dtype, *runs), threads


def storage(dtype):
    return np.dtype({"bfloat16": np.uint16, "float16": np.uint16}.get(dtype, dtype))


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--smoke", action="store_true", help="tiny sizes, to check the script itself (e.g. in the CUDA simulator)"
    )
    args = ap.parse_args(argv)
    from numba import cuda

    out_dir = pathlib.Path(os.environ.get("OUT") or pathlib.Path(__file__).parent / "results")
    out_dir.mkdir(parents=True, exist_ok=True)
    device_name = str(getattr(cuda.get_current_device(), "name", "CUDA simulator"))
    res: dict = {"device": device_name, "equality": {}, "throughput": {}}

    # 1. first launch (compile) and equality
    first = True
    all_equal = True
    for label, dtype, plan, threads in plans(args.smoke):
        host = np.empty(plan.size, storage(dtype))
        _engine.run_cpu(plan, host)
        dev = cuda.device_array(plan.size, storage(dtype))
        t0 = time.perf_counter()
        _engine.run_cuda(plan, dev, threads=threads)
        cuda.synchronize()
        if first:
            res["first_launch_s"] = time.perf_counter() - t0
            first = False
        got = dev.copy_to_host()
        equal = bool(np.array_equal(got.view(np.uint8), host.view(np.uint8)))
        mism = int((got != host).sum())
        res["equality"][label] = {"equal": equal, "mismatches": mism}
        all_equal &= equal
        print(f"{label:<40} equal={equal} mismatches={mism}")

    # 1b. the library paths: torch CUDA tensors and cupy arrays, on their own streams
    import arrayinit as ai

    lib_checks = {}
    try:
        import torch

        if torch.cuda.is_available():
            ref = ai.HeNormal(seed=5)((1000, 1000), "bfloat16").view(np.uint16)
            t = ai.HeNormal(seed=5)((1000, 1000), "bfloat16", xp=torch, device="cuda:0")
            lib_checks["torch new tensor bf16"] = bool(np.array_equal(t.view(torch.uint16).cpu().numpy(), ref))
            p = torch.nn.Parameter(torch.empty(1000, 1000, device="cuda"))
            ai.HeNormal(seed=5).fill_(p)  # contiguous: written in place
            lib_checks["torch fill_ parameter f32"] = bool(
                np.array_equal(p.detach().cpu().numpy(), ai.HeNormal(seed=5)((1000, 1000)))
            )
            q = torch.empty(1000, 600, device="cuda", dtype=torch.bfloat16).t()  # strided: through a temporary
            ai.HeNormal(seed=5).fill_(q)
            lib_checks["torch fill_ transposed bf16"] = bool(
                np.array_equal(
                    q.contiguous().view(torch.uint16).cpu().numpy(),
                    ai.HeNormal(seed=5)((600, 1000), "bfloat16").view(np.uint16),
                )
            )
    except ImportError:
        pass
    try:
        import cupy

        c = ai.TruncatedNormal(stddev=0.02, seed=6)((1000, 1000), xp=cupy)
        lib_checks["cupy new array f32"] = bool(
            np.array_equal(cupy.asnumpy(c), ai.TruncatedNormal(stddev=0.02, seed=6)((1000, 1000)))
        )
        h = cupy.empty((300, 200), cupy.float16)
        ai.GlorotUniform(seed=8).fill_(h)  # in place
        lib_checks["cupy fill_ f16"] = bool(
            np.array_equal(cupy.asnumpy(h), ai.GlorotUniform(seed=8)((300, 200), "float16"))
        )
    except ImportError:
        pass
    try:
        import jax

        gpus = [d for d in jax.devices() if d.platform == "gpu"]
        if gpus:
            for dt in ["float32", "bfloat16"]:
                j = ai.HeNormal(seed=9)((512, 256), dt, xp=jax.numpy, device=gpus[0])
                ref = ai.HeNormal(seed=9)((512, 256), dt)
                lib_checks[f"jax gpu new array {dt}"] = bool(
                    j.devices() == {gpus[0]} and np.array_equal(np.asarray(j).view(ref.dtype), ref)
                )
    except ImportError:
        pass
    for k, v in lib_checks.items():
        print(f"{k:<40} equal={v}")
        all_equal &= v
    res["library_paths"] = lib_checks

    # 2. throughput at 2**28
    big = 2**12 if args.smoke else 2**28
    rows = []

    def timed(label, fn, nbytes, reps=5):
        fn()
        cuda.synchronize()
        start, stop = cuda.event(), cuda.event()
        best = float("inf")
        for _ in range(reps):
            t0 = time.perf_counter()
            start.record()
            fn()
            stop.record()
            stop.synchronize()
            elapsed = start.elapsed_time(stop) / 1e3  # the simulator's events return -1: wall time then
            best = min(best, elapsed if elapsed > 0 else time.perf_counter() - t0)
        rows.append(
            {"name": label, "seconds": best, "gvals_per_s": big / best / 1e9, "gbytes_per_s": nbytes / best / 1e9}
        )

    for dtype in ["float32", "bfloat16"]:
        dist, c64, params = _plan.truncnorm_params(0.0, 0.02, -2.0, 2.0, -0.04, 0.04, dtype)
        plan = FillPlan((big,), (big,), (0,), dist, dtype, 7, 0, c64, params)
        dev = cuda.device_array(big, storage(dtype))
        timed(
            f"arrayinit truncated_normal {dtype}",
            lambda plan=plan, dev=dev: _engine.run_cuda(plan, dev),
            big * storage(dtype).itemsize,
        )
        if dtype == "float32":  # the same fill by the flat kernel (512 threads: no tiles), stores uncoalesced
            timed(
                "arrayinit truncated_normal float32 (flat kernel)",
                lambda plan=plan, dev=dev: _engine.run_cuda(plan, dev, threads=512),
                big * 4,
            )
        del dev

    def copy_bound():
        src = cuda.device_array(big, np.float32)
        dst = cuda.device_array(big, np.float32)
        timed("device-to-device copy float32 (read+write)", lambda: dst.copy_to_device(src), 2 * big * 4)

    copy_bound()
    try:
        import torch

        if torch.cuda.is_available():
            for tdt, label in [(torch.float32, "float32"), (torch.bfloat16, "bfloat16")]:
                t = torch.empty(big, dtype=tdt, device="cuda")
                timed(
                    f"torch trunc_normal_ {label}",
                    lambda t=t: torch.nn.init.trunc_normal_(t, std=0.02, a=-0.04, b=0.04),
                    big * t.element_size(),
                )
                del t
            torch.cuda.empty_cache()
    except ImportError:
        pass
    try:
        import cupy

        timed("cupy standard_normal float32", lambda: cupy.random.standard_normal(big, dtype=cupy.float32), big * 4)
    except ImportError:
        pass
    res["throughput"] = rows
    copy = next(r for r in rows if r["name"].startswith("device-to-device"))
    # the copy moves 2 bytes per byte written; a fill writes once: its bound is the copy's read+write bandwidth
    for r in rows:
        r["fraction_of_copy_bandwidth"] = r["gbytes_per_s"] / copy["gbytes_per_s"]
        # the same in time: a float32 fill against a copy of the same float32 array (reads and writes)
        r["copy_time_over_time"] = copy["seconds"] / r["seconds"]
    print(f"{'implementation':<46}{'G values/s':>12}{'GB/s':>10}{'of copy BW':>12}{'copy t / t':>12}")
    for r in rows:
        print(
            f"{r['name']:<46}{r['gvals_per_s']:>12.2f}{r['gbytes_per_s']:>10.1f}"
            f"{r['fraction_of_copy_bandwidth']:>12.2f}{r['copy_time_over_time']:>12.2f}"
        )
    ours = next(r for r in rows if r["name"] == "arrayinit truncated_normal float32")
    torch_row = next((r for r in rows if r["name"] == "torch trunc_normal_ float32"), None)
    if torch_row:
        res["speedup_vs_torch_trunc_normal_float32"] = ours["gvals_per_s"] / torch_row["gvals_per_s"]
        print(f"arrayinit / torch trunc_normal_ (float32): {res['speedup_vs_torch_trunc_normal_float32']:.2f}x")
    print(f"first launch (compile included): {res['first_launch_s']:.2f} s; all equal: {all_equal}")
    res["all_equal"] = all_equal
    (out_dir / "gpu_check.json").write_text(json.dumps(res, indent=2))
    return 0 if all_equal else 1


if __name__ == "__main__":
    sys.exit(main())
