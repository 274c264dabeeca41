"""The ``arrayinit`` command.

``arrayinit demo`` samples he_normal, glorot_uniform and truncated_normal for
typical layer shapes and prints the sample statistics beside the values the
formulas predict.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np

from arrayinit._initializers import (
    TRUNCATION_STD,
    GlorotUniform,
    HeNormal,
    TruncatedNormal,
    compute_fans,
)

# (initializer, shape) pairs of typical layers: dense, conv kernels (Keras layout: (*k, in, out))
DEMO_CASES = [
    ("he_normal", (256, 128)),
    ("he_normal", (3, 3, 64, 128)),
    ("glorot_uniform", (784, 512)),
    ("glorot_uniform", (5, 5, 32, 64)),
    ("truncated_normal", (1024, 1024)),
    ("truncated_normal", (4096, 512)),
]


def sample(name: str, shape: tuple[int, ...], seed: int, dtype: str = "float32"):
    """Draw one demo tensor; returns (array, theoretical std, theoretical lower bound, upper bound)."""
    fan_in, fan_out = compute_fans(shape)
    if name == "he_normal":
        stddev = math.sqrt(2.0 / fan_in) / TRUNCATION_STD
        return HeNormal(seed=seed)(shape, dtype), math.sqrt(2.0 / fan_in), -2 * stddev, 2 * stddev
    if name == "glorot_uniform":
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        return GlorotUniform(seed=seed)(shape, dtype), limit / math.sqrt(3.0), -limit, limit
    if name == "truncated_normal":
        x = TruncatedNormal(stddev=0.05, seed=seed)(shape, dtype)
        return x, 0.05 * TRUNCATION_STD, -0.1, 0.1
    raise ValueError(f"Unknown demo initializer. Received: name={name!r}")


def demo(seed: int = 0, dtype: str = "float32", out=None) -> list[dict]:
    out = sys.stdout if out is None else out
    rows = []
    header = (
        f"{'initializer':<18}{'shape':<18}{'mean':>10}{'std':>10}{'std theory':>12}"
        f"{'min':>10}{'max':>10}{'bounds':>20}{'ms':>8}"
    )
    print(f"arrayinit demo: seed={seed}, dtype={dtype}", file=out)
    print(header, file=out)
    print("-" * len(header), file=out)
    for name, shape in DEMO_CASES:
        t0 = time.perf_counter()
        x, std_theory, lo, hi = sample(name, shape, seed, dtype)
        ms = (time.perf_counter() - t0) * 1e3
        xf = np.asarray(x, dtype=np.float64) if x.dtype.itemsize > 2 else x.astype(np.float32).astype(np.float64)
        row = {
            "initializer": name,
            "shape": shape,
            "mean": float(xf.mean()),
            "std": float(xf.std()),
            "std_theory": std_theory,
            "min": float(xf.min()),
            "max": float(xf.max()),
            "lo": lo,
            "hi": hi,
        }
        rows.append(row)
        bounds = f"[{lo:+.4f}, {hi:+.4f}]"
        print(
            f"{name:<18}{shape!s:<18}{row['mean']:>+10.5f}{row['std']:>10.5f}{std_theory:>12.5f}"
            f"{row['min']:>+10.4f}{row['max']:>+10.4f}{bounds:>20}{ms:>8.1f}",
            file=out,
        )
    print("mean theory is 0 for all; every sample lies inside its bounds.", file=out)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="arrayinit", description="Weight initializers from one random stream.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser("demo", help="sample typical initializers and compare with theory")
    p_demo.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    p_demo.add_argument(
        "--dtype", default="float32", choices=["float32", "float64", "float16", "bfloat16"], help="output dtype"
    )
    args = parser.parse_args(argv)
    if args.command == "demo":
        rows = demo(seed=args.seed, dtype=args.dtype)
        bad = [r for r in rows if not (r["lo"] <= r["min"] and r["max"] <= r["hi"])]
        return 1 if bad else 0
    return 2  # pragma: no cover - argparse enforces the subcommand


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
