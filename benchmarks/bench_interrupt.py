"""How soon Ctrl-C stops a big CPU call, and what running calls in pieces costs, quiet and with one core busy.

1. Ctrl-C latency: a child process makes big calls in a loop (float32
   ``2**28``, float64 ``2**26``); the parent sends SIGINT at a random moment
   and the child records when ``KeyboardInterrupt`` reached it (both read the
   same monotonic clock). Printed: median and worst latency over the trials.
2. The cost of pieces: a ``2**24`` float32 truncated normal (into written
   memory, and into a new array) timed with the engine's pieces and as one
   kernel run (``_engine.cpu.PIECE`` raised above the size), in alternating
   rounds; printed as medians and the ratio pieces / one run.

Run: ``PYTHONPATH=src python benchmarks/bench_interrupt.py [--trials N] [--no-busy]``.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import time

import numpy as np

from arrayinit import _engine
from arrayinit import random as ar
from arrayinit._bench import BusyCore

_CHILD = """
import sys, time
import arrayinit.random as ar
n, dtype = int(sys.argv[1]), sys.argv[2]
ar.truncated_normal(4096, seed=0, dtype=dtype)  # the kernel is loaded before the first call is timed
out = ar.truncated_normal(n, seed=0, dtype=dtype)
sys.stdout.write("ready\\n")
sys.stdout.flush()
try:
    while True:
        ar.truncated_normal(n, seed=1, dtype=dtype, out=out)
except KeyboardInterrupt:
    sys.stdout.write(f"{time.monotonic()}\\n")
"""


def ctrl_c_latency(n: int, dtype: str, trials: int) -> list[float]:
    """Seconds from SIGINT to KeyboardInterrupt in a child making ``truncated_normal(n)`` calls."""
    out = []
    for _ in range(trials):
        child = subprocess.Popen([sys.executable, "-c", _CHILD, str(n), dtype], stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        time.sleep(random.uniform(0.2, 1.5))  # somewhere inside a call
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        caught = float(child.stdout.readline())
        child.wait(timeout=60)
        out.append(caught - sent)
    return out


def piece_cost(rounds: int) -> dict[str, tuple[float, float]]:
    """Median seconds (pieces, one run) of a 2**24 float32 truncated normal, into written and into new memory."""
    n = 1 << 24
    written = ar.truncated_normal(n, seed=0)
    pieces = dict(_engine.cpu.PIECE)
    one = dict.fromkeys(pieces, 1 << 62)
    times: dict[str, dict[str, list[float]]] = {k: {"pieces": [], "one run": []} for k in ("written", "new")}
    for _ in range(rounds):
        for mode, table in (("pieces", pieces), ("one run", one)):
            _engine.cpu.PIECE.update(table)
            for case in ("written", "new"):
                t0 = time.perf_counter()
                if case == "written":
                    ar.truncated_normal(n, seed=1, out=written)
                else:
                    ar.truncated_normal(n, seed=1)
                times[case][mode].append(time.perf_counter() - t0)
    _engine.cpu.PIECE.update(pieces)
    return {case: (statistics.median(t["pieces"]), statistics.median(t["one run"])) for case, t in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8, help="SIGINTs per size and condition (default 8)")
    parser.add_argument("--rounds", type=int, default=15, help="alternating rounds of the piece cost (default 15)")
    parser.add_argument("--no-busy", action="store_true", help="quiet machine only")
    args = parser.parse_args(argv)
    if not hasattr(signal, "SIGINT") or os.name != "posix":
        print("needs POSIX signals", file=sys.stderr)
        return 2
    print(f"threads: {_engine.num_threads()}, pieces: {_engine.cpu.PIECE}")
    conditions = ["quiet"] if args.no_busy else ["quiet", "one core busy"]
    with BusyCore() as spinner:
        for cond in conditions:
            ctx = spinner.busy() if cond != "quiet" else _Quiet()
            with ctx:
                print(f"\n{cond}")
                for n, dtype in ((1 << 28, "float32"), (1 << 26, "float64")):
                    lat = np.array(ctrl_c_latency(n, dtype, args.trials)) * 1e3
                    print(
                        f"  Ctrl-C during truncated_normal(2**{n.bit_length() - 1}, {dtype}): "
                        f"median {np.median(lat):.1f} ms, worst {lat.max():.1f} ms ({args.trials} trials)"
                    )
                for case, (p, o) in piece_cost(args.rounds).items():
                    print(
                        f"  2**24 float32 truncated normal into {case} memory: pieces {p * 1e3:.2f} ms, "
                        f"one run {o * 1e3:.2f} ms, pieces / one run {p / o:.3f}"
                    )
    return 0


class _Quiet:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


if __name__ == "__main__":
    sys.exit(main())
