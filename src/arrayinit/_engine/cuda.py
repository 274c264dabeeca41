"""CUDA runs: a plan's kernel launched on a numba device array or a library's device buffer, on the
library's device and stream (``arrayinit._targets.cuda`` holds the kernels; numba.cuda is imported on the
first run)."""

from __future__ import annotations

import functools

import numpy as np

from arrayinit import _locks
from arrayinit._engine.args import layout, typed_params, words64
from arrayinit._kernels.abi import BITS, STORE_KIND, STORE_NATIVE
from arrayinit._plan import FillPlan


@functools.lru_cache(maxsize=512)
def _cuda_words64(x: int) -> tuple[np.uint64, np.uint64]:
    """``words64`` as numpy uint64 scalars (the CUDA kernels' argument types)."""
    lo, hi = words64(x)
    return np.uint64(lo), np.uint64(hi)


@functools.lru_cache(maxsize=512)
def _cuda_params(params: tuple[float, ...], compute64: bool) -> tuple:
    """``typed_params`` as a tuple of numpy scalars (the CUDA kernels take a tuple)."""
    return tuple(typed_params(params, compute64)[0])


def _cuda():
    return _locks.lazy_import("arrayinit._targets.cuda")


def run_cuda(plan: FillPlan, out, *, stream=0, threads: int = 256, max_blocks: int | None = None) -> None:
    """Fill the flat device array ``out`` (uint16 for 16-bit floats) per ``plan`` on the CUDA target.

    ``out`` is anything numba.cuda takes as a kernel argument (a numba device
    array, or an object with ``__cuda_array_interface__``: cupy, torch);
    ``stream`` is a numba stream (``cuda.external_stream`` for a library's own).
    """
    if plan.size == 0:
        return
    cu = _cuda()
    cuda = _locks.lazy_import("numba.cuda")

    starts_host, row_len, _ = layout(plan.shape, plan.full_shape, plan.offset)
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
    k0, k1 = _cuda_words64(plan.seed)
    s0, s1 = _cuda_words64(plan.stream)
    kind = STORE_KIND.get(plan.dtype, STORE_NATIVE)
    if plan.dist == BITS:
        family, wide, dist, params = "bits", False, 0, _cuda_params((0.0,) * 8, False)
    elif plan.compute64:
        family, wide, dist, params = "fill64", plan.dtype == "float64", plan.dist, _cuda_params(plan.params, True)
    else:
        family, wide, dist, params = "fill32", False, plan.dist, _cuda_params(plan.params, False)
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
        cuda = _locks.lazy_import("numba.cuda")
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
