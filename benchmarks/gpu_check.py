"""The one check to run when a CUDA GPU is lent (one H100 or H200, no network, under 5 minutes).

Named sections, each recorded in the JSON with its status (``ran``,
``skipped`` and why, ``failed`` and the error) and its time; each check in a
section is recorded as ``pass``, ``fail`` or ``skipped`` with the reason. A
library or device that is missing is a skipped check, never a pass.

- ``kernels``: every kernel variant (uniform, narrow uniform, normal; truncated
  normal central, window, general, far tail, local expansion; raw bits) in every
  output format (float32, float64, float16, bfloat16) by the tiled and the flat
  kernel, bit-equal to the CPU target; the first launch of each compiled
  variant timed (compile, or load from the disk cache);
- ``blocks``: blocks of many runs (column shards) by both kernels, offsets
  beyond ``2**32``, a block cut in five axes (several launches);
- ``cache``: a second process fills with variants this one compiled: loaded
  from the disk cache, not compiled;
- ``torch``: new tensors of every dtype (complex64 too), ``fill_`` of a
  parameter and of a transposed tensor, on a side stream
  (``with torch.cuda.stream(s)``), a bias (small launch, warnings as errors);
- ``cupy``: new arrays, ``fill_`` in place and of a transposed array;
- ``second_device``: the same on ``cuda:1`` while ``cuda:0`` is current;
- ``jax``: jax GPU arrays (through cupy and DLPack; bfloat16 without a copy);
- ``errors``: ``DeviceUnavailableError`` for a device index that does not exist;
- ``throughput``: float32 and bfloat16 truncated normal at ``2**28`` against
  ``torch.nn.init.trunc_normal_``, ``Tensor.normal_`` and a device-to-device
  copy of the same bytes (the bandwidth bound), timed with CUDA events.

Writes ``$OUT/gpu_check.json`` (else ``benchmarks/results/gpu_check.json``) and
prints a summary. Run ``python benchmarks/gpu_check.py`` (numba-cuda needed:
``pip install -e '.[cuda]'``, or ``PYTHONPATH=src`` where it is installed).
``--smoke``: tiny sizes, for rehearsing the script in the CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``). Exit status 1 when a check failed.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import time
import traceback
import warnings

import numpy as np

from arrayinit import _engine, _plan
from arrayinit._kernels import abi
from arrayinit._plan import FillPlan

DTYPES = ["float32", "float64", "float16", "bfloat16"]
# (name, parameters): together every sampler of both arithmetics (``dist`` of each plan is recorded)
CASES = {
    "uniform": lambda d: _plan.uniform_params(-0.5, 0.5, d),
    "uniform_narrow": lambda d: _plan.uniform_params(1.0, 1.01, d),
    "normal": lambda d: _plan.normal_params(0.0, 0.02, d),
    "truncated_window": lambda d: _plan.truncnorm_params(0.0, 0.02, -2.0, 2.0, -0.04, 0.04, d),
    "truncated_central": lambda d: _plan.truncnorm_params(0.0, 1.0, -2.5, 2.5, -2.5, 2.5, d),
    "truncated_wide": lambda d: _plan.truncnorm_params(0.0, 1.0, -4.0, 3.0, -4.0, 3.0, d),
    "far_tail": lambda d: _plan.truncnorm_params(0.0, 1.0, 9.0, 12.0, 9.0, 12.0, d),
    "tail_expansion": lambda d: _plan.truncnorm_params(0.0, 1.0, 40.0, 41.0, 40.0, 41.0, d),
    "narrow_local": lambda d: _plan.truncnorm_params(0.0, 1.0, -3.0, -2.9995, -3.0, -2.9995, d),
}


def plan_for(name: str, dtype: str, shape, full, off, seed: int = 1234) -> FillPlan:
    if name == "bits":
        return FillPlan(shape, full, off, abi.BITS, "uint32", seed, 0)
    dist, c64, params = CASES[name](dtype)
    return FillPlan(shape, full, off, dist, dtype, seed, 0, c64, params)


def storage(dtype: str) -> np.dtype:
    return np.dtype({"bfloat16": np.uint16, "float16": np.uint16}.get(dtype, dtype))


def cpu_values(plan: FillPlan) -> np.ndarray:
    out = np.empty(plan.size, storage(plan.dtype))
    _engine.run_cpu(plan, out)
    return out


class Report:
    """Sections and checks, as they ran."""

    def __init__(self) -> None:
        self.sections: dict[str, dict] = {}
        self.checks: list[dict] = []
        self.current = ""
        self.compile_s: dict[str, float] = {}  # first launch of each variant (compile or cache load)
        self.rows: list[dict] = []  # throughput
        self.speedups: dict[str, float] = {}
        self.second_process: dict | None = None

    def check(self, name: str, ok: bool, **detail) -> bool:
        self.checks.append({"section": self.current, "name": name, "status": "pass" if ok else "fail", **detail})
        print(f"  {'ok  ' if ok else 'FAIL'} {name}" + (f" {detail}" if detail and not ok else ""))
        return ok

    def skip(self, name: str, why: str) -> None:
        self.checks.append({"section": self.current, "name": name, "status": "skipped", "why": why})
        print(f"  skip {name}: {why}")

    def run(self, name: str, fn, *args) -> None:
        self.current = name
        print(f"[{name}]")
        t0 = time.perf_counter()
        entry: dict = {"status": "ran"}
        try:
            why = fn(self, *args)
            if isinstance(why, str):
                entry = {"status": "skipped", "why": why}
                print(f"  section skipped: {why}")
        except Exception as e:
            entry = {"status": "failed", "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
            print(f"  section FAILED: {entry['error']}")
        entry["seconds"] = round(time.perf_counter() - t0, 3)
        self.sections[name] = entry

    def summary(self) -> dict:
        counts = {s: sum(c["status"] == s for c in self.checks) for s in ("pass", "fail", "skipped")}
        failed_sections = [n for n, s in self.sections.items() if s["status"] == "failed"]
        return {
            **counts,
            "failed_sections": failed_sections,
            "all_equal": counts["fail"] == 0 and not failed_sections and counts["pass"] > 0,
        }


def _sync(cuda) -> None:
    cuda.synchronize()


# --- sections ------------------------------------------------------------------------------------------------


def kernels(rep: Report, cuda, smoke: bool) -> None:
    """Every variant x format x kernel, one run at an offset; first launches timed (compile or cache load)."""
    n = 2**8 if smoke else 2**20
    # the flat kernel: runs shorter than 4 x threads (or over the tile's 256 threads a block)
    tiled, flat = (8, 128) if smoke else (256, 512)
    one_run = ((n,), (n + 12345,), (12345,))
    dists_seen: dict[str, set] = {"fill32": set(), "fill64": set()}
    for name in [*CASES, "bits"]:
        for dtype in ["uint32"] if name == "bits" else DTYPES:
            plan = plan_for(name, dtype, *one_run)
            host = cpu_values(plan)
            family = "bits" if name == "bits" else ("fill64" if plan.compute64 else "fill32")
            if family != "bits":
                dists_seen[family].add(plan.dist)
            for kernel, threads in [("tiled", tiled), ("flat", flat)]:
                variant = f"{family}-{abi.STORE_KIND.get(dtype, abi.STORE_NATIVE)}-{kernel}-{storage(dtype)}"
                dev = cuda.device_array(plan.size, storage(dtype))
                t0 = time.perf_counter()
                _engine.run_cuda(plan, dev, threads=threads)
                _sync(cuda)
                if variant not in rep.compile_s:
                    rep.compile_s[variant] = round(time.perf_counter() - t0, 3)
                got = dev.copy_to_host()
                rep.check(
                    f"{name}/{dtype}/{kernel}",
                    bool(np.array_equal(got.view(np.uint8), host.view(np.uint8))),
                    dist=plan.dist,
                    mismatches=int((got != host).sum()),
                )
    want32 = {abi.UNIFORM, abi.NORMAL, abi.TRUNCNORM, abi.TRUNCNORM_CENTRAL, abi.TRUNCNORM_WINDOW}
    want64 = want32 | {abi.UNIFORM_REL, abi.TRUNCNORM_LOCAL}
    rep.check("every float32-arithmetic sampler ran", want32 <= dists_seen["fill32"], seen=sorted(dists_seen["fill32"]))
    rep.check("every float64-arithmetic sampler ran", want64 <= dists_seen["fill64"], seen=sorted(dists_seen["fill64"]))


def blocks(rep: Report, cuda, smoke: bool) -> None:
    """Blocks of many runs by both kernels, offsets beyond 2**32, five partial axes."""
    tiled, flat = (8, 128) if smoke else (256, 512)
    runs = ((4, 40), (5, 61), (1, 3)) if smoke else ((64, 2048), (65, 3072), (1, 3))
    cases = [
        (f"{name}/{dtype}/runs", plan_for(name, dtype, *runs))
        for name, dtype in [("truncated_window", "float32"), ("normal", "bfloat16"), ("uniform", "float64")]
    ]
    cases.append(
        ("bits/offset beyond 2**32", plan_for("bits", "uint32", (1, 3, 40), (3, 2**31, 45), (2, 2**31 - 3, 1)))
    )
    cases.append(
        (
            "truncated_window/bfloat16/offset beyond 2**32",
            plan_for("truncated_window", "bfloat16", (2, 40), (3, 2**31 + 7), (1, 2**31 - 5)),
        )
    )
    cases.append(
        (
            "normal/float32/five partial axes",
            plan_for("normal", "float32", (2, 2, 2, 1, 2, 33), (3, 3, 3, 2, 3, 50), (1, 0, 1, 1, 1, 2)),
        )
    )
    for label, plan in cases:
        host = cpu_values(plan)
        for kernel, threads in [("tiled", tiled), ("flat", flat)]:
            dev = cuda.device_array(plan.size, storage(plan.dtype))
            _engine.run_cuda(plan, dev, threads=threads)
            got = dev.copy_to_host()
            rep.check(f"{label}/{kernel}", bool(np.array_equal(got.view(np.uint8), host.view(np.uint8))))


_SECOND_PROCESS = """
import json, sys, time
import numpy as np
from numba import cuda
sys.path[:0] = [{bench!r}]
import gpu_check
from arrayinit import _engine
from arrayinit._targets import cuda as target
t0 = time.perf_counter()
plan = gpu_check.plan_for("truncated_window", "float32", ({n},), ({n},), (0,))
dev = cuda.device_array(plan.size, np.float32)
_engine.run_cuda(plan, dev)
cuda.synchronize()
caches = [k._cache for pair in target.KERNELS.values() for k in pair]
print(json.dumps({{"seconds": time.perf_counter() - t0, "hits": sum(c.hits for c in caches),
                   "misses": sum(c.misses for c in caches),
                   "equal": bool(np.array_equal(dev.copy_to_host(), gpu_check.cpu_values(plan)))}}))
