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
import ctypes
import functools
import importlib
import math
import mmap
import os
import struct
import sys
import threading

import numpy as np

from arrayinit import _locks
from arrayinit._plan import (
    A_FINISH,
    A_N_OUT,
    A_N_ROWS,
    A_ROW_LEN,
    A_SCRATCH,
    ARGS,
    BITS,
    CHUNK,
    SCRATCH_WORDS,
    STORE_KIND,
    STORE_NATIVE,
    STREAM_FROM,
    FillPlan,
    block_rows,
)

_MASK32 = 0xFFFFFFFF
# from this many elements on, helper threads are offered part of the work
PARALLEL_FROM = 1 << 17


class _Job:
    __slots__ = ("args", "keep", "kernel", "running", "wanted")

    def __init__(self, kernel, args, wanted: int, keep: tuple) -> None:
        self.kernel = kernel
        self.args = args  # addresses of ``keep``'s arrays among them
        self.keep = keep  # alive until the last helper that took the job is done with it
        self.wanted = wanted
        self.running = 0  # helpers inside the kernel for this job


class _Pool:
    """Helper threads: each runs offered jobs (newest first) with ``finish=False``."""

    def __init__(self) -> None:
        self._cv = threading.Condition(threading.Lock())
        self._jobs: list[_Job] = []
        self._threads: list[threading.Thread] = []

    def offer(self, kernel, args, helpers: int, keep: tuple) -> _Job:
        job = _Job(kernel, args, helpers, keep)
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
        # a helper's own runs are never offered to the pool: a call made on this thread by a hook or a
        # finalizer (which may run while this thread holds the pool's lock) runs alone, with a state of its own
        _thread.busy = True
        while True:
            with self._cv:
                while not self._jobs:
                    self._cv.wait()
                job = self._jobs[-1]
                job.wanted -= 1
                if job.wanted == 0:
                    self._jobs.pop()
                job.running += 1
            # a failed helper loses nothing: the calling thread computes every task not stored
            with contextlib.suppress(Exception):
                _call(job.kernel, list(job.args), 0, _thread.state)
            with self._cv:
                job.running -= 1
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


_locks.after_fork_in_child(_after_fork_in_child)
_target: dict = {}  # "cpu": the loaded module, "native": the loader


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

    Imports neither numba nor its threading layer (the engine uses neither).
    """
    parallel = sys.modules.get("numba.np.ufunc.parallel")
    if parallel is not None and parallel._is_initialized:
        return int(parallel.get_num_threads())
    config = sys.modules.get("numba.core.config")
    if config is not None and hasattr(config, "NUMBA_NUM_THREADS"):
        return int(config.NUMBA_NUM_THREADS)
    return _default_threads()


@functools.lru_cache(maxsize=1)
def _default_threads() -> int:
    # numba's rule (numba.core.config): NUMBA_NUM_THREADS, else the CPUs this process may run on
    env = os.environ.get("NUMBA_NUM_THREADS")
    if env:
        with contextlib.suppress(ValueError):
            return max(1, int(env))
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _loaded_once(name: str, load):
    """``_target[name]``, from ``load()`` on first use (once, by the loader: ``_locks.load``)."""
    value = _target.get(name)
    if value is None:
        value = _locks.load(functools.partial(_load_once, name, load))
    return value


def _load_once(name: str, load):
    value = _target.get(name)
    if value is None:
        value = _target[name] = load()
    return value


def _load_numba_target():
    import numba
    from numba.core import entrypoints
    from numba.core.compiler_lock import global_compiler_lock

    _defer_numba_blas_check()
    entrypoints.init_all()  # numba's first dispatch would import extensions: done here, under the lock
    for dt in (np.float32, np.float64, np.uint16, np.uint32, np.int64):
        numba.typeof(np.empty(1, dt))  # the first typeof of an array imports numpy.ma
    cpu = importlib.import_module("arrayinit._targets.cpu")
    _locks.hold_during_fork(global_compiler_lock)  # a fork also waits for a compilation in another thread
    return cpu


def numba_target():
    """``arrayinit._targets.cpu`` (imports numba): for compiling a kernel where no machine code is at hand."""
    return _loaded_once("cpu", _load_numba_target)


def _native():
    return _locks.lazy_import("arrayinit._targets.native")


def kernel(family: str, dtype: str):
    """The loaded CPU kernel of a variant (``arrayinit._targets.native.Kernel``)."""
    return _native().kernel(family, dtype)


def variant(plan: FillPlan) -> tuple[str, str]:
    """The ``(family, dtype)`` of the CPU kernel that runs ``plan``."""
    if plan.dist == BITS:
        return "bits", "uint32"
    return ("fill64" if plan.compute64 else "fill32"), plan.dtype


@functools.lru_cache(maxsize=512)
def _small_layout(shape, full_shape, offset):
    starts, row_len = block_rows(shape, full_shape, offset)
    starts.flags.writeable = False
    return starts, row_len, _addr(starts)


def _layout(shape, full_shape, offset):
    """Run starts, run length and the starts' address; layouts of up to 4096 runs are cached (small calls repeat)."""
    runs = math.prod(shape[:-1]) if len(shape) > 1 else 1
    if runs <= 4096:
        return _small_layout(shape, full_shape, offset)
    starts, row_len = block_rows(shape, full_shape, offset)
    return starts, row_len, _addr(starts)


