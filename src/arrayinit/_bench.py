"""CPU benchmark: arrayinit against numpy, torch and jax, quiet and with one core busy, in one run.

Every implementation is timed quiet, then again while a process that this
benchmark starts (and stops) keeps one core busy: users run initializers beside
data loaders and compilers. Reports medians with their interquartile range,
the ratio of arrayinit's truncated normal to every peer, the per-call time of
small tensors, the first call in a fresh process (warm and empty kernel cache),
the import time and, with jax installed, the jax rows of ``arrayinit._bench_jax``
(flax initializers eagerly, under jit and sharded over 8 host devices, against
``jax.random``); writes ``bench_cpu.json`` and ``bench_cpu.png``.

Used by ``arrayinit bench`` and ``benchmarks/bench_cpu.py`` (``nox -s bench``);
torch and jax are measured when installed.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import math
import os
import pathlib
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

import arrayinit.random as ar
from arrayinit import _safetensors

RESULTS = pathlib.Path("benchmarks") / "results"

ROUNDS = 3  # rounds of the rows of one size and dtype (see ``measure``)
TRUNC = "arrayinit truncated_normal"

LEGEND = f"""\
columns: median time per call over the repetitions [interquartile range], quiet and with one core busy
  G/s        values per second, quiet (elements / median time)
  busy/quiet the median time with one core kept busy by a spinning process this benchmark starts,
             over the quiet median (1.0: unaffected; a parallel call that waits for a descheduled
             thread shows 10-100x)
  ours/peer  this row's quiet median time over the quiet median time of `arrayinit truncated_normal`
             for the same size and dtype: above 1, arrayinit's truncated normal is that many times
             faster than this row (1.00 on arrayinit's own row)
Every timed function runs twice before timing (compilation, first-touch of memory excluded). The rows
of one size and dtype are timed in {ROUNDS} rounds, quiet and busy alternating within each round, so a drift
of the machine's speed during the run cancels out of busy/quiet and ours/peer."""


def _timed(fn: Callable[[], object], runs: int, min_time: float, warm: int) -> list[float]:
    """Wall times of ``fn()`` after ``warm`` untimed calls: at least ``runs`` calls and, for fast
    functions, until ``min_time`` seconds have been spent (at most ``50 * runs`` calls)."""
    for _ in range(warm):
        fn()
    times: list[float] = []
    total = 0.0
    while len(times) < runs or (total < min_time and len(times) < 50 * runs):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        times.append(dt)
        total += dt
    return times


def _stats(times: list[float]) -> dict[str, float]:
    q = statistics.quantiles(times, n=4, method="inclusive") if len(times) > 1 else [times[0]] * 3
    return {"median": statistics.median(times), "q1": q[0], "q3": q[2], "min": min(times), "runs": len(times)}


def time_stats(fn: Callable[[], object], reps: int, min_time: float = 0.2) -> dict[str, float]:
    """Median and quartiles of the wall time of ``fn()``, after two warm-up calls (see ``_timed``)."""
    return _stats(_timed(fn, reps, min_time, warm=2))


def best_time(fn: Callable[[], object], reps: int, min_time: float = 0.2) -> float:
    """Median wall time of ``fn()`` (see ``time_stats``)."""
    return time_stats(fn, reps, min_time)["median"]


class BusyCore:
    """A process spinning on one core inside ``busy()`` blocks, paused (SIGSTOP) between them.

    Pausing instead of restarting lets a benchmark alternate quiet and busy
    timings of the same call many times. A block starts once the spinner has
    said it is running, and ends once it has stopped (not merely been sent
    ``SIGSTOP``: a signal takes effect when the spinner is next scheduled), so
    the quiet timings that follow never share the machine with it. Where
    processes cannot be paused (Windows), every block starts its own spinner
    and kills it afterwards.
    """

    # the spinner writes one byte once its interpreter runs, then spins
    SPIN = "import sys; sys.stdout.write('r'); sys.stdout.flush()\nwhile True: pass"

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._pausable = hasattr(signal, "SIGSTOP")

    def __enter__(self) -> BusyCore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def busy(self) -> Iterator[None]:
        if self._proc is None:
            self._proc = subprocess.Popen([sys.executable, "-c", self.SPIN], stdout=subprocess.PIPE)
            assert self._proc.stdout is not None
            started = self._proc.stdout.read(1)
            self._proc.stdout.close()
            if not started:
                self.close()
                raise RuntimeError("the process that keeps a core busy did not start")
        else:
            os.kill(self._proc.pid, signal.SIGCONT)
        time.sleep(0.05)  # the scheduler places it beside the benchmark
        try:
            yield
        finally:
            if self._pausable:
                self._pause()
            else:
                self.close()

    def _pause(self) -> None:
        """Stop the spinner and wait until it has stopped."""
        assert self._proc is not None
        os.kill(self._proc.pid, signal.SIGSTOP)
        _, status = os.waitpid(self._proc.pid, os.WUNTRACED)
        if not os.WIFSTOPPED(status):  # it ended (killed from outside): waitpid has collected its status
            self._proc.returncode = os.waitstatus_to_exitcode(status)
            self._proc = None

    def close(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None


def numpy_truncnorm_resample(rng, n, dtype):
    """Truncated normal on [-2, 2] by redrawing the values outside (the usual numpy recipe)."""
    x = rng.standard_normal(n, dtype=dtype)
    bad = np.abs(x) > 2
    while bad.any():
        x[bad] = rng.standard_normal(int(bad.sum()), dtype=dtype)
        bad = np.abs(x) > 2
    return x


def _jax_x64(on: bool):
    """jax's 64-bit mode for the float64 rows only (``jax.enable_x64``), nothing for the others."""
    import jax

    return jax.enable_x64(True) if on else contextlib.nullcontext()


def peers(n: int, dtype: str):
    """Peer callables for n values of dtype: name -> fn (or None when unavailable)."""
    out: dict[str, Callable[[], object] | None] = {}
    if dtype in ("float32", "float64"):
        rng = np.random.default_rng(0)
        buf = np.empty(n, dtype)
        ndt = np.dtype(dtype).type
        out["numpy standard_normal"] = lambda: rng.standard_normal(n, dtype=ndt, out=buf)
        if dtype == "float64":
            out["numpy random"] = lambda: rng.random(n, out=buf)  # Generator.random: float64 uniforms in [0, 1)
        out["numpy truncnorm (resample)"] = lambda: numpy_truncnorm_resample(rng, n, ndt)
        out["memory bound (fill)"] = lambda: buf.fill(1.0)
    try:
        import torch

        tdt = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float64": torch.float64}[dtype]
        t = torch.empty(n, dtype=tdt)
        out["torch trunc_normal_"] = lambda: torch.nn.init.trunc_normal_(t, std=1.0, a=-2.0, b=2.0)
        out["torch normal_"] = lambda: t.normal_()
    except ImportError:
        out["torch trunc_normal_"] = None
    try:
        import jax
        import jax.numpy as jnp

        x64 = dtype == "float64"
        with _jax_x64(x64):  # jax computes float64 only in its 64-bit mode
            jdt = {"float32": jnp.float32, "bfloat16": jnp.bfloat16, "float64": jnp.float64}[dtype]
            key = jax.random.key(0)
            f = jax.jit(lambda k: jax.random.truncated_normal(k, -2.0, 2.0, (n,), jdt))
            f(key).block_until_ready()  # compile excluded

        def call():
            with _jax_x64(x64):
                return f(key).block_until_ready()

        out["jax truncated_normal" + (" (x64)" if x64 else "")] = call
    except ImportError:
        out["jax truncated_normal"] = None
    return out


def ours(n: int, dtype: str):
    if dtype == "bfloat16":
        import ml_dtypes

        buf = np.empty(n, ml_dtypes.bfloat16)
    else:
        buf = np.empty(n, dtype)
    bits_buf = np.empty(n, np.uint32)
    return {
        "arrayinit bits": (lambda: ar.bits(n, seed=1, out=bits_buf)) if dtype == "float32" else None,
        "arrayinit uniform": lambda: ar.uniform(n, seed=1, out=buf),
        "arrayinit normal": lambda: ar.normal(n, seed=1, out=buf),
        "arrayinit truncated_normal": lambda: ar.truncated_normal(n, seed=1, out=buf),
        "arrayinit truncated_normal (alloc)": lambda: ar.truncated_normal(n, seed=1, dtype=dtype),
    }


_ONE_THREAD = """
import json, sys
import numpy as np
import arrayinit.random as ar
from arrayinit._bench import _timed
bufs = {}
for line in sys.stdin:
    n, dtype, runs, min_time, warm = json.loads(line)
    if (n, dtype) not in bufs:
        bufs[n, dtype] = np.empty(n, dtype)
    buf = bufs[n, dtype]
    print(json.dumps(_timed(lambda: ar.truncated_normal(n, seed=1, out=buf), runs, min_time, warm)), flush=True)
"""
ONE_THREAD_DTYPES = ("float32", "float64")  # the truncated normals the one-thread process times


class OneThread:
    """A process timing arrayinit's float32 and float64 truncated normals with one thread (NUMBA_NUM_THREADS=1) on
    request.

    It waits on its input between requests, so the benchmark can time the
    one-thread call in the same rounds as the others.
    """

    def __init__(self) -> None:
        env = dict(os.environ, NUMBA_NUM_THREADS="1")
        root = str(pathlib.Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")])
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _ONE_THREAD], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def __enter__(self) -> OneThread:
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._proc.stdin is not None
        assert self._proc.stdout is not None
        self._proc.stdin.close()  # the process's loop ends
        self._proc.wait()
        self._proc.stdout.close()

    def times(self, n: int, runs: int, min_time: float, warm: int, dtype: str = "float32") -> list[float]:
        """Wall times of ``truncated_normal(n, out=...)`` of ``dtype`` in that process (see ``_timed``)."""
        assert self._proc.stdin is not None
        assert self._proc.stdout is not None
        self._proc.stdin.write(json.dumps([n, dtype, runs, min_time, warm]) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the one-thread timing process exited with status {self._proc.wait()}")
        return json.loads(line)


def fresh_process_times() -> dict:
    """First ``HeNormal`` call in a fresh process: with an empty kernel cache, then warm; the import time."""
    code_first = (
        "import time; t0 = time.perf_counter(); import arrayinit; "
        "arrayinit.HeNormal(seed=0)((3, 3, 64, 64)); print(time.perf_counter() - t0)"
    )
    code_import = "import time; t0 = time.perf_counter(); import arrayinit; print(time.perf_counter() - t0)"

    def run(code: str, root: str, **env: str) -> float:
        full = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "PYTHONPATH")}
        full.update(env, PYTHONPATH=root)
        return float(
            subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=full).stdout
        )

    src = pathlib.Path(__file__).resolve().parent
    with tempfile.TemporaryDirectory() as tmp:
        # a copy of the package without its cache, and an empty per-user cache: a fresh install
        shutil.copytree(src, os.path.join(tmp, "arrayinit"), ignore=shutil.ignore_patterns("__pycache__"))
        xdg = os.path.join(tmp, "xdg")
        empty = run(code_first, tmp, XDG_CACHE_HOME=xdg)  # builds the kernel it needs
        warm = statistics.median(run(code_first, tmp, XDG_CACHE_HOME=xdg) for _ in range(3))
        imp = statistics.median(run(code_import, tmp, XDG_CACHE_HOME=xdg) for _ in range(3))
    return {"first_call_empty_cache_s": empty, "first_call_warm_cache_s": warm, "import_s": imp}


