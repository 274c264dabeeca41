"""Per-call overhead of small calls, against numpy's own generator in the same run.

    python benchmarks/bench_overhead.py [--repeat 9] [--json out.json]

Prints the best-of-``repeat`` time per call (microseconds) of compiled, warm
calls and the ratio to ``numpy.random.Generator.standard_normal(256,
dtype=float32)``: a 256-element bias, a 3x3x64x64 convolution kernel, the
functional API, and calls into torch/jax when they are installed.
"""

from __future__ import annotations

import argparse
import json
import platform
import timeit

import numpy as np

import arrayinit as ai
import arrayinit.random as ar


def per_call_us(fn, number: int, repeat: int) -> float:
    fn()  # warm: compile, caches
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    he = ai.HeNormal(seed=0)
    zeros = ai.Zeros()
    cases = {
        "numpy standard_normal(256) float32": (lambda: rng.standard_normal(256, dtype=np.float32), 2000),
        "HeNormal (256,)": (lambda: he((256,)), 2000),
        "Zeros (256,)": (lambda: zeros((256,)), 2000),
        "random.truncated_normal (256,)": (lambda: ar.truncated_normal((256,), seed=0), 2000),
        "numpy standard_normal 3x3x64x64 float32": (
            lambda: rng.standard_normal((3, 3, 64, 64), dtype=np.float32),
            200,
        ),
        "HeNormal (3, 3, 64, 64)": (lambda: he((3, 3, 64, 64)), 200),
    }
    try:
        import torch

        cases["HeNormal (256,) xp=torch"] = (lambda: he((256,), xp=torch), 1000)
        w = torch.empty(256, 128)
        cases["HeNormal.fill_ torch (256, 128)"] = (lambda: he.fill_(w), 500)
    except ImportError:
        pass
    results = {name: per_call_us(fn, n, args.repeat) for name, (fn, n) in cases.items()}
    base = results["numpy standard_normal(256) float32"]
    print(f"arrayinit {ai.__version__}, numpy {np.__version__}, {platform.machine()}, best of {args.repeat}")
    print(f"{'call':<42}{'us/call':>10}{'/ numpy 256':>14}")
    for name, us in results.items():
        print(f"{name:<42}{us:>10.2f}{us / base:>14.2f}")
    print("ratio: time per call / numpy standard_normal(256) float32 in this run (target for HeNormal (256,): <= 1.8)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"us_per_call": results, "ratio_to_numpy_256": {k: v / base for k, v in results.items()}}, f, indent=1
            )


if __name__ == "__main__":
    main()
