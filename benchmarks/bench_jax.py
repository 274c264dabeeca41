"""arrayinit.flax eagerly, under jax.jit and sharded over 8 host CPU devices, against jax.random in one run.

Run: ``PYTHONPATH=src python benchmarks/bench_jax.py [--reps N] [--no-busy] [--json FILE]``
(the benchmark is ``arrayinit._bench_jax``; it sets ``XLA_FLAGS`` for 8 host devices before jax starts).
"""

import sys

from arrayinit._bench_jax import main

if __name__ == "__main__":
    sys.exit(main())
