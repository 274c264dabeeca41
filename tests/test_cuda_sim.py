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
    """benchmarks/gpu_check.py at tiny sizes, every section: the script a GPU machine runs works here, records
    every check it ran or skipped (and why), and finds every value equal."""
    import importlib.util
    import json
    import pathlib
    import sys

    path = pathlib.Path(__file__).parents[1] / "benchmarks" / "gpu_check.py"
    spec = importlib.util.spec_from_file_location("gpu_check", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setenv("OUT", str(tmp_path))
    for absent in ["torch", "cupy", "jax"]:  # this session has none of them: a skip, never a pass
        monkeypatch.setitem(sys.modules, absent, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert module.main(["--smoke"]) == 0
    res = json.loads((tmp_path / "gpu_check.json").read_text())
    assert res["all_equal"] is True
    assert res["fail"] == 0
    assert res["simulator"] is True
    sections = res["sections"]
    assert list(sections) == [name for name, _ in module.SECTIONS]
    assert all(s["seconds"] >= 0 for s in sections.values())
    ran = {n for n, s in sections.items() if s["status"] == "ran"}
    assert ran == {"kernels", "blocks", "errors", "throughput"}
    skipped = {n: s["why"] for n, s in sections.items() if s["status"] == "skipped"}
    assert set(skipped) == {"cache", "torch", "cupy", "second_device", "jax", "jax_xla"}
    assert "not installed" in skipped["jax_xla"]
    assert "not installed" in skipped["torch"]
    assert "one GPU" in skipped["second_device"]
    checks = {c["name"]: c for c in res["checks"]}
    # (9 distributions x 4 dtypes + bits) x 2 kernels, the coverage of both arithmetics' samplers
    assert sum(c["section"] == "kernels" for c in res["checks"]) == 37 * 2 + 2
    assert checks["every float64-arithmetic sampler ran"]["status"] == "pass"
    assert checks["bits/offset beyond 2**32/flat"]["status"] == "pass"
    assert checks["normal/float32/five partial axes/tiled"]["status"] == "pass"
    assert checks["engine: cuda:1 refused"]["status"] == "pass"
    assert checks["torch throughput"]["status"] == "skipped"
    assert all(c["status"] == "pass" for c in res["checks"] if c["section"] in ("kernels", "blocks"))
    assert len(res["first_launch_s"]) == 2 * (6 + 1) + 2  # tiled/flat x formats (fill64 writes float32 too)
    names = {r["name"] for r in res["throughput"]}
    assert {"device-to-device copy float32 (read+write)", "arrayinit truncated_normal bfloat16"} <= names


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


class _Current:
    """The current device of a fake two-GPU machine (numba's and cupy's contexts), and what ran where."""

    def __init__(self):
        self.device = 0
        self.log = []

    def context(self, i):
        current = self

        class Context:
            id = i

            def __enter__(self):
                self.prev, current.device = current.device, i

            def __exit__(self, *exc):
                current.device = self.prev

        return Context()


def _fake_cupy(cur):
    """A cupy module over host memory the simulator writes: devices, current streams (one per device), copies."""
    import types

    cp = types.ModuleType("cupy")

    class ndarray(np.ndarray):
        def __array_finalize__(self, obj):
            self.dev = getattr(obj, "dev", cur.device)

        @property
        def device(self):
            return cur.context(self.dev)

        @property
        def __cuda_array_interface__(self):
            return {**self.__array_interface__, "version": 3, "stream": None}

        def __setitem__(self, key, value):
            if key is Ellipsis:  # a whole-array copy (the simulated kernel stores elements one by one)
                cur.log.append(("copy", cur.device, self.dev))
            super().__setitem__(key, value)

    def empty(shape, dtype):
        return np.empty(shape, dtype).view(ndarray)

    cp.ndarray, cp.empty, cp.float16, cp.uint16 = ndarray, empty, np.float16, np.uint16
    cp.cuda = types.SimpleNamespace(
        Device=cur.context,
        get_current_stream=lambda: types.SimpleNamespace(ptr=1000 + cur.device),
        runtime=types.SimpleNamespace(getDevice=lambda: cur.device),
        memory=types.SimpleNamespace(OutOfMemoryError=MemoryError),
    )
    return cp


@pytest.fixture
def two_devices(monkeypatch):
    """Two simulated GPUs; each kernel launch is logged with the device current then and its stream."""
    import sys

    from numba import cuda

    cur = _Current()
    monkeypatch.setattr(cuda, "gpus", [cur.context(0), cur.context(1)])
    monkeypatch.setattr(cuda, "external_stream", lambda ptr: ("stream", ptr))  # the simulator has none
    launch = cuda_target.launch

    def logged(kernel, blocks, threads, stream, args):
        cur.log.append(("launch", cur.device, stream))
        launch(kernel, blocks, threads, 0, args)

    monkeypatch.setattr(cuda_target, "launch", logged)
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(cur))
    return cur


def test_cupy_output_on_a_second_device_is_written_and_copied_back_there(two_devices):
    """A non-contiguous cupy array on device 1, filled while device 0 is current: the kernel runs on device
    1 on its current stream, and the copy back into the strided array is made on device 1."""
    import sys

    from arrayinit._backends.cupy import CupyBackend

    cp = sys.modules["cupy"]
    with two_devices.context(1):
        x = cp.empty((6, 4), np.float32).T  # (4, 6), not contiguous
    plan = _plan_for("truncated_normal", "float32", (4, 6), (4, 6), (0, 0))
    buf = CupyBackend().cuda_view(x, "float32")
    assert (buf.ordinal, buf.stream) == (1, 1001)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _engine.run_cuda_library(plan, buf.buffer, buf.ordinal, buf.stream)
    buf.finish()
    assert two_devices.log == [("launch", 1, ("stream", 1001)), ("copy", 1, 1)]
    cpu = np.empty(24, np.float32)
    _engine.run_cpu(plan, cpu)
    np.testing.assert_array_equal(np.asarray(x).reshape(-1), cpu)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_jax_array_on_a_second_device_is_handed_over_on_that_device(two_devices, monkeypatch, dtype):
    """jax on GPU 1 through cupy: the kernel runs on device 1's stream and DLPack exports the buffer with
    device 1 current (cupy records the event jax waits for on that device's current stream)."""
    import sys
    import types

    from arrayinit._backends.jax import Bfloat16DLPack, JaxBackend

    def from_dlpack(obj):
        two_devices.log.append(("from_dlpack", two_devices.device, type(obj).__name__))
        return obj

    jnp = types.SimpleNamespace(from_dlpack=from_dlpack)
    monkeypatch.setitem(sys.modules, "jax", types.SimpleNamespace(numpy=jnp, device_put=lambda a, d: a))
    monkeypatch.setitem(sys.modules, "jax.numpy", jnp)
    gpu1 = types.SimpleNamespace(platform="gpu", id=1, local_hardware_id=1, client=None)
    plan = _plan_for("normal", dtype, (5, 7), (5, 7), (0, 0))
    result, buf = JaxBackend().cuda_empty(jnp, (5, 7), dtype, gpu1)
    assert (buf.ordinal, buf.stream) == (1, 1001)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _engine.run_cuda_library(plan, buf.buffer, buf.ordinal, buf.stream)
    out = result()
    exported = "Bfloat16DLPack" if dtype == "bfloat16" else "ndarray"
    assert two_devices.log == [("launch", 1, ("stream", 1001)), ("from_dlpack", 1, exported)]
    bits = out._bits if isinstance(out, Bfloat16DLPack) else out
    cpu = np.empty(35, _storage(dtype))
    _engine.run_cpu(plan, cpu)
    np.testing.assert_array_equal(np.asarray(bits).reshape(-1), cpu)


def test_a_driver_error_names_the_device_and_keeps_its_cause(monkeypatch):
    """The CUDA driver's errors (raised by numba-cuda's launch) reach the user named and chained."""
    from arrayinit import DeviceUnavailableError
    from arrayinit._engine import cuda as engine_cuda

    def failing(name, text):
        def run(*args, **kwargs):
            raise type(name, (Exception,), {})(text)

        return run

    plan = _plan_for("uniform", "float32", (8,), (8,), (0,))
    cases = [
        ("CudaAPIError", "[2] Call to cuMemAlloc results in CUDA_ERROR_OUT_OF_MEMORY", MemoryError, "out of memory"),
        ("CudaAPIError", "[222] CUDA_ERROR_UNSUPPORTED_PTX_VERSION", DeviceUnavailableError, "driver is older"),
        ("NvvmSupportError", "libNVVM cannot be found", DeviceUnavailableError, "NVVM, which was not found"),
        ("CCSupportError", "GPU compute capability 12.1 is not supported", DeviceUnavailableError, "compute capab"),
        ("CUDAError", "CUDA_ERROR_LAUNCH_FAILED: unspecified launch failure", DeviceUnavailableError, "failed in"),
    ]
    for name, text, expected, words in cases:
        monkeypatch.setattr(engine_cuda, "run_cuda", failing(name, text))
        with pytest.raises(expected, match=words) as info:
            _engine.run_cuda_library(plan, np.zeros(8, np.float32), 0, None)
        assert "'cuda:0'" in str(info.value)
        assert type(info.value.__cause__).__name__ == name  # the original error is kept
    monkeypatch.setattr(engine_cuda, "run_cuda", failing("ZeroDivisionError", "a bug, not a device problem"))
    with pytest.raises(Exception, match="a bug") as info:
        _engine.run_cuda_library(plan, np.zeros(8, np.float32), 0, None)
    assert type(info.value).__name__ == "ZeroDivisionError"  # raised as it is


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
