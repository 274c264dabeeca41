"""CUDA kernels in the numba CUDA simulator: bit-equal to the CPU kernels.

The simulator runs each thread in Python (about 3,000 threads/s), so arrays are
small. It runs the same sampler functions as the CPU through Python, so it
checks indexing, lanes, blocks, streams and launch configurations; the float
equality on real hardware rests on tests/test_ptx.py (explicitly rounded
PTX) and benchmarks/gpu_check.py.
"""

import os
import warnings

import numpy as np
import pytest

if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
    pytest.skip(
        "CUDA simulator tests run in the tests_cudasim session (NUMBA_ENABLE_CUDASIM=1)", allow_module_level=True
    )

from arrayinit import _engine, _plan
from arrayinit._kernels.abi import BITS
from arrayinit._plan import FillPlan
from arrayinit._targets import cuda as cuda_target


def _plan_for(kind, dtype, shape, full, off, seed=123, stream=0):
    if kind == "uniform":
        d, c64, p = _plan.uniform_params(-1.5, 2.5, dtype)
    elif kind == "normal":
        d, c64, p = _plan.normal_params(0.25, 2.0, dtype)
    elif kind == "truncated_normal":
        d, c64, p = _plan.truncnorm_params(0.0, 0.5, -2.0, 2.0, -1.0, 1.0, dtype)
    elif kind == "truncated_central":  # float64: Giles' central polynomial alone (within 3.29 sd)
        d, c64, p = _plan.truncnorm_params(0.0, 1.0, -3.0, 3.0, -3.0, 3.0, dtype)
    elif kind == "truncated_wide":  # general (two-branch) float32 inverse CDF
        d, c64, p = _plan.truncnorm_params(0.0, 1.0, -4.0, 3.0, -4.0, 3.0, dtype)
    elif kind == "far_tail":  # float64 arithmetic for every dtype
        d, c64, p = _plan.truncnorm_params(1.0, 1.0, 9.0, 12.0, 10.0, 13.0, dtype)
    elif kind == "tail_expansion":  # beyond 30 standard deviations: the local tail expansion
        d, c64, p = _plan.truncnorm_params(0.0, 1.0, 40.0, 41.0, 40.0, 41.0, dtype)
    elif kind == "narrow":  # the local Taylor expansion, mirrored
        d, c64, p = _plan.truncnorm_params(0.0, 1.0, -3.0, -2.9995, -3.0, -2.9995, dtype)
    elif kind == "uniform_narrow":  # few grid values: uniform relative to the first
        d, c64, p = _plan.uniform_params(1.0, 1.01, dtype)
    else:
        return FillPlan(shape, full, off, BITS, "uint32", seed, stream)
    return FillPlan(shape, full, off, d, dtype, seed, stream, c64, p)


def _storage(dtype):
    return np.dtype({"bfloat16": np.uint16, "float16": np.uint16, "uint32": np.uint32}.get(dtype, dtype))


def _both(plan, threads, max_blocks):
    n = plan.size
    cpu = np.empty(n, _storage(plan.dtype))
    _engine.run_cpu(plan, cpu)
    gpu = np.zeros(n, _storage(plan.dtype))
    with warnings.catch_warnings():
        # simulated threads compute uint32 arithmetic in Python scalars
        warnings.simplefilter("ignore", RuntimeWarning)
        _engine.run_cuda(plan, gpu, threads=threads, max_blocks=max_blocks)
    return cpu, gpu


KINDS = [
    "uniform",
    "normal",
    "truncated_normal",
    "truncated_central",
    "truncated_wide",
    "far_tail",
    "tail_expansion",
    "narrow",
    "uniform_narrow",
]
DTYPES = ["float32", "float64", "bfloat16", "float16"]


