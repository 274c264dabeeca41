"""CUDA runs: a plan's kernel launched on a numba device array or a library's device buffer, on the
library's device and stream (``arrayinit._targets.cuda`` holds the kernels; numba.cuda is imported on the
first run)."""

from __future__ import annotations

import functools
import math

import numpy as np

from arrayinit import _locks
from arrayinit._engine.args import run_axes, typed_params, words64
from arrayinit._errors import DeviceUnavailableError
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
    The runs of the block travel by value: no device allocation, no copy from
    the host, no synchronisation; the launch is queued on ``stream`` and this
    returns.
    """
    if plan.size == 0:
        return
    cu = _cuda()
    base, axes, row_len = run_axes(plan.shape, plan.full_shape, plan.offset)
    k0, k1 = _cuda_words64(plan.seed)
    s0, s1 = _cuda_words64(plan.stream)
    kind = STORE_KIND.get(plan.dtype, STORE_NATIVE)
    if plan.dist == BITS:
        family, wide, dist, params = "bits", False, 0, _cuda_params((0.0,) * 8, False)
    elif plan.compute64:
        family, wide, dist, params = "fill64", plan.dtype == "float64", plan.dist, _cuda_params(plan.params, True)
    else:
        family, wide, dist, params = "fill32", False, plan.dist, _cuda_params(plan.params, False)
    tiled = cu.use_tiled(row_len, threads)
    kernel = cu.KERNELS[family, kind][0 if tiled else 1]
    outer, inner = (axes[: -cu.RUN_AXES], axes[-cu.RUN_AXES :]) if len(axes) > cu.RUN_AXES else ((), axes)
    n_rows = math.prod(n for n, _ in inner)
    pad = ((1, 0),) * (cu.RUN_AXES - len(inner))
    ext = tuple(np.int64(n) for n, _ in pad + inner)
    strd = tuple(np.int64(st) for _, st in pad + inner)
    nb_row = cu.items_per_run(base, [st for _, st in axes], row_len)
    if tiled:
        tiles_row = -(-nb_row // threads)
        blocks = cu.grid_blocks(n_rows * tiles_row, max_blocks)
    else:
        tiles_row = 0
        blocks = cu.grid_blocks(-(-n_rows * nb_row // threads), max_blocks)
    tail = (row_len, nb_row, tiles_row, k0, k1, s0, s1, wide, dist, params)
    if not outer:
        cu.launch(kernel, blocks, threads, stream, (out, np.int64(n_rows), np.int64(base), ext, strd, *tail))
        return
    # more partial axes than a launch describes (a block cut in five or more of its leading axes): one
    # launch per index of the outer ones, each on its slice of ``out`` (still nothing allocated or copied)
    size = n_rows * row_len
    for k, index in enumerate(np.ndindex(*(n for n, _ in outer))):
        first = base + sum(i * st for i, (_, st) in zip(index, outer))
        part = out[k * size : (k + 1) * size]
        cu.launch(kernel, blocks, threads, stream, (part, np.int64(n_rows), np.int64(first), ext, strd, *tail))


def run_cuda_library(plan: FillPlan, out, device_index: int | None, stream_ptr: int | None) -> None:
    """``run_cuda`` into a library's device buffer, on that library's device and stream.

    ``out`` exposes ``__cuda_array_interface__`` (torch, cupy); ``stream_ptr`` is
    the library's current ``cudaStream_t`` (0 or None: the default stream).
    Raises DeviceUnavailableError when numba-cuda, the driver, the compiler or
    the device is missing or fails, MemoryError when the device is out of
    memory; either names the device and keeps the original error as its cause.
    """
    where = f"cuda:{device_index if device_index is not None else 0}"
    try:
        cuda = _locks.lazy_import("numba.cuda")
    except ImportError as e:
        raise DeviceUnavailableError(
            f"device {where!r} needs arrayinit's CUDA target, which needs numba-cuda: "
            f"pip install 'arrayinit[cuda]' ({type(e).__name__}: {e})"
        ) from e
    try:
        if not cuda.is_available():
            raise DeviceUnavailableError(f"device {where!r} is not available: numba.cuda finds no CUDA driver or GPU")
        with cuda.gpus[device_index or 0]:
            stream = cuda.external_stream(stream_ptr) if stream_ptr else 0
            run_cuda(plan, out, stream=stream)
    except DeviceUnavailableError:
        raise
    except Exception as e:
        mapped = cuda_error(e, where)
        if mapped is None:
            raise
        raise mapped from e


# numba-cuda's errors by class name (numba.cuda.cudadrv.error, .driver; cuda.core's CUDAError): the engine
# does not import numba.cuda to name them
_COMPILER_MISSING = ("NvvmSupportError", "NvrtcSupportError")
_COMPILER_FAILED = ("NvvmError", "NvrtcError", "NvrtcCompilationError", "LinkerError")
_DRIVER = ("CudaAPIError", "CudaDriverError", "CUDAError", "CudaRuntimeError")
# driver results that mean the driver cannot run code from this compiler (the PTX is newer than the driver)
_DRIVER_TOO_OLD = ("UNSUPPORTED_PTX_VERSION", "NO_BINARY_FOR_GPU", "INVALID_PTX", "JIT_COMPILER_NOT_FOUND")


def cuda_error(e: BaseException, where: str) -> BaseException | None:
    """The arrayinit error for a failure of numba-cuda, the compiler or the driver on device ``where``, or
    None for an error that is not one of these (raised as it is). The caller chains ``e`` as the cause."""
    name, text = type(e).__name__, str(e)
    reason = f"{name}: {text}"
    if name == "CudaSupportError":
        return DeviceUnavailableError(f"device {where!r} is not available: no usable CUDA driver ({reason})")
    if name in _COMPILER_MISSING:
        return DeviceUnavailableError(
            f"device {where!r}: arrayinit compiles its CUDA kernels with NVVM, which was not found (with "
            f"NVRTC, it comes with the CUDA wheels of numba-cuda): pip install 'arrayinit[cuda]' for CUDA 12 "
            f"or 'arrayinit[cuda13]' for CUDA 13 ({reason})"
        )
    if name == "CCSupportError":
        return DeviceUnavailableError(
            f"device {where!r}: its compute capability is not supported by the installed CUDA compiler (NVVM); "
            f"a newer numba-cuda with the CUDA wheels of that GPU's generation is needed ({reason})"
        )
    if name in _COMPILER_FAILED:
        return DeviceUnavailableError(f"device {where!r}: the CUDA kernel could not be compiled ({reason})")
    if name in _DRIVER or "CUDA_ERROR_" in text:
        if "OUT_OF_MEMORY" in text:
            return MemoryError(f"device {where!r} is out of memory: the CUDA driver refused an allocation ({reason})")
        if any(code in text for code in _DRIVER_TOO_OLD):
            return DeviceUnavailableError(
                f"device {where!r}: the CUDA driver cannot load the compiled kernel, which usually means the "
                f"driver is older than the CUDA compiler (install the cu12 extra, 'arrayinit[cuda]', for an "
                f"older driver, or update the NVIDIA driver) ({reason})"
            )
        return DeviceUnavailableError(f"device {where!r} failed in the CUDA driver ({reason})")
    if isinstance(e, IndexError):
        return DeviceUnavailableError(f"device {where!r} is not available: numba.cuda has no such device ({reason})")
    if isinstance(e, (ImportError, RuntimeError)):  # numba-cuda's other setup failures (missing toolkit parts)
        return DeviceUnavailableError(f"device {where!r} is not available to arrayinit ({reason})")
    return None
