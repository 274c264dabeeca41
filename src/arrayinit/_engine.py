"""Runs a FillPlan on a target. Imports numba only when the first plan runs.

The CPU target is run by the calling thread together with a few helper
threads owned by this module (not numba's threading layer):

- the kernels are serial and ``nogil``; the calling thread and the helpers
  take tasks from a shared counter, and the calling thread finishes every task
  no helper has stored yet. A helper that is slow to wake up or descheduled
  (a busy machine) never delays a call: the call degrades to the time of one
  thread. Small calls run on the calling thread only;
- any number of Python threads may call at once (each call has its own
  ``work`` array; helpers serve the newest call first);
- the number of threads follows numba's: ``NUMBA_NUM_THREADS``, or
  ``numba.set_num_threads`` in the calling thread;
- a forked child starts without helpers and makes its own; a fork waits for a
  numba compilation running in another thread (the child could never finish
  it), so a child forked at any moment can generate.

The values never depend on the number of threads nor on who computed what.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import logging  # noqa: F401  its fork handlers are registered before ours: ours run first
import math
import os
import sys
import threading

import numpy as np

from arrayinit._plan import BITS, STORE_KIND, STORE_NATIVE, FillPlan, block_rows

_MASK32 = 0xFFFFFFFF
# from this many elements on, helper threads are offered part of the work
PARALLEL_FROM = 1 << 15


class _Job:
    __slots__ = ("args", "kernel", "wanted")

    def __init__(self, kernel, args, wanted: int) -> None:
        self.kernel = kernel
        self.args = args
        self.wanted = wanted


class _Pool:
    """Helper threads: each runs offered jobs (newest first) with ``finish=False``."""

    def __init__(self) -> None:
        self._cv = threading.Condition(threading.Lock())
        self._jobs: list[_Job] = []
        self._threads: list[threading.Thread] = []

    def offer(self, kernel, args, helpers: int) -> _Job:
        job = _Job(kernel, args, helpers)
        with self._cv:
            while len(self._threads) < helpers:
                t = threading.Thread(target=self._serve, name=f"arrayinit-{len(self._threads)}", daemon=True)
                t.start()
                self._threads.append(t)
            self._jobs.append(job)
            self._cv.notify(helpers)
        return job

    def withdraw(self, job: _Job) -> None:
        with self._cv:
            if job.wanted > 0:
                job.wanted = 0
                self._jobs.remove(job)

    def _serve(self) -> None:
        while True:
            with self._cv:
                while not self._jobs:
                    self._cv.wait()
                job = self._jobs[-1]
                job.wanted -= 1
                if job.wanted == 0:
                    self._jobs.pop()
            # a failed helper loses nothing: the calling thread computes every task not stored
            with contextlib.suppress(Exception):
                job.kernel(*job.args, False)
            del job


_pool: _Pool | None = None
_pool_lock = threading.Lock()


def _get_pool() -> _Pool:
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = _Pool()
    return _pool


def _after_fork_in_child() -> None:
    # the helpers do not exist in the child, and their lock may have been held
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()


# Loading the CPU target (importing numba, numba's first dispatch) and
# compiling hold locks that a child forked meanwhile would inherit, held by a
# thread it does not have. A fork waits for both: the forking thread takes them
# in a fork handler and releases them on both sides. The handlers are
# registered again once numba is loaded, so that they run before the handlers
# of modules imported since (``before`` handlers run in reverse order of
# registration): the compiling thread may need those modules' locks (numba
# logs under ``logging``'s lock), and the forking thread must not hold them
# while it waits.
_load_lock = threading.RLock()
_target: dict = {}  # "cpu": the loaded module, "compiler_lock": numba's global compiler lock
_fork_held = threading.local()


def _before_fork() -> None:
    held = [_load_lock]
    _load_lock.acquire()
    lock = _target.get("compiler_lock")
    if lock is not None:
        lock.acquire()
        held.append(lock)
    stack = getattr(_fork_held, "stack", None)
    if stack is None:
        stack = _fork_held.stack = []
    stack.append(held)


def _after_fork(child: bool) -> None:
    stack = getattr(_fork_held, "stack", None)
    if stack:
        for lock in reversed(stack.pop()):
            lock.release()
    if child:
        _after_fork_in_child()


def _register_fork_handlers() -> None:
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(
            before=_before_fork,
            after_in_parent=lambda: _after_fork(False),
            after_in_child=lambda: _after_fork(True),
        )


_register_fork_handlers()


class _LazyBlasCheck:
    """Stands for numba's ``arraymath._HAVE_BLAS``: checked (importing scipy) when first asked."""

    def __init__(self, check) -> None:
        self._check = check
        self._value: bool | None = None

    def __bool__(self) -> bool:
        if self._value is None:
            self._value = bool(self._check())
        return self._value