# (block, full shape, offset, threads): runs of 11 < 4 * 16 elements take the flat
# kernel; runs of 80 >= 4 * 8 the tiled one (three tiles a run, unaligned starts,
# the middle tile wholly inside the run);
# a single run of 70 passes its start as a tuple
LAYOUTS = {
    "flat": ((3, 11), (5, 40), (1, 7), 16),
    "tiled": ((2, 80), (4, 90), (1, 3), 8),
    "tiled_one_run": ((70,), (100,), (5,), 8),
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
def test_cuda_equals_cpu_for_every_distribution_and_dtype(kind, dtype, layout):
    shape, full, off, threads = LAYOUTS[layout]
    assert cuda_target.use_tiled(shape[-1], threads) == layout.startswith("tiled")
    plan = _plan_for(kind, dtype, shape, full, off)
    cpu, gpu = _both(plan, threads=threads, max_blocks=2)
    np.testing.assert_array_equal(gpu.view(np.uint8), cpu.view(np.uint8))


@pytest.mark.parametrize(
    ("shape", "full", "off"),
    [
        ((37,), (37,), (0,)),
        ((5,), (64,), (3,)),
        ((2, 3, 5), (4, 6, 9), (1, 2, 3)),
        ((), (), ()),
        ((4, 4), (4, 4), (0, 0)),
        # five partial leading axes: more than one launch describes (one launch per index of the outermost)
        ((2, 2, 2, 1, 2, 3), (3, 3, 3, 2, 3, 5), (1, 0, 1, 1, 1, 2)),
        ((3, 2, 1, 2, 2, 7), (4, 3, 2, 3, 3, 7), (1, 1, 1, 0, 1, 0)),
    ],
)
@pytest.mark.parametrize(("threads", "max_blocks"), [(1, 1), (32, 1), (8, 3), (64, None)])
def test_blocks_offsets_and_launch_configurations(shape, full, off, threads, max_blocks):
    for kind, dtype in [("truncated_normal", "float32"), ("normal", "float64"), ("bits", "uint32")]:
        plan = _plan_for(kind, dtype, shape, full, off, seed=2**64 - 5, stream=3)
        cpu, gpu = _both(plan, threads, max_blocks)
        np.testing.assert_array_equal(gpu, cpu)


def test_offsets_beyond_2_32_elements():
    full, off, shape = (3, 2**31, 5), (2, 2**31 - 3, 1), (1, 3, 4)
    for kind, dtype in [("bits", "uint32"), ("truncated_normal", "bfloat16"), ("uniform", "float64")]:
        cpu, gpu = _both(_plan_for(kind, dtype, shape, full, off), threads=4, max_blocks=2)
        np.testing.assert_array_equal(gpu, cpu)


def test_library_entry_point_runs_in_the_device_context():
    # the path torch/cupy buffers take (device context, default stream), with a simulator array
    plan = _plan_for("truncated_normal", "bfloat16", (3, 10), (3, 10), (0, 0))
    cpu = np.empty(30, np.uint16)
    _engine.run_cpu(plan, cpu)
    gpu = np.zeros(30, np.uint16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _engine.run_cuda_library(plan, gpu, 0, None)
    np.testing.assert_array_equal(gpu, cpu)


def test_gpu_check_script_runs_end_to_end(tmp_path, monkeypatch):
    """benchmarks/gpu_check.py at tiny sizes: the script a GPU machine runs works, and reports equality."""
    import importlib.util
    import json
    import pathlib

    path = pathlib.Path(__file__).parents[1] / "benchmarks" / "gpu_check.py"
    spec = importlib.util.spec_from_file_location("gpu_check", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setenv("OUT", str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert module.main(["--smoke"]) == 0
    res = json.loads((tmp_path / "gpu_check.json").read_text())
    assert res["all_equal"] is True
    assert len(res["equality"]) == 48  # (5 distributions x 4 dtypes + bits) x 2 kernels, 3 blocks of runs x 2
    assert all(v["equal"] for v in res["equality"].values())
    names = {r["name"] for r in res["throughput"]}
    assert {"arrayinit truncated_normal float32", "arrayinit truncated_normal bfloat16"} <= names


def test_tile_choice_and_items_per_run():
    assert cuda_target.use_tiled(1024, 256)
    assert not cuda_target.use_tiled(1023, 256)
    assert not cuda_target.use_tiled(10**6, cuda_target.MAX_THREADS + 1)  # the shared tile holds 256 threads
    rng = np.random.default_rng(0)
    for _ in range(200):
        row_len = int(rng.integers(1, 3000))
        base = int(rng.integers(0, 10**6))
        strides = [int(x) for x in rng.integers(1, 10**4, size=int(rng.integers(0, 3)))]
        if rng.integers(2):
            strides = [4 * st for st in strides]
        starts = [base + sum(int(i) * st for i, st in zip(rng.integers(0, 5, len(strides)), strides)) for _ in range(9)]
        touched = max(len({(s + j) >> 2 for j in range(row_len)}) for s in starts)
        got = cuda_target.items_per_run(base, strides, row_len)
        # exact where every run starts at the same lane, never fewer than a run touches
        assert got == touched if all(st % 4 == 0 for st in strides) else touched <= got <= (row_len + 6) >> 2