"""


def cache(rep: Report, cuda, smoke: bool) -> str | None:
    """A second process launches a variant this one compiled: read from the disk cache, not compiled."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return "the CUDA simulator compiles nothing, so there is nothing to cache"
    code = _SECOND_PROCESS.format(bench=str(pathlib.Path(__file__).parent), n=2**20)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240, check=False)
    if r.returncode != 0:
        rep.check("second process ran", False, stderr=r.stderr[-2000:])
        return None
    res = json.loads(r.stdout.strip().splitlines()[-1])
    rep.second_process = res
    rep.check("second process loaded the kernel from the disk cache", res["hits"] >= 1 and res["misses"] == 0, **res)
    rep.check("second process values equal", res["equal"])
    return None


def _torch_cuda():
    try:
        import torch
    except ImportError:
        return None, "torch is not installed"
    if not torch.cuda.is_available():
        return None, "torch has no CUDA device (a CPU build, or no driver)"
    return torch, None


def _equal_torch(torch, t, ref) -> bool:
    def bits(x):
        x = x.detach().contiguous().cpu()
        if x.dtype in (torch.bfloat16, torch.float16):
            return x.view(torch.uint16).numpy()
        if x.is_complex():
            return torch.view_as_real(x).numpy()
        return x.numpy()

    return bool(np.array_equal(bits(t), bits(ref)))