def _trunc(shape, out):
    return ar.truncated_normal(shape, seed=0, out=out)


def small_call_times() -> dict:
    res = {}
    for shape in [(256,), (3, 3, 64, 64)]:
        buf = np.empty(shape, np.float32)
        res[f"truncated_normal {shape} out= (us)"] = 1e6 * best_time(functools.partial(_trunc, shape, buf), 200)
        res[f"truncated_normal {shape} alloc (us)"] = 1e6 * best_time(functools.partial(_trunc, shape, None), 200)
    rng = np.random.default_rng(0)
    buf = np.empty(256, np.float32)
    res["numpy standard_normal (256,) out= (us)"] = 1e6 * best_time(
        lambda: rng.standard_normal(256, dtype=np.float32, out=buf), 200
    )
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


def jax_times(quick: bool, busy: bool, reps: int) -> dict | None:
    """The jax rows (``arrayinit._bench_jax``: eager, jit, sharded over 8 host devices, against jax.random),
    in a process of their own (the device count is fixed when jax starts); None without jax."""
    import importlib.util

    if importlib.util.find_spec("jax") is None:
        print("jax rows: jax is not installed")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench_jax.json")
        cmd = [sys.executable, "-m", "arrayinit._bench_jax", "--json", path, "--reps", str(reps)]
        cmd += ["--shape", "2048,4096" if quick else "8192,4096"] + ([] if busy else ["--no-busy"])
        env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8", "JAX_PLATFORMS": "cpu"}
        done = subprocess.run(cmd, env=env, text=True, capture_output=True)
        print(done.stdout, end="")
        if done.returncode != 0:
            print(f"jax rows failed (exit status {done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
            return None
        with open(path) as fh:
            return json.load(fh)


def threading_info() -> dict:
    """Threads each implementation uses here."""
    from arrayinit import _engine

    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "arrayinit_threads": _engine.num_threads(),
        "arrayinit_engine": "calling thread + helper threads of arrayinit (serial kernels called through "
        "ctypes, GIL released; numba's threading layer is not used)",
    }
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    return info


