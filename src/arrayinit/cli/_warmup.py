"""``arrayinit warmup``: every CPU kernel built (or loaded from the cache) ahead of time, with how long each took and
where the kernel cache lives."""

from __future__ import annotations

import sys
import time

from arrayinit import __version__
from arrayinit import random as ar

# (label, dtype) of each dtype family of the CPU kernels: float16 and bfloat16 share their 16-bit kernels
_WARMUP_DTYPES = [("float32", "float32"), ("float64", "float64"), ("16-bit (float16, bfloat16)", "float16")]


def _warmup_draws():
    return [
        ("normal", lambda n, dt: ar.normal((n,), seed=0, dtype=dt)),
        ("uniform", lambda n, dt: ar.uniform((n,), seed=0, dtype=dt)),
        ("truncated normal", lambda n, dt: ar.truncated_normal((n,), seed=0, dtype=dt)),
        # bounds far in a tail take the float64 arithmetic whatever the output dtype
        (
            "truncated normal, far tail",
            lambda n, dt: ar.truncated_normal((n,), seed=0, lower=10.0, upper=11.0, dtype=dt),
        ),
    ]


def kernel_cache() -> str | None:
    """The folder the CPU kernels' machine code is read from, or None when it is built in memory only."""
    from arrayinit._targets import native

    path = native.cached_path("fill32", "float32")
    return None if path is None else str(path.parent)


def warmup(out=None) -> list[tuple[str, str, float]]:
    """Build (or load from the cache) every CPU kernel: each distribution in each dtype family.

    Each case runs a small call (on the calling thread) and a large one (shared
    with the engine's helper threads); both use the same kernel.
    Returns ``[(distribution, dtype family, seconds)]``.
    """
    out = sys.stdout if out is None else out
    print("arrayinit warmup: building the CPU kernels for this machine (seconds the first time after an", file=out)
    print("install or an upgrade; later processes load them from the cache in milliseconds)", file=out)
    small, large = 256, 1 << 16  # below and above the size from which calls are shared between threads
    rows = []
    t_all = time.perf_counter()
    cases = [("random bits", "uint32", lambda n, dt: ar.bits((n,), seed=0))]
    cases += [(f"{dist}", label, fn) for label, _ in _WARMUP_DTYPES for dist, fn in _warmup_draws()]
    dtypes = dict(_WARMUP_DTYPES)
    for dist, family, fn in cases:
        t0 = time.perf_counter()
        for n in (small, large):
            fn(n, dtypes.get(family, "float32"))
        dt = time.perf_counter() - t0
        rows.append((dist, family, dt))
        print(f"  {family:<28}{dist:<28}{dt:>8.2f} s", file=out, flush=True)
    total = time.perf_counter() - t_all
    where = kernel_cache()
    if where:
        print(f"kernel cache: {where}", file=out)
        print(f"  (valid for arrayinit {__version__} and these kernel sources; an upgrade compiles anew)", file=out)
    else:
        print(
            "kernel cache: none (no writable folder: the package folder, NUMBA_CACHE_DIR and the user cache "
            "folder are read-only); every new process builds the kernels again. Set NUMBA_CACHE_DIR to a "
            "writable folder to keep them.",
            file=out,
        )
    print(f"done in {total:.1f} s", file=out)
    return rows


def run(args) -> int:
    """The command (it takes no options)."""
    warmup()
    return 0