@functools.lru_cache(maxsize=1)
def _mincore():
    """libc's ``mincore`` (which pages of a range are in memory), or None where it is not available."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).mincore
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    fn.restype = ctypes.c_int
    return fn


def _streamed(out: np.ndarray) -> int:
    """1 where the kernel writes ``out`` by streaming stores: outputs of ``STREAM_FROM`` bytes or more
    whose pages are (mostly) in memory already.

    The system zeroes a page that is not yet in memory when it is first
    written, which leaves its lines in the cache: plain stores then overwrite
    them there, where streaming stores would write every line to memory twice
    (new numpy arrays of more than 32 MiB, and every array not yet written).
    The values are the same either way.
    """
    nbytes = out.nbytes
    if nbytes < STREAM_FROM:
        return 0
    mincore = _mincore()
    if mincore is None:
        return 1
    page = mmap.PAGESIZE
    addr = _addr(out)
    first = addr - addr % page
    pages = -(-(addr + nbytes - first) // page)
    vec = np.empty(pages, np.uint8)
    if mincore(first, pages * page, _addr(vec)) != 0:
        return 1
    return int(2 * np.count_nonzero(vec & 1) >= pages)


def _addr(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


@functools.lru_cache(maxsize=512)
def _words64(x: int) -> tuple[int, int]:
    return x & _MASK32, x >> 32


@functools.lru_cache(maxsize=512)
def _typed_params(params: tuple[float, ...], compute64: bool) -> tuple[np.ndarray, int]:
    """The parameters as a read-only array of the arithmetic's float type, and its address."""
    a = np.array(params, np.float64 if compute64 else np.float32)
    a.flags.writeable = False
    return a, _addr(a)


@functools.lru_cache(maxsize=512)
def _cuda_words64(x: int) -> tuple[np.uint64, np.uint64]:
    """``_words64`` as numpy uint64 scalars (the CUDA kernels' argument types)."""
    lo, hi = _words64(x)
    return np.uint64(lo), np.uint64(hi)


@functools.lru_cache(maxsize=512)
def _cuda_params(params: tuple[float, ...], compute64: bool) -> tuple:
    """``_typed_params`` as a tuple of numpy scalars (the CUDA kernels take a tuple)."""
    return tuple(_typed_params(params, compute64)[0])


_ARGS = struct.Struct(f"<{ARGS}q")