def measure(cases: dict[tuple[str, int, str], Callable[[], object]], rounds: int, reps: int, busy: bool) -> dict:
    """Quiet and busy times of every case (and one-thread times of arrayinit's float32 and float64 truncated
    normals).

    For each size and dtype, ``rounds`` rounds go through its cases; each round
    times every case quiet and with one core busy, in alternating order, so
    drift of the machine's speed cancels out of the ratios between rows and
    between conditions. Calls that take long (peers at ``2**24`` and more)
    run once per condition and round.
    """
    res: dict = {key: {"quiet": [], "busy": [], "one": []} for key in cases}
    with BusyCore() as core, OneThread() as worker:
        for group in dict.fromkeys(key[:2] for key in cases):
            keys = [key for key in cases if key[:2] == group]
            for r in range(rounds):
                for key in keys:
                    dtype, n, name = key
                    slow = n >= 2**24 and ("torch trunc" in name or "resample" in name)
                    runs, min_time = (1, 0.05 / rounds) if slow else (-(-reps // rounds), 0.2 / rounds)
                    warm = 2 if r == 0 else 0 if slow else 1
                    conditions = ["quiet", "busy"] if busy else ["quiet"]
                    for cond in conditions if r % 2 == 0 else conditions[::-1]:
                        with core.busy() if cond == "busy" else contextlib.nullcontext():
                            res[key][cond] += _timed(cases[key], runs, min_time, warm)
                        warm = 0 if slow else 1
                    if dtype in ONE_THREAD_DTYPES and name == TRUNC:
                        res[key]["one"] += worker.times(n, runs, min_time, 2 if r == 0 else 1, dtype)
    return {key: {cond: _stats(t) if t else None for cond, t in conds.items()} for key, conds in res.items()}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quick", action="store_true", help="float32 and float64, 2**12..2**24, fewer repetitions (a few minutes)"
    )
    parser.add_argument(
        "--dtypes",
        help="comma-separated dtypes to time (float32, bfloat16, float64); default: all, float32,float64 with --quick",
    )
    parser.add_argument("--no-busy", action="store_true", help="skip the one-core-busy measurements")
    parser.add_argument(
        "--no-jax", action="store_true", help="skip the jax rows (eager, jit, sharded over 8 host devices)"
    )
    parser.add_argument("--results", default=str(RESULTS), help="folder for bench_cpu.json and bench_cpu.png")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


def _fmt(st: dict | None) -> str:
    if st is None:
        return f"{'-':>26}"
    return f"{st['median'] * 1e3:>9.3f} [{st['q1'] * 1e3:.3f}-{st['q3'] * 1e3:.3f}]".rjust(26)


def run(args) -> int:
    results = pathlib.Path(args.results)
    exps = [12, 16, 20, 24] if args.quick else [12, 16, 20, 24, 26]
    dtypes = ["float32", "float64"] if args.quick else ["float32", "bfloat16", "float64"]
    if getattr(args, "dtypes", None):
        dtypes = [d.strip() for d in args.dtypes.split(",")]
        unknown = sorted(set(dtypes) - {"float32", "bfloat16", "float64"})
        if unknown:
            raise ValueError(f"Argument `--dtypes` takes float32, bfloat16 and float64. Received: {unknown}")
    reps = 3 if args.quick else 5
    busy = not getattr(args, "no_busy", False)
    import numba

    meta = {
        "machine": platform.processor() or platform.machine(),
        "numba": numba.__version__,
        "numpy": np.__version__,
        **threading_info(),
    }
    print(f"arrayinit CPU benchmark: {meta}")
    cases: dict[tuple[str, int, str], Callable[[], object]] = {}
    for dtype in dtypes:
        for e in exps:
            for name, fn in {**ours(2**e, dtype), **peers(2**e, dtype)}.items():
                if fn is not None:
                    cases[dtype, 2**e, name] = fn

    stats = measure(cases, ROUNDS, reps, busy)
    quiet = {k: v["quiet"] for k, v in stats.items()}
    loaded = {k: v["busy"] for k, v in stats.items() if v["busy"]}
    one = {
        (dtype, e): stats[dtype, 2**e, TRUNC]["one"]["median"]
        for dtype in dtypes
        if dtype in ONE_THREAD_DTYPES
        for e in exps
    }
    rows = []
    print(LEGEND)
    head = f"{'dtype':<9}{'n':>6}  {'implementation':<36}{'quiet ms':>26}{'G/s':>8}{'busy ms':>26}"
    print(head + f"{'busy/quiet':>11}{'ours/peer':>10}")
    for (dtype, n, name), st in quiet.items():
        mine = quiet[dtype, n, TRUNC]["median"]
        b = loaded.get((dtype, n, name))
        row = {
            "dtype": dtype,
            "n": n,
            "name": name,
            "seconds": st["median"],
            "quiet": st,
            "busy": b,
            "gvals_per_s": n / st["median"] / 1e9,
            "busy_over_quiet": b["median"] / st["median"] if b else None,
            "ratio_truncnorm_to_this": st["median"] / mine,
        }
        rows.append(row)
        bq = f"{row['busy_over_quiet']:>11.2f}" if b else f"{'-':>11}"
        print(
            f"{dtype:<9}{'2**' + str(int(math.log2(n))):>6}  {name:<36}{_fmt(st)}{row['gvals_per_s']:>8.3f}"
            f"{_fmt(b)}{bq}{row['ratio_truncnorm_to_this']:>10.2f}"
        )
    print("arrayinit truncated_normal, one thread (NUMBA_NUM_THREADS=1, a process timed in the same rounds),")
    print("quiet median ms:")
    for dtype, e in one:
        st = quiet[dtype, 2**e, TRUNC]
        b = loaded.get((dtype, 2**e, TRUNC))
        t1 = one[dtype, e]
        extra = f"; busy / one thread {b['median'] / t1:.2f}" if b else ""
        print(f"  {dtype} 2**{e}: {t1 * 1e3:.3f} ms (all threads quiet / one thread {st['median'] / t1:.2f}{extra})")
    f64 = float64_ratios(quiet, loaded, exps) if "float64" in dtypes else {}
    if f64:
        print("float64 speed-ups in this run (quiet, and with one core busy: time of the peer / time of arrayinit):")
        for e, r in f64.items():
            print("  2**" + str(e) + ": " + ", ".join(f"{k} {v:.2f}" for k, v in r.items()))
    small = small_call_times()
    fresh = fresh_process_times()
    handoff = handoff_times(2**20 if args.quick else 2**24)
    small.update(handoff)
    for k, v in {**small, **fresh}.items():
        print(f"{k:<50}{v:>12.4g}")
    jax_rows = None if getattr(args, "no_jax", False) else jax_times(args.quick, busy, reps)
    results.mkdir(parents=True, exist_ok=True)
    data = {
        "meta": meta,
        "rows": rows,
        "one_thread_s": {f"{dtype} 2**{e}": t for (dtype, e), t in one.items()},
        "float64_ratios": {f"2**{e}": r for e, r in f64.items()},
        "small_calls": small,
        "fresh_process": fresh,
        "jax": jax_rows,
        "legend": LEGEND,
    }
    with _safetensors.atomic_file(results / "bench_cpu.json") as fh:  # a regular file, complete or not at all
        fh.write(json.dumps(data, indent=2).encode())
    if plot_rows(rows, meta["arrayinit_threads"], results / "bench_cpu.png"):
        print(f"wrote {results / 'bench_cpu.json'} and {results / 'bench_cpu.png'}")
    else:
        print(f"wrote {results / 'bench_cpu.json'} (matplotlib not installed: no plot)")
    return 0


# float64 speed-ups reported by ``run`` (arrayinit row, peer row, peer dtype)
FLOAT64_RATIOS = {
    "truncated_normal / numpy standard_normal": (TRUNC, "numpy standard_normal", "float64"),
    "normal / numpy standard_normal": ("arrayinit normal", "numpy standard_normal", "float64"),
    "uniform / numpy random": ("arrayinit uniform", "numpy random", "float64"),
    "truncated_normal / jax truncated_normal (x64)": (TRUNC, "jax truncated_normal (x64)", "float64"),
    "truncated_normal / torch trunc_normal_": (TRUNC, "torch trunc_normal_", "float64"),
    "truncated_normal / arrayinit float32 truncated_normal": (TRUNC, TRUNC, "float32"),
}


def float64_ratios(quiet: dict, loaded: dict, exps: list[int]) -> dict[int, dict[str, float]]:
    """For each size: the peer's median time over arrayinit's float64 row's, quiet and busy (above 1:
    arrayinit is that many times faster), for the rows measured in this run."""
    out: dict[int, dict[str, float]] = {}
    for e in exps:
        n = 2**e
        r: dict[str, float] = {}
        for label, (mine, peer, peer_dtype) in FLOAT64_RATIOS.items():
            for cond, table in (("quiet", quiet), ("busy", loaded)):
                a, b = table.get(("float64", n, mine)), table.get((peer_dtype, n, peer))
                if a and b:
                    r[f"{label} ({cond})"] = b["median"] / a["median"]
        if r:
            out[e] = r
    return out


def plot_rows(rows: list[dict], threads: int, path) -> bool:
    """G values/s against size, one panel per dtype, one colour per implementation (dotted: one core busy)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    dtypes = sorted({r["dtype"] for r in rows}, key=["float32", "bfloat16", "float64"].index)
    fig, axes = plt.subplots(1, len(dtypes), figsize=(7 * len(dtypes), 5.5), sharey=True, squeeze=False)
    names = sorted({r["name"] for r in rows})
    colors = {name: plt.cm.tab20(i % 20) for i, name in enumerate(names)}
    styles: dict[str, Any] = {name: ("-" if name.startswith("arrayinit") else "--") for name in names}
    for ax, dtype in zip(axes[0], dtypes):
        for name in names:
            sel = sorted((r for r in rows if r["dtype"] == dtype and r["name"] == name), key=lambda r: r["n"])
            if sel:
                ns = [r["n"] for r in sel]
                ax.plot(ns, [r["gvals_per_s"] for r in sel], styles[name], marker="o", color=colors[name])
                if all(r["busy"] for r in sel) and name == "arrayinit truncated_normal":
                    ax.plot(ns, [r["n"] / r["busy"]["median"] / 1e9 for r in sel], ":", marker="x", color=colors[name])
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("elements")
        ax.set_title(f"{dtype}, arrayinit {threads} threads (dotted: truncated normal, one core busy)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("G values / s (quiet medians)")
    handles = [plt.Line2D([], [], color=colors[n], linestyle=styles[n], marker="o") for n in names]
    ncol = 2 * len(dtypes)  # the legend fits the figure's width
    fig.legend(handles, names, loc="lower center", ncol=ncol, fontsize=8)
    fig.subplots_adjust(bottom=0.12 + 0.035 * -(-len(names) // ncol))
    try:
        with _safetensors.atomic_file(path) as fh:
            fig.savefig(fh, format="png", dpi=110, bbox_inches="tight")
    finally:
        plt.close(fig)
    return True


if __name__ == "__main__":
    sys.exit(main())
