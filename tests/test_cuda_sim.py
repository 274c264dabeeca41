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


def test_tile_choice_and_items_per_row():
    assert cuda_target.use_tiled(1024, 256)
    assert not cuda_target.use_tiled(1023, 256)
    assert not cuda_target.use_tiled(10**6, cuda_target.MAX_THREADS + 1)  # the shared tile holds 256 threads
    rng = np.random.default_rng(0)
    for _ in range(200):
        row_len = int(rng.integers(1, 3000))
        starts = rng.integers(0, 10**6, size=int(rng.integers(1, 5)))
        touched = max(len({(s + j) >> 2 for j in range(row_len)}) for s in starts)
        assert cuda_target.items_per_row(starts, row_len) == touched


# --- the XLA op's GPU body (arrayinit._xla.callback): what runs on XLA's stream under jax.jit ---------


def _xla_cases():
    from arrayinit import _complex, _plans
    from arrayinit._values import OrthogonalPlan

    o = (0, 0)
    return {
        "float32": _plans.truncnorm_plan((6, 5), (6, 5), o, "float32", 0, 0, 0.0, 0.02, -2.0, 2.0, None, None),
        "bfloat16": _plans.normal_plan((6, 5), (6, 5), o, "bfloat16", 0, 0, 0.0, 1.0),
        "complex64": _complex.normal_plan((6, 5), (6, 5), o, "complex64", 0, 0, 0.0, 1.0),  # on the device
        "disk": _complex.polar_plan((6, 5), (6, 5), o, "complex64", 0, 0, "disk", 0.5),  # a host transform
        "orthogonal": OrthogonalPlan((6, 5), (6, 5), o, "float32", 1.0, 0),  # host values
    }


def _seed_of(words):
    return (int(words[0]) << 32) | int(words[1])


@pytest.mark.parametrize("case", ["float32", "bfloat16", "complex64", "disk", "orthogonal"])
@pytest.mark.parametrize(
    ("batch", "offset", "tile"),
    [((), (0, 0), (6, 5)), ((), (4, 0), (4, 5)), ((), (0, 3), (6, 3)), ((3,), (2, 0, 0), (2, 6, 5))],
)
def test_xla_gpu_body_equals_the_cpu_body(monkeypatch, case, batch, offset, tile):
    """The GPU body (device buffers, the kernel or host copies) writes what the CPU body writes, padding included;
    the launches get the device from the where row and XLA's stream."""
    from numba import cuda

    from arrayinit import _dtypes
    from arrayinit._xla import callback as cb

    template = _xla_cases()[case]
    spec = cb.Spec(template, _seed_of, 2, batch)
    keys = np.arange(2 * max(1, int(np.prod(batch))), dtype=np.uint32).reshape(*batch, 2) * np.uint32(977)
    where = cb.where_words(offset, 0)
    cpu = np.full(tile, 9, _dtypes.storage_dtype(template.dtype))
    cb.fill_host(spec, keys, where, cpu)
    launches = []
    real = _engine.run_cuda_library

    def recording(plan, out, device_index, stream_ptr):
        launches.append((device_index, stream_ptr))
        real(plan, out, device_index, stream_ptr)

    monkeypatch.setattr(_engine, "run_cuda_library", recording)
    real_words = np.full(tile, 9, _dtypes.storage_dtype(template.dtype)).reshape(-1)
    if template.dtype in _dtypes.COMPLEX_PARTS:
        real_words = real_words.view(_dtypes.storage_dtype(_dtypes.COMPLEX_PARTS[template.dtype]))
    gpu = cuda.to_device(real_words)

    def as_device(buf, name):  # simulator arrays stand for XLA's buffers: (flat device array, logical shape)
        return (gpu, tile) if buf is None else (cuda.to_device(np.ascontiguousarray(buf).reshape(-1)), buf.shape)

    class Context:  # buffer_callback's ExecutionContext: the simulator has no external streams
        stream = 0

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        cb.on_gpu(spec, Context(), keys, where, None, as_device=as_device)
    np.testing.assert_array_equal(gpu.copy_to_host().view(cpu.dtype).reshape(tile), cpu)
    on_device = case in ("float32", "bfloat16", "complex64") and tile[len(batch) :] == (6, 5)
    assert bool(launches) == on_device
    assert all(launch == (0, None) for launch in launches)