def _defer_numba_blas_check() -> None:
    """numba's first dispatch imports ``numba.np.arraymath``, which imports scipy's BLAS (0.2-0.5 s)
    to decide how ``np.correlate``/``np.convolve`` compile. The kernels use neither: the check is
    deferred until a compilation asks for it, with the same answer. Any failure leaves numba as it is."""
    if "numba.np.arraymath" in sys.modules:
        return
    try:
        from numba.core.compiler_lock import global_compiler_lock
        from numba.np import linalg
    except ImportError:
        return
    real = linalg.ensure_blas

    def not_yet() -> None:
        raise ImportError("BLAS check deferred by arrayinit")

    with global_compiler_lock:  # numba compiles np.dot under this lock: it never sees not_yet
        linalg.ensure_blas = not_yet
        try:
            from numba.np import arraymath
        except Exception:
            return
        finally:
            linalg.ensure_blas = real
        arraymath.ensure_blas = real
        if not arraymath._HAVE_BLAS:
            arraymath._HAVE_BLAS = _LazyBlasCheck(arraymath._check_blas)


def num_threads() -> int:
    """Threads a CPU call may use: ``numba.set_num_threads`` of this thread, else ``NUMBA_NUM_THREADS``.

    Does not start numba's threading layer (the engine does not use it).
    """
    from numba.np.ufunc import parallel

    if parallel._is_initialized:
        return int(parallel.get_num_threads())
    from numba.core import config

    return int(config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined, unused-ignore]  # typed only where numba is installed


def _cpu():
    cpu = _target.get("cpu")
    if cpu is None:
        with _load_lock:
            cpu = _target.get("cpu")
            if cpu is None:
                import numba
                from numba.core import entrypoints
                from numba.core.compiler_lock import global_compiler_lock

                _defer_numba_blas_check()
                entrypoints.init_all()  # numba's first dispatch would import extensions: done here, under the lock
                for dt in (np.float32, np.float64, np.uint16, np.uint32, np.int64):
                    numba.typeof(np.empty(1, dt))  # the first typeof of an array imports numpy.ma
                cpu = importlib.import_module("arrayinit._targets.cpu")
                _target["compiler_lock"] = global_compiler_lock
                _target["cpu"] = cpu
                _register_fork_handlers()
    return cpu


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
    args: tuple
    if plan.dist == BITS:
        kernel, args = cpu.bits, (out, starts, row_len, k0, k1, s0, s1)
    elif plan.compute64:
        params = _typed_params(plan.params, True)
        wide = plan.dtype == "float64"
        kernel, args = cpu.fill64, (out, kind, starts, row_len, k0, k1, s0, s1, wide, plan.dist, params)
    else:
        params = _typed_params(plan.params, False)
        kernel, args = cpu.fill32, (out, kind, starts, row_len, k0, k1, s0, s1, plan.dist, params)
    tasks = cpu.task_count(starts.shape[0], row_len)
    work = np.zeros(1 + tasks, np.int64)
    helpers = min(num_threads() - 1, tasks - 1) if n >= PARALLEL_FROM else 0
    if helpers <= 0:
        kernel(*args, work, True)
        return
    pool = _get_pool()
    job = pool.offer(kernel, (*args, work), helpers)
    try:
        kernel(*args, work, True)
    finally:
        pool.withdraw(job)
    # a helper may still be storing a task it won
    while cpu.pending(work):
        os.sched_yield()


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