def torch_section(rep: Report, cuda, smoke: bool, index: int = 0) -> str | None:
    import arrayinit as ai

    torch, why = _torch_cuda()
    if torch is None:
        return why
    if index >= torch.cuda.device_count():
        return f"torch sees {torch.cuda.device_count()} CUDA device(s)"
    dev = f"cuda:{index}"
    shape = (64, 48) if smoke else (1000, 1000)
    for dtype in [*DTYPES, "complex64"]:
        init = ai.HeNormal(seed=5) if dtype != "complex64" else ai.RandomNormal(stddev=0.5, seed=5)
        rep.check(
            f"torch new tensor {dtype} on {dev}",
            _equal_torch(torch, init(shape, dtype, xp=torch, device=dev), init(shape, dtype, xp=torch, device="cpu")),
        )
    p = torch.nn.Parameter(torch.empty(*shape, device=dev))
    ai.HeNormal(seed=6).fill_(p)
    rep.check(f"torch fill_ parameter float32 on {dev}", _equal_torch(torch, p, ai.HeNormal(seed=6)(shape, xp=torch)))
    q = torch.empty(shape[1], shape[0], device=dev, dtype=torch.bfloat16).t()  # strided: through a temporary
    ai.HeNormal(seed=7).fill_(q)
    rep.check(
        f"torch fill_ transposed bfloat16 on {dev}",
        _equal_torch(torch, q, ai.HeNormal(seed=7)(shape, "bfloat16", xp=torch)),
    )
    s = torch.cuda.Stream(device=dev)
    big = (256, 4096) if smoke else (8192, 8192)
    with torch.cuda.device(index), torch.cuda.stream(s):
        t = ai.TruncatedNormal(stddev=0.02, seed=8)(big, xp=torch, device=dev)
        r = torch.empty(big, device=dev, dtype=torch.float16).t()
        ai.GlorotUniform(seed=9).fill_(r)
        # read on the side stream, in order after the kernels queued there
        t_host, r_host = t.cpu(), r.contiguous().cpu()
    s.synchronize()
    rep.check(
        f"torch side stream new tensor float32 on {dev}",
        _equal_torch(torch, t_host, ai.TruncatedNormal(stddev=0.02, seed=8)(big, xp=torch)),
    )
    rep.check(
        f"torch side stream fill_ transposed float16 on {dev}",
        _equal_torch(torch, r_host, ai.GlorotUniform(seed=9)(big[::-1], "float16", xp=torch).t()),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a small launch: numba-cuda's under-utilization warning is filtered
        b = ai.RandomUniform(seed=10)((256,), xp=torch, device=dev)
    rep.check(
        f"torch bias (256 values, no warning) on {dev}",
        _equal_torch(torch, b, ai.RandomUniform(seed=10)((256,), xp=torch)),
    )
    return None


def cupy_section(rep: Report, cuda, smoke: bool, index: int = 0) -> str | None:
    import arrayinit as ai

    try:
        import cupy
    except ImportError:
        return "cupy is not installed"
    if index >= cupy.cuda.runtime.getDeviceCount():
        return f"cupy sees {cupy.cuda.runtime.getDeviceCount()} CUDA device(s)"
    shape = (64, 48) if smoke else (1000, 1000)
    dev = f"cuda:{index}"
    c = ai.TruncatedNormal(stddev=0.02, seed=6)(shape, xp=cupy, device=dev)
    rep.check(
        f"cupy new array float32 on {dev}",
        bool(np.array_equal(cupy.asnumpy(c), ai.TruncatedNormal(stddev=0.02, seed=6)(shape))),
    )
    with cupy.cuda.Device(index):
        h = cupy.empty(shape, cupy.float16)
        g = cupy.empty(shape[::-1], cupy.float32).T  # not contiguous: written through a temporary
    ai.GlorotUniform(seed=8).fill_(h)
    ai.GlorotUniform(seed=8).fill_(g)
    ref16 = ai.GlorotUniform(seed=8)(shape, "float16")
    rep.check(
        f"cupy fill_ float16 on {dev}", bool(np.array_equal(cupy.asnumpy(h).view(np.uint16), ref16.view(np.uint16)))
    )
    rep.check(
        f"cupy fill_ transposed float32 on {dev}",
        bool(np.array_equal(cupy.asnumpy(g), ai.GlorotUniform(seed=8)(shape))),
    )
    return None


def second_device(rep: Report, cuda, smoke: bool) -> str | None:
    """cuda:1 while cuda:0 is current (streams and DLPack on the output's device)."""
    if len(cuda.gpus) < 2:
        return f"one GPU here ({len(cuda.gpus)} device(s))"
    ran = [torch_section(rep, cuda, smoke, 1), cupy_section(rep, cuda, smoke, 1)]
    if all(isinstance(w, str) for w in ran):
        return "; ".join(str(w) for w in ran)
    return None


def jax_section(rep: Report, cuda, smoke: bool) -> str | None:
    import arrayinit as ai

    try:
        import jax
    except ImportError:
        return "jax is not installed"
    try:
        import cupy  # noqa: F401
    except ImportError:
        return "cupy is not installed: jax on GPU would take the host path, which this section does not check"
    gpus = [d for d in jax.devices() if d.platform == "gpu"]
    if not gpus:
        return "jax has no GPU device (a CPU jaxlib)"
    shape = (64, 48) if smoke else (512, 256)
    for device in gpus[:2]:
        for dtype in ["float32", "bfloat16", "float16"]:
            j = ai.HeNormal(seed=9)(shape, dtype, xp=jax.numpy, device=device)
            ref = ai.HeNormal(seed=9)(shape, dtype, xp=jax.numpy, device=jax.devices("cpu")[0])
            same = bool(np.array_equal(np.asarray(j).view(np.uint8), np.asarray(ref).view(np.uint8)))
            rep.check(f"jax {dtype} on {device}", j.devices() == {device} and same)
    return None


def jax_xla_section(rep: Report, cuda, smoke: bool) -> str | None:
    """jax under jit on the GPU: arrayinit's XLA op (benchmarks/gpu_check_jax.py), each result recorded."""
    sys.path.insert(0, str(pathlib.Path(__file__).parent))
    try:
        import gpu_check_jax
    finally:
        sys.path.pop(0)
    results = gpu_check_jax.run(large=not smoke, platform="gpu")
    if set(results) == {"jax"} and results["jax"]["status"] == "skipped":
        return results["jax"]["reason"]  # no jax, or no jax GPU device
    for name, r in results.items():
        detail = {k: v for k, v in r.items() if k not in ("status", "traceback")}
        if r["status"] == "skipped":
            rep.skip(f"jax_xla {name}", r.get("reason", ""))
        else:
            rep.check(f"jax_xla {name}", r["status"] == "run", **detail)
    return None


def errors(rep: Report, cuda, smoke: bool) -> None:
    import arrayinit as ai
    from arrayinit import DeviceUnavailableError

    missing = len(cuda.gpus)
    plan = plan_for("uniform", "float32", (8,), (8,), (0,))
    try:
        _engine.run_cuda_library(plan, np.zeros(8, np.float32), missing, None)
        rep.check(f"engine: cuda:{missing} refused", False, raised="nothing")
    except DeviceUnavailableError as e:
        rep.check(f"engine: cuda:{missing} refused", f"cuda:{missing}" in str(e), message=str(e))
    torch, why = _torch_cuda()
    if torch is None:
        rep.skip("torch: missing device index refused", str(why))
    else:
        try:
            ai.HeNormal(seed=0)((4,), xp=torch, device=f"cuda:{torch.cuda.device_count()}")
            rep.check("torch: missing device index refused", False, raised="nothing")
        except DeviceUnavailableError as e:
            rep.check("torch: missing device index refused", "cuda:" in str(e), message=str(e))


def throughput(rep: Report, cuda, smoke: bool) -> None:
    big = 2**11 if smoke else 2**28
    rows = rep.rows

    def timed(label, fn, nbytes, reps=5):
        fn()
        _sync(cuda)
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

    def copy_bound():  # the arrays are freed when it returns
        src, dst = cuda.device_array(big, np.float32), cuda.device_array(big, np.float32)
        timed("device-to-device copy float32 (read+write)", lambda: dst.copy_to_device(src), 2 * big * 4)

    copy_bound()
    for dtype in ["float32", "bfloat16"]:
        plan = plan_for("truncated_window", dtype, (big,), (big,), (0,), seed=7)
        dev = cuda.device_array(big, storage(dtype))
        timed(
            f"arrayinit truncated_normal {dtype}",
            lambda plan=plan, dev=dev: _engine.run_cuda(plan, dev),
            big * dev.dtype.itemsize,
        )
        if dtype == "float32":  # the same fill by the flat kernel (512 threads: no tiles)
            timed(
                "arrayinit truncated_normal float32 (flat kernel)",
                lambda plan=plan, dev=dev: _engine.run_cuda(plan, dev, threads=512),
                big * 4,
            )
        del dev
    torch, why = _torch_cuda()
    if torch is None:
        rep.skip("torch throughput", str(why))
    else:
        for tdt, label in [(torch.float32, "float32"), (torch.bfloat16, "bfloat16")]:
            t = torch.empty(big, dtype=tdt, device="cuda")
            timed(
                f"torch trunc_normal_ {label}",
                lambda t=t: torch.nn.init.trunc_normal_(t, std=0.02, a=-0.04, b=0.04),
                big * t.element_size(),
            )
            timed(f"torch normal_ {label}", lambda t=t: t.normal_(0.0, 0.02), big * t.element_size())
            del t
        torch.cuda.empty_cache()
    copy = rows[0]
    for r in rows:
        # a fill writes once; the copy reads and writes: its bytes per second are the bound of a fill's writes
        r["fraction_of_copy_bandwidth"] = r["gbytes_per_s"] / copy["gbytes_per_s"]
    print(f"  {'implementation':<48}{'G values/s':>12}{'GB/s':>10}{'of copy BW':>12}")
    for r in rows:
        speed = f"{r['gvals_per_s']:>12.2f}{r['gbytes_per_s']:>10.1f}"
        print(f"  {r['name']:<48}{speed}{r['fraction_of_copy_bandwidth']:>12.2f}")
    ours = next(r for r in rows if r["name"] == "arrayinit truncated_normal float32")
    for peer in ["torch trunc_normal_ float32", "torch normal_ float32"]:
        row = next((r for r in rows if r["name"] == peer), None)
        if row is not None:
            rep.speedups[peer] = ours["gvals_per_s"] / row["gvals_per_s"]


SECTIONS = [
    ("kernels", kernels),
    ("blocks", blocks),
    ("cache", cache),
    ("torch", torch_section),
    ("cupy", cupy_section),
    ("second_device", second_device),
    ("jax", jax_section),
    ("jax_xla", jax_xla_section),
    ("errors", errors),
    ("throughput", throughput),
]


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, to rehearse the script (CUDA simulator)")
    ap.add_argument("--only", nargs="*", help="run these sections only (default: all)")
    args = ap.parse_args(argv)
    from numba import cuda

    out_dir = pathlib.Path(os.environ.get("OUT") or pathlib.Path(__file__).parent / "results")
    out_dir.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    rep = Report()
    device = cuda.get_current_device()
    for name, fn in SECTIONS:
        if args.only and name not in args.only:
            rep.sections[name] = {"status": "skipped", "why": "not selected (--only)", "seconds": 0.0}
            continue
        rep.run(name, fn, cuda, args.smoke)
    res = {
        "device": str(getattr(device, "name", "CUDA simulator")),
        "compute_capability": list(getattr(device, "compute_capability", ())),
        "simulator": os.environ.get("NUMBA_ENABLE_CUDASIM") == "1",
        "smoke": args.smoke,
        **rep.summary(),
        "seconds": round(time.perf_counter() - t_start, 3),
        "sections": rep.sections,
        "checks": rep.checks,
        "first_launch_s": rep.compile_s,
        "second_process": rep.second_process,
        "throughput": rep.rows,
        "speedup": rep.speedups,
    }
    (out_dir / "gpu_check.json").write_text(json.dumps(res, indent=2))
    print(f"{res['pass']} passed, {res['fail']} failed, {res['skipped']} skipped checks; sections:")
    for name, s in rep.sections.items():
        print(f"  {name:<15}{s['status']:<9}{s['seconds']:>8.1f} s  {s.get('why') or s.get('error') or ''}")
    print(f"all equal: {res['all_equal']}; {res['seconds']:.1f} s in all")
    return 0 if res["all_equal"] else 1


if __name__ == "__main__":
    sys.exit(main())