class _CallState:
    """A kernel call's argument block and scratch, and a work array for calls run by one thread."""

    __slots__ = ("args", "args_addr", "scratch", "scratch_addr", "work", "work_addr")

    def __init__(self) -> None:
        self.args = ctypes.create_string_buffer(_ARGS.size)
        self.args_addr = ctypes.addressof(self.args)
        self.scratch = np.empty(SCRATCH_WORDS // 2, np.uint64)  # 8-byte aligned
        self.scratch_addr = _addr(self.scratch)
        self.work = np.empty(0, np.int64)
        self.work_addr = 0

    def work_for(self, n: int) -> int:
        """Address of the work array of at least ``n`` slots (the kernel zeroes what it uses)."""
        if self.work.shape[0] < n:
            self.work = np.empty(max(n, 64), np.int64)
            self.work_addr = _addr(self.work)
        return self.work_addr


class _ThreadState(threading.local):
    """Per thread: its call state, and whether a kernel run of this thread is under way.

    A run that starts while another is under way on the same thread (from a
    signal handler, a finalizer or a trace hook, run between two bytecodes of
    the first) gets a call state of its own and runs alone, without the
    helpers: the first run's argument block is never overwritten between
    being packed and being run, and the pool's lock, which the first run may
    hold at that moment, is not needed.
    """

    def __init__(self) -> None:
        self.busy = True  # a call made by a hook while this thread's state is made runs with a state of its own
        self.state = _CallState()
        self.busy = False


_thread = _ThreadState()


def _call(kernel, vals: list, finish: int, s: _CallState) -> int:
    """Runs ``kernel`` with the argument block ``vals`` on the scratch of ``s`` (``finish`` set here)."""
    vals[A_SCRATCH] = s.scratch_addr
    vals[A_FINISH] = finish
    _ARGS.pack_into(s.args, 0, *vals)
    return kernel(s.args_addr)


@functools.lru_cache(maxsize=1)
def _data_offset() -> int | None:
    """Where CPython keeps a numpy array's data address in the array object (read by the kernel:
    no Python-level lookup per call); None when it cannot be confirmed here."""
    if sys.implementation.name != "cpython":
        return None
    probes: list[np.ndarray] = [np.empty(3), np.empty((4, 4), np.float32)[1:], np.empty(5, np.uint16)[::1]]
    for off in range(16, 72, 8):
        if all(ctypes.c_void_p.from_address(id(a) + off).value == _addr(a) for a in probes):
            return off
    return None


def task_count(n_rows: int, row_len: int) -> int:
    """Number of tasks of a block of ``n_rows`` runs of ``row_len`` elements (mirrors the kernels' split)."""
    cpr = -(-row_len // CHUNK)
    per = max(1, CHUNK // row_len) if cpr == 1 else 1
    return -(-(n_rows * cpr) // per)


# A call of more elements than this (per kernel family) runs as pieces of at most as many, one after the
# other, so that a signal (Ctrl-C) is handled within a piece's time: a few milliseconds to 0.1 s on one
# thread. The pieces cost about one wake-up of the helpers each; the values are the same.
PIECE = {"fill32": 1 << 23, "bits": 1 << 23, "fill64": 1 << 20}


def _pieces(starts: np.ndarray, row_len: int, piece: int):
    """``(first element, starts, run length)`` of each piece of a block (runs of ``row_len`` at ``starts``)."""
    n_rows = starts.shape[0]
    if row_len <= piece:
        rows = piece // row_len
        for r in range(0, n_rows, rows):
            yield r * row_len, starts[r : r + rows], row_len
        return
    for r in range(n_rows):
        for j in range(0, row_len, piece):
            yield r * row_len + j, np.array([starts[r] + j], np.int64), min(piece, row_len - j)


def run_cpu(plan: FillPlan, out: np.ndarray) -> None:
    """Fill ``out`` (flat, C-contiguous numpy storage: uint16 for 16-bit floats) per ``plan``."""
    n = plan.size
    if n == 0:
        return
    k = kernel(*variant(plan))
    starts, row_len, starts_addr = _layout(plan.shape, plan.full_shape, plan.offset)
    k0, k1 = _words64(plan.seed)
    s0, s1 = _words64(plan.stream)
    params, params_addr = _typed_params(plan.params, plan.compute64)
    stream = _streamed(out)
    piece = PIECE[k.family]
    if n <= piece:
        off = _data_offset()
        # the kernel reads the data address of a numpy array from the array object
        out_ref, out_at = (id(out) + off, 1) if off is not None and type(out) is np.ndarray else (_addr(out), 0)
        head = [out_ref, n, starts_addr, starts.shape[0], row_len, k0, k1, s0, s1, plan.dist, params_addr]
        _run(k, head, out_at, stream, (out, starts, params))
        return
    base, itemsize = _addr(out), out.itemsize
    for first, sub, length in _pieces(starts, row_len, piece):
        rows = sub.shape[0]
        head = [
            base + first * itemsize,
            rows * length,
            _addr(sub),
            rows,
            length,
            k0,
            k1,
            s0,
            s1,
            plan.dist,
            params_addr,
        ]
        _run(k, head, 0, stream, (out, sub, params))


def _run(k, head: list, out_at: int, stream: int, keep: tuple) -> None:
    """One kernel run over ``head`` (output, size, runs, key, stream, distribution, parameters); ``keep``
    holds the arrays it addresses until every task is stored."""
    n, n_rows, row_len = head[A_N_OUT], head[A_N_ROWS], head[A_ROW_LEN]
    tasks = task_count(n_rows, row_len)
    t = _thread
    nested = t.busy
    s = _CallState() if nested else t.state
    t.busy = True
    try:
        helpers = min(num_threads() - 1, tasks - 1) if n >= PARALLEL_FROM and not nested else 0
        if helpers <= 0:
            args = [*head, s.work_for(1 + tasks), 1 + tasks, s.scratch_addr, 2, out_at, stream]
            _ARGS.pack_into(s.args, 0, *args)
            status = k.run(s.args_addr)
        else:
            work = np.zeros(1 + tasks, np.int64)
            vals = [*head, _addr(work), 1 + tasks, 0, 0, out_at, stream]  # scratch and finish: per thread
            pool = _get_pool()
            job = pool.offer(k.run, vals, helpers, (*keep, work))
            try:
                try:
                    status = _call(k.run, list(vals), 1, s)
                finally:
                    pool.withdraw(job)
                # a helper may still be storing a task it won
                while k.pending(work):
                    os.sched_yield()
            except BaseException:
                # interrupted (Ctrl-C): no task is handed out any more, and the helpers are done with the
                # output before the exception leaves the call (each holds at most one task)
                work[0] = 1 << 62
                while job.running:
                    os.sched_yield()
                raise
    finally:
        t.busy = nested
    if status != 0:
        raise RuntimeError(f"CPU kernel {k.family}-{k.dtype} failed (status {status})")


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

    starts_host, row_len, _ = _layout(plan.shape, plan.full_shape, plan.offset)
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
