"""``arrayinit bench``: the output folder checked, then the CPU benchmark run (the benchmark itself is
``arrayinit._bench``, shared with ``benchmarks/bench_cpu.py``)."""

from __future__ import annotations

import os

from arrayinit.cli._resources import check_writable


def run(args) -> int:
    """The command: refuse a ``--results`` that is not a folder, or whose files cannot be written, then benchmark."""
    from arrayinit import _bench as benchmark

    if os.path.exists(args.results) and not os.path.isdir(args.results):
        raise FileExistsError(
            f"--results must be a folder (it receives bench_cpu.json and bench_cpu.png; a missing one is "
            f"created). Received: --results {args.results!r}"
        )
    if os.path.isdir(args.results):  # checked now, not after minutes of benchmarking
        for name in ("bench_cpu.json", "bench_cpu.png"):
            check_writable(os.path.join(args.results, name), "--results")
    return benchmark.run(args)
