"""jax benchmark: arrayinit's flax initializers eagerly, under jax.jit and sharded over 8 host devices,
against ``jax.random`` in the same run (and arrayinit's own numpy path), quiet and with one core busy.

The 8 host CPU devices need ``XLA_FLAGS=--xla_force_host_platform_device_count=8`` before jax starts:
``main`` sets it when jax is not imported yet (``python -m arrayinit._bench_jax``; ``arrayinit bench``
and ``benchmarks/bench_jax.py`` run it so, in a process of their own). Times are the best of ``reps``
calls after two untimed ones (compilation excluded); every row is timed quiet, then with a spinning
process on one core (``arrayinit._bench.BusyCore``), in alternating rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable

ROWS = (8192, 4096)
STDDEV = 0.02

LEGEND = """\
rows: {shape} float32 truncated normal (stddev 0.02, cut at 2 standard deviations), best of N
  numpy path       arrayinit.random.truncated_normal -> numpy (arrayinit's own speed)
  xp=jax.numpy     arrayinit.random.truncated_normal(..., xp=jax.numpy) (zero-copy hand-off)
  flax eager       arrayinit.flax.truncated_normal(0.02)(key, shape), concrete key
  flax jit         the same under jax.jit (one device): the XLA op
  jax.random jit   jax.random.truncated_normal under jax.jit (one device)
  flax sharded     jax.jit(..., out_shardings=rows over 8 host devices): each device its shard
  jax.random sharded  the same program with jax.random"""


def best_of(fn: Callable[[], object], reps: int) -> float:
    """The best wall time of ``reps`` calls of ``fn()``, after two warm-up calls."""
    for _ in range(2):
        fn()
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def cases(shape=ROWS) -> dict[str, Callable[[], object]]:
    import jax
    import jax.numpy as jnp
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    import arrayinit.flax as aif
    import arrayinit.random as ar

    key = jax.random.key(0)
    init = aif.truncated_normal(STDDEV)

    def jax_random(k):
        return STDDEV * jax.random.truncated_normal(k, -2.0, 2.0, shape, jnp.float32)

    out = {
        "numpy path": lambda: ar.truncated_normal(shape, seed=1, stddev=STDDEV),
        "xp=jax.numpy": lambda: ar.truncated_normal(shape, seed=1, stddev=STDDEV, xp=jnp).block_until_ready(),
        "flax eager": lambda: init(key, shape).block_until_ready(),
    }
    ours_jit = jax.jit(lambda k: init(k, shape))
    theirs_jit = jax.jit(jax_random)
    out["flax jit"] = lambda: ours_jit(key).block_until_ready()
    out["jax.random jit"] = lambda: theirs_jit(key).block_until_ready()
    n = len(jax.devices())
    if n > 1 and shape[0] % n == 0:
        mesh = jax.make_mesh((n,), ("x",), axis_types=(jax.sharding.AxisType.Auto,))
        rows = NamedSharding(mesh, P("x", None))
        ours_sh = jax.jit(lambda k: init(k, shape), out_shardings=rows)
        theirs_sh = jax.jit(jax_random, out_shardings=rows)
        out[f"flax sharded ({n} devices)"] = lambda: ours_sh(key).block_until_ready()
        out[f"jax.random sharded ({n} devices)"] = lambda: theirs_sh(key).block_until_ready()
    return out


def measure(reps: int = 5, busy: bool = True, shape=ROWS) -> dict:
    """``{"quiet": {row: seconds}, "busy": {row: seconds}, "ratios": {...}}`` of one run."""
    from arrayinit._bench import BusyCore

    fns = cases(shape)
    quiet: dict[str, float] = {k: float("inf") for k in fns}
    loaded: dict[str, float] = {k: float("inf") for k in fns} if busy else {}
    with BusyCore() as spinner:
        for _ in range(2):  # alternating rounds: a drift of the machine cancels out of the ratios
            for name, fn in fns.items():
                quiet[name] = min(quiet[name], best_of(fn, reps))
            if busy:
                with spinner.busy():
                    for name, fn in fns.items():
                        loaded[name] = min(loaded[name], best_of(fn, reps))
    n = shape[0] * shape[1]
    return {
        "shape": list(shape),
        "quiet": quiet,
        "busy": loaded,
        "gvals_per_s": {k: n / v / 1e9 for k, v in quiet.items()},
        "ratios": {"quiet": ratios(quiet), "busy": ratios(loaded) if busy else {}},
    }


def ratios(t: dict[str, float]) -> dict[str, float]:
    """The issue's goals as speed ratios (above 1: the first is faster)."""
    out = {}
    pairs = {
        "flax jit / numpy path (goal >= 0.5)": ("flax jit", "numpy path"),
        "flax jit / jax.random jit (goal >= 5)": ("flax jit", "jax.random jit"),
        "flax eager / xp=jax.numpy (goal >= 0.8)": ("flax eager", "xp=jax.numpy"),
    }
    sharded = [k for k in t if k.startswith("flax sharded")]
    if sharded:
        pairs["flax sharded / jax.random sharded (goal >= 3)"] = (sharded[0], sharded[0].replace("flax", "jax.random"))
    for label, (a, b) in pairs.items():
        if a in t and b in t:
            out[label] = t[b] / t[a]
    return out


def report(res: dict) -> None:
    print(LEGEND.format(shape=tuple(res["shape"])))
    print(f"{'row':<34}{'quiet ms':>10}{'G/s':>8}{'busy ms':>10}")
    for name, q in res["quiet"].items():
        b = res["busy"].get(name)
        busy = f"{b * 1e3:>10.2f}" if b is not None else f"{'-':>10}"
        print(f"{name:<34}{q * 1e3:>10.2f}{res['gvals_per_s'][name]:>8.3f}{busy}")
    for kind in ("quiet", "busy"):
        for label, r in res["ratios"][kind].items():
            print(f"{kind:<6}{label:<50}{r:>8.2f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5, help="timed calls per row and round (best of them)")
    parser.add_argument("--no-busy", action="store_true", help="skip the one-core-busy measurements")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--shape", default="8192,4096", help="rows,columns of the tensor (default 8192,4096)")
    args = parser.parse_args(argv)
    try:
        shape = tuple(int(d) for d in args.shape.split(","))
    except ValueError:
        shape = ()
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"Argument `--shape` must be two positive integers, rows,columns. Received: {args.shape!r}")
    if "jax" not in sys.modules:
        os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
    res = measure(args.reps, not args.no_busy, shape)
    report(res)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
