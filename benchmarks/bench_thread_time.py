"""CPU time per value of arrayinit's kernels and numpy's generators on one thread, in alternating rounds.

    NUMBA_NUM_THREADS=1 python benchmarks/bench_thread_time.py [--size 20] [--rounds 15] [NAME ...]

Each call is timed by the CPU time of the calling thread (``time.thread_time``),
which does not count the time the thread waits while other processes run: on a
shared machine these figures move far less than wall-clock times (run with
``NUMBA_NUM_THREADS=1``, so that arrayinit computes on the calling thread
alone). The calls are timed in rounds, in alternating order, after two warm-up
calls each; it prints the best and the median nanoseconds per value and each
row's median over numpy's float64 ``standard_normal`` and ``random()``. Two
threads on two free cores take about half the time per value when the call is
large (see benchmarks/bench_cpu.py for wall-clock times, quiet and with one
core busy).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import arrayinit.random as ar


def calls(n: int) -> dict:
    b64, b32, bw = np.empty(n), np.empty(n, np.float32), np.empty(n, np.uint32)
    rng = np.random.default_rng(0)
    return {
        "numpy standard_normal float64": lambda: rng.standard_normal(n, out=b64),
        "numpy random float64": lambda: rng.random(n, out=b64),
        "arrayinit truncated_normal float64": lambda: ar.truncated_normal(n, seed=1, out=b64),
        "arrayinit normal float64": lambda: ar.normal(n, seed=1, out=b64),
        "arrayinit uniform float64": lambda: ar.uniform(n, seed=1, out=b64),
        "arrayinit truncated_normal [-3, 3] float64": lambda: ar.truncated_normal(
            n, seed=1, lower=-3.0, upper=3.0, out=b64
        ),
        "arrayinit truncated_normal [-4, 3] float64": lambda: ar.truncated_normal(
            n, seed=1, lower=-4.0, upper=3.0, out=b64
        ),
        "arrayinit truncated_normal float32": lambda: ar.truncated_normal(n, seed=1, out=b32),
        "arrayinit normal float32": lambda: ar.normal(n, seed=1, out=b32),
        "arrayinit bits": lambda: ar.bits(n, seed=1, out=bw),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20, help="values per call: 2**SIZE (default 20)")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("names", nargs="*", help="rows to time (substrings of their names; default: all)")
    args = parser.parse_args(argv)
    n = 2**args.size
    table = {k: f for k, f in calls(n).items() if not args.names or any(s in k for s in args.names)}
    for f in table.values():
        f()
        f()
    times: dict[str, list[float]] = {k: [] for k in table}
    for r in range(args.rounds):
        for k in list(table) if r % 2 == 0 else list(table)[::-1]:
            t0 = time.thread_time()
            table[k]()
            times[k].append(time.thread_time() - t0)
    med = {k: statistics.median(t) / n * 1e9 for k, t in times.items()}
    print(f"2**{args.size} values per call, CPU time of the calling thread, ns per value (best, median)")
    for k, t in times.items():
        line = f"{k:<46}{min(t) / n * 1e9:>8.2f}{med[k]:>8.2f}"
        for peer in ("numpy standard_normal float64", "numpy random float64"):
            if peer in med and k != peer:
                line += f"   {peer.split()[1]}/this {med[peer] / med[k]:5.2f}"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
