"""CPU benchmark: arrayinit against numpy, torch and jax, measured in one run.

Prints G values/s per (distribution, size, dtype) and the ratio of arrayinit's
truncated normal to every peer; reports the per-call time of small tensors,
the first call in a fresh process (warm cache) and the import time; writes
``benchmarks/results/bench_cpu.json`` and ``bench_cpu.png``.

Used by ``arrayinit bench`` and ``benchmarks/bench_cpu.py`` (``nox -s bench``);
torch and jax are measured when installed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import arrayinit.random as ar

RESULTS = pathlib.Path("benchmarks") / "results"


def best_time(fn, reps: int, min_time: float = 0.2) -> float:
    """Best wall time of ``fn()`` over ``reps`` runs (after one warm-up run)."""
    fn()
    best = math.inf
    total = 0.0
    k = 0
    while k < reps or (total < min_time and k < 50 * reps):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best = min(best, dt)
        total += dt
        k += 1
    return best


def numpy_truncnorm_resample(rng, n, dtype):
    """Truncated normal on [-2, 2] by redrawing the values outside (the usual numpy recipe)."""
    x = rng.standard_normal(n, dtype=dtype)
    bad = np.abs(x) > 2
    while bad.any():
        x[bad] = rng.standard_normal(int(bad.sum()), dtype=dtype)
        bad = np.abs(x) > 2
    return x


def peers(n: int, dtype: str):
    """Peer callables for n values of dtype: name -> fn (or None when unavailable)."""
    out: dict[str, Callable[[], object] | None] = {}
    if dtype == "float32":
        rng = np.random.default_rng(0)
        buf = np.empty(n, np.float32)
        out["numpy standard_normal"] = lambda: rng.standard_normal(n, dtype=np.float32, out=buf)
        out["numpy truncnorm (resample)"] = lambda: numpy_truncnorm_resample(rng, n, np.float32)
        out["memory bound (fill)"] = lambda: buf.fill(1.0)
    try:
        import torch

        tdt = {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype]
        t = torch.empty(n, dtype=tdt)
        out["torch trunc_normal_"] = lambda: torch.nn.init.trunc_normal_(t, std=1.0, a=-2.0, b=2.0)
        out["torch normal_"] = lambda: t.normal_()
    except ImportError:
        out["torch trunc_normal_"] = None
    try:
        import jax
        import jax.numpy as jnp

        jdt = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}[dtype]
        key = jax.random.key(0)
        f = jax.jit(lambda k: jax.random.truncated_normal(k, -2.0, 2.0, (n,), jdt))
        f(key).block_until_ready()  # compile excluded
        out["jax truncated_normal"] = lambda: f(key).block_until_ready()
    except ImportError:
        out["jax truncated_normal"] = None
    return out


def ours(n: int, dtype: str):
    if dtype == "bfloat16":
        import ml_dtypes

        buf = np.empty(n, ml_dtypes.bfloat16)
    else:
        buf = np.empty(n, np.float32)
    return {
        "arrayinit bits": (lambda: ar.bits(n, seed=1, out=bits_buf)) if dtype == "float32" else None,
        "arrayinit uniform": lambda: ar.uniform(n, seed=1, out=buf),
        "arrayinit normal": lambda: ar.normal(n, seed=1, out=buf),
        "arrayinit truncated_normal": lambda: ar.truncated_normal(n, seed=1, out=buf),
        "arrayinit truncated_normal (alloc)": lambda: ar.truncated_normal(n, seed=1, dtype=dtype),
    }


bits_buf = None


def fresh_process_times() -> dict:
    code_first = (
        "import time; t0 = time.perf_counter(); import arrayinit.random as ar; "
        "ar.truncated_normal((3, 3, 64, 64), seed=0); print(time.perf_counter() - t0)"
    )
    code_import = "import time; t0 = time.perf_counter(); import arrayinit; print(time.perf_counter() - t0)"
    subprocess.run([sys.executable, "-c", code_first], check=True, capture_output=True)  # warm the cache
    first = min(
        float(subprocess.run([sys.executable, "-c", code_first], check=True, capture_output=True, text=True).stdout)
        for _ in range(3)
    )
    imp = min(
        float(subprocess.run([sys.executable, "-c", code_import], check=True, capture_output=True, text=True).stdout)
        for _ in range(3)
    )
    return {"first_call_warm_cache_s": first, "import_s": imp}


def small_call_times() -> dict:
    res = {}
    for shape in [(256,), (3, 3, 64, 64)]:
        buf = np.empty(shape, np.float32)
        ar.truncated_normal(shape, seed=0, out=buf)
        reps = 2000
        t0 = time.perf_counter()
        for _ in range(reps):
            ar.truncated_normal(shape, seed=0, out=buf)
        res[f"truncated_normal {shape} out= (us)"] = (time.perf_counter() - t0) / reps * 1e6
        t0 = time.perf_counter()
        for _ in range(reps):
            ar.truncated_normal(shape, seed=0)
        res[f"truncated_normal {shape} alloc (us)"] = (time.perf_counter() - t0) / reps * 1e6
    return res


def handoff_times(n: int = 2**24, reps: int = 5) -> dict:
    """Time to produce a new float32 array of n values as numpy, torch and jax (zero-copy hand-off)."""
    res = {"numpy": best_time(lambda: ar.truncated_normal(n, seed=1), reps)}
    try:
        import torch

        res["torch"] = best_time(lambda: ar.truncated_normal(n, seed=1, xp=torch), reps)
    except ImportError:
        pass
    try:
        import jax.numpy as jnp

        res["jax"] = best_time(lambda: ar.truncated_normal(n, seed=1, xp=jnp).block_until_ready(), reps)
    except ImportError:
        pass
    return {f"handoff {k} 2**{int(math.log2(n))} (ms)": v * 1e3 for k, v in res.items()} | {
        f"handoff {k}/numpy": v / res["numpy"] for k, v in res.items() if k != "numpy"
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="2**16 and 2**20 only, fewer repetitions")
    parser.add_argument("--results", default=str(RESULTS), help="folder for bench_cpu.json and bench_cpu.png")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


def run(args) -> int:
    global bits_buf
    results = pathlib.Path(args.results)
    exps = [16, 20] if args.quick else [16, 20, 24, 26]
    reps = 2 if args.quick else 3
    import numba

    meta = {
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "numba_threads": numba.get_num_threads(),
        "numba": numba.__version__,
        "numpy": np.__version__,
    }
    rows = []
    for dtype in ["float32", "bfloat16"]:
        for e in exps:
            n = 2**e
            bits_buf = np.empty(n, np.uint32)
            cases = {**ours(n, dtype), **peers(n, dtype)}
            for name, fn in cases.items():
                if fn is None:
                    continue
                big_slow = n >= 2**24 and ("torch trunc" in name or "resample" in name)
                t = best_time(fn, 1 if big_slow else reps)
                rows.append({"dtype": dtype, "n": n, "name": name, "seconds": t, "gvals_per_s": n / t / 1e9})
    # table
    print(f"arrayinit CPU benchmark ({meta})")
    print(f"{'dtype':<9}{'n':>10}  {'implementation':<36}{'G values/s':>11}{'ours/peer':>11}")
    for dtype in ["float32", "bfloat16"]:
        for e in exps:
            n = 2**e
            sel = [r for r in rows if r["dtype"] == dtype and r["n"] == n]
            mine = next(r for r in sel if r["name"] == "arrayinit truncated_normal")
            for r in sel:
                ratio = mine["gvals_per_s"] / r["gvals_per_s"]
                r["ratio_truncnorm_to_this"] = ratio
                print(f"{dtype:<9}{'2**' + str(e):>10}  {r['name']:<36}{r['gvals_per_s']:>11.3f}{ratio:>11.2f}")
    small = small_call_times()
    fresh = fresh_process_times()
    handoff = handoff_times(2**20 if args.quick else 2**24)
    small.update(handoff)
    for k, v in {**small, **fresh}.items():
        print(f"{k:<50}{v:>12.4g}")
    results.mkdir(parents=True, exist_ok=True)
    data = {"meta": meta, "rows": rows, "small_calls": small, "fresh_process": fresh}
    (results / "bench_cpu.json").write_text(json.dumps(data, indent=2))
    if plot_rows(rows, meta["numba_threads"], results / "bench_cpu.png"):
        print(f"wrote {results / 'bench_cpu.json'} and {results / 'bench_cpu.png'}")
    else:
        print(f"wrote {results / 'bench_cpu.json'} (matplotlib not installed: no plot)")
    return 0


if __name__ == "__main__":
    sys.exit(main())


def plot_rows(rows: list[dict], threads: int, path) -> bool:
    """G values/s against size, one panel per dtype, one colour per implementation."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(1, 2, figsize=(14, 5.5), sharey=True)
    names = sorted({r["name"] for r in rows})
    colors = {name: plt.cm.tab20(i % 20) for i, name in enumerate(names)}
    styles: dict[str, Any] = {name: ("-" if name.startswith("arrayinit") else "--") for name in names}
    for ax, dtype in zip(axes, ["float32", "bfloat16"]):
        for name in names:
            pts = sorted((r["n"], r["gvals_per_s"]) for r in rows if r["dtype"] == dtype and r["name"] == name)
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], styles[name], marker="o", color=colors[name])
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("elements")
        ax.set_title(f"{dtype}, {threads} threads")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("G values / s")
    handles = [plt.Line2D([], [], color=colors[n], linestyle=styles[n], marker="o") for n in names]
    fig.legend(handles, names, loc="lower center", ncol=4, fontsize=8)
    fig.subplots_adjust(bottom=0.28)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
