"""CPU throughput of arrayinit against numpy, torch and jax, measured in one run.

Prints G values/s per (distribution, size, dtype) and the ratio of arrayinit's
truncated normal to every peer; reports the per-call time of small tensors,
the first call in a fresh process (warm cache), the import time and the
hand-off cost to torch and jax; writes ``benchmarks/results/bench_cpu.json``
and ``bench_cpu.png``. The same program runs as ``arrayinit bench``.

Run: ``nox -s bench`` or ``python benchmarks/bench_cpu.py [--quick]``.
"""

import sys

from arrayinit._bench import main

if __name__ == "__main__":
    sys.exit(main())
