"""Runs a FillPlan on a target. Imports numba only when the first plan runs.

Thread and fork safety of the CPU target live here:

- calls are serialised by a lock, so numba's threading layer is never entered
  by two Python threads at once (the ``workqueue`` layer forbids it);
- a process forked after the parallel runtime started cannot use GNU OpenMP
  in the child (it aborts), so such a child runs the serial twins of the
  kernels. The values are the same: they never depend on the thread count.
"""

from __future__ import annotations

import functools
import importlib
import math
import os
import threading

import numpy as np

from arrayinit._plan import BITS, STORE_KIND, STORE_NATIVE, FillPlan, block_rows

_MASK32 = 0xFFFFFFFF
# below this many elements the serial kernel is faster than a parallel launch
SERIAL_BELOW = 1 << 14

_lock = threading.Lock()
_state = {"parallel_started": False, "serial": False}


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()
    if _state["parallel_started"]:
        layer = "unknown"
        try:
            import numba

            layer = numba.threading_layer()
        except (ImportError, ValueError):
            pass
        if layer != "tbb":
            _state["serial"] = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _cpu():
    return importlib.import_module("arrayinit._targets.cpu")


@functools.lru_cache(maxsize=512)
def _small_layout(shape, full_shape, offset):
    starts, row_len = block_rows(shape, full_shape, offset)
    starts.flags.writeable = False
    return starts, row_len


def _layout(shape, full_shape, offset):
    """Run starts and length of a block; layouts of up to 4096 runs are cached (small calls repeat)."""
    runs = math.prod(shape[:-1]) if len(shape) > 1 else 1
    if runs <= 4096:
        return _small_layout(shape, full_shape, offset)
    return block_rows(shape, full_shape, offset)


@functools.lru_cache(maxsize=512)
def _words64(x: int) -> tuple[np.uint64, np.uint64]:
    return np.uint64(x & _MASK32), np.uint64(x >> 32)


@functools.lru_cache(maxsize=512)
def _typed_params(params: tuple[float, ...], compute64: bool) -> tuple:
    t = np.float64 if compute64 else np.float32
    return tuple(t(p) for p in params)


def run_cpu(plan: FillPlan, out: np.ndarray) -> None:
    """Fill ``out`` (flat, C-contiguous numpy storage: uint16 for 16-bit floats) per ``plan``."""
    n = plan.size
    if n == 0:
        return
    cpu = _cpu()
    starts, row_len = _layout(plan.shape, plan.full_shape, plan.offset)
    k0, k1 = _words64(plan.seed)
    s0, s1 = _words64(plan.stream)
    kind = STORE_KIND.get(plan.dtype, STORE_NATIVE)
    with _lock:
        # a parallel launch costs a few microseconds: small blocks run on this thread
        serial = _state["serial"] or n < SERIAL_BELOW
        if plan.dist == BITS:
            fn = cpu.bits_serial if serial else cpu.bits
            fn(out, starts, row_len, k0, k1, s0, s1)
        elif plan.compute64:
            fn = cpu.fill64_serial if serial else cpu.fill64
            params = _typed_params(plan.params, True)
            fn(out, kind, starts, row_len, k0, k1, s0, s1, plan.dtype == "float64", plan.dist, params)
        else:
            fn = cpu.fill32_serial if serial else cpu.fill32
            params = _typed_params(plan.params, False)
            fn(out, kind, starts, row_len, k0, k1, s0, s1, plan.dist, params)
        if not serial:
            _state["parallel_started"] = True


def _cuda():
    return importlib.import_module("arrayinit._targets.cuda")


def run_cuda(plan: FillPlan, out, *, stream=0, threads: int = 256, max_blocks: int | None = None) -> None:
    """Fill the flat device array ``out`` (uint16 for 16-bit floats) per ``plan`` on the CUDA target.

    ``out`` is anything numba.cuda takes as a kernel argument (a numba device
    array, or an object with ``__cuda_array_interface__``: cupy, torch);
    ``stream`` is a numba stream (``cuda.external_stream`` for a library's own).
    """
    if plan.size == 0:
        return
    cu = _cuda()
    from numba import cuda

    starts_host, row_len = _layout(plan.shape, plan.full_shape, plan.offset)
    n_rows = starts_host.shape[0]
    if n_rows == 1:  # one run: its start travels as a kernel argument
        starts = (np.int64(starts_host[0]),)
    else:
        starts = cuda.to_device(np.ascontiguousarray(starts_host), stream=stream)
    nb_row = cu.items_per_row(starts_host, row_len)
    tiled = cu.use_tiled(row_len, threads)
    if tiled:
        tiles_row = -(-nb_row // threads)
        blocks = cu.grid_blocks(n_rows * tiles_row, max_blocks)
    else:
        tiles_row = 0
        blocks = cu.grid_blocks(-(-n_rows * nb_row // threads), max_blocks)
    k0, k1 = _words64(plan.seed)
    s0, s1 = _words64(plan.stream)
    kind = STORE_KIND.get(plan.dtype, STORE_NATIVE)
    if plan.dist == BITS:
        family, wide, dist, params = "bits", False, 0, _typed_params((0.0,) * 8, False)
    elif plan.compute64:
        family, wide, dist, params = "fill64", plan.dtype == "float64", plan.dist, _typed_params(plan.params, True)
    else:
        family, wide, dist, params = "fill32", False, plan.dist, _typed_params(plan.params, False)
    kernel = cu.KERNELS[family, kind][0 if tiled else 1]
    kernel[blocks, threads, stream](out, starts, row_len, nb_row, tiles_row, k0, k1, s0, s1, wide, dist, params)
    if n_rows > 1 and stream != 0:
        # ``starts`` is freed when this returns; an allocator other than numba's
        # (a pool) could hand its memory out while a library's stream still runs
        stream.synchronize()


def run_cuda_library(plan: FillPlan, out, device_index: int | None, stream_ptr: int | None) -> None:
    """``run_cuda`` into a library's device buffer, on that library's device and stream.

    ``out`` exposes ``__cuda_array_interface__`` (torch, cupy); ``stream_ptr`` is
    the library's current ``cudaStream_t`` (0 or None: the default stream).
    Raises DeviceUnavailableError when numba-cuda, the driver or the device is missing.
    """
    from arrayinit._errors import DeviceUnavailableError

    where = f"cuda:{device_index if device_index is not None else 0}"
    try:
        from numba import cuda
    except ImportError as e:
        raise DeviceUnavailableError(
            f"device {where!r} needs arrayinit's CUDA target, which needs numba-cuda: "
            f"pip install 'arrayinit[cuda]' ({e})"
        ) from None
    try:
        if not cuda.is_available():
            raise DeviceUnavailableError(f"device {where!r} is not available: numba.cuda finds no CUDA driver or GPU")
        with cuda.gpus[device_index or 0]:
            stream = cuda.external_stream(stream_ptr) if stream_ptr else 0
            run_cuda(plan, out, stream=stream)
    except DeviceUnavailableError:
        raise
    except (ImportError, RuntimeError, IndexError) as e:  # CudaSupportError is an ImportError
        raise DeviceUnavailableError(
            f"device {where!r} is not available to arrayinit: {type(e).__name__}: {e}"
        ) from None
