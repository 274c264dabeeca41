"""Write the stream contract's test vectors: the first values of a fixed set of calls.

Run from the repository root: ``PYTHONPATH=src python tools/stream_vectors.py VERSION``. It writes
``tests/data/stream_vectors_vVERSION.json`` (bit patterns as hex strings). Each contract version keeps
its file as a record; ``tests/test_random.py`` checks the current version's file exactly and the
older ones for the calls whose values the newer versions did not change.
"""

from __future__ import annotations

import json
import pathlib
import sys

import numpy as np

import arrayinit.random as ar

N = 64
SEED = 20261129

# (name, function, keyword arguments); dtypes are added per case
CASES = [
    ("uniform_0_1", "uniform", {}),
    ("uniform_keras", "uniform", {"minval": -0.05, "maxval": 0.05}),
    ("uniform_3_5", "uniform", {"minval": -3.0, "maxval": 5.0}),
    ("uniform_narrow", "uniform", {"minval": 1.0001, "maxval": 1.0002}),
    ("normal", "normal", {}),
    ("normal_keras", "normal", {"mean": 0.0, "stddev": 0.05}),
    ("truncnorm_keras", "truncated_normal", {"stddev": 0.05}),
    ("truncnorm_torch", "truncated_normal", {"stddev": 0.02, "a": -0.04, "b": 0.04}),
    ("truncnorm_wide", "truncated_normal", {"lower": -4.0, "upper": 3.0}),
    ("truncnorm_4_6", "truncated_normal", {"a": 4.0, "b": 6.0}),
    ("truncnorm_9_10", "truncated_normal", {"lower": 9.0, "upper": 10.0}),
    ("truncnorm_narrow", "truncated_normal", {"a": 5.0, "b": 5.001}),
    ("truncnorm_far", "truncated_normal", {"a": 40.0, "b": 41.0}),
    ("truncnorm_big_stddev", "truncated_normal", {"a": 0.0, "b": 1.0, "stddev": 1e16}),
]
DTYPES = ["float32", "float64", "bfloat16", "float16"]


def vectors() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, fn, kw in CASES:
        for dtype in DTYPES:
            try:
                x = getattr(ar, fn)((N,), seed=SEED, dtype=dtype, **kw)
            except ValueError as e:  # e.g. no value of the dtype inside the bounds
                out[f"{name}/{dtype}"] = [f"ValueError: {e}"]
                continue
            bits = x.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[x.dtype.itemsize])
            width = 2 * x.dtype.itemsize
            out[f"{name}/{dtype}"] = [f"{int(b):0{width}x}" for b in bits]
    return out


def case_call(key: str):
    """The function and keyword arguments of a vector's key ``name/dtype``."""
    name, dtype = key.split("/")
    fn, kw = next((f, k) for n, f, k in CASES if n == name)
    return getattr(ar, fn), {"seed": SEED, "dtype": dtype, **kw}


if __name__ == "__main__":
    version = sys.argv[1]
    path = pathlib.Path("tests/data") / f"stream_vectors_v{version}.json"
    vec = vectors()
    lines = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in vec.items()]
    head = f'{{"contract_version": {int(version)}, "seed": {SEED}, "n": {N}, "vectors": {{\n'
    path.write_text(head + ",\n".join(lines) + "\n}}\n")
    print(f"wrote {path}")
