"""CPU throughput of arrayinit against numpy, torch and jax, quiet and with one core busy, in one run.

Times every implementation quiet, then again while a spinning process that it
starts and stops keeps one core busy; prints medians with their interquartile
range, G values/s, busy/quiet and the ratio of arrayinit's truncated normal to
every peer (the legend is printed with the table); reports the threads in use,
arrayinit with one thread, the per-call time of small tensors, the first call
in a fresh process (empty and warm kernel cache), the import time and the
hand-off cost to torch and jax; writes ``benchmarks/results/bench_cpu.json``
and ``bench_cpu.png``. The same program runs as ``arrayinit bench``.

Run: ``nox -s bench`` or ``PYTHONPATH=src python benchmarks/bench_cpu.py [--quick] [--no-busy]``.
"""

import sys

from arrayinit._bench import main

if __name__ == "__main__":
    sys.exit(main())
