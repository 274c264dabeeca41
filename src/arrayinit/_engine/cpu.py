"""CPU runs: a plan's kernel called on the output's memory by the calling thread and the helpers.

The kernels are serial and ``nogil`` (``arrayinit._targets.native`` loads
them); a run is cut into tasks of ``CHUNK`` elements taken from a shared
counter, and a large call into pieces so that a signal is handled within a
piece's time. A run that starts while another is under way on the same
thread (a signal handler, a finalizer, a trace hook) runs alone, with its own
call state.
"""

from __future__ import annotations

import ctypes
import functools
import mmap
import os
import sys
from typing import Any

import numpy as np

from arrayinit import _locks
from arrayinit._engine.args import addr, layout, typed_params, words64
from arrayinit._engine.pool import PARALLEL_FROM, CallState, call, get_pool, num_threads, thread
from arrayinit._kernels.abi import A_N_OUT, BITS, CHUNK, STREAM_FROM
from arrayinit._plan import FillPlan


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


@functools.cache
def libc_function(name: str, *argtypes: Any) -> Any:
    """libc's function ``name`` on Linux (``mincore``, ``madvise``), taking ``argtypes`` and returning a C int,
    or None where it is not available."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):
        return None
    fn.argtypes = list(argtypes)
    fn.restype = ctypes.c_int
    return fn


def streamed(out: np.ndarray) -> int:
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
    mincore = libc_function("mincore", ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p)  # pages in memory
    if mincore is None:
        return 1
    page = mmap.PAGESIZE
    at = addr(out)
    first = at - at % page
    pages = -(-(at + nbytes - first) // page)
    vec = np.empty(pages, np.uint8)
    if mincore(first, pages * page, addr(vec)) != 0:
        return 1
    return int(2 * np.count_nonzero(vec & 1) >= pages)


@functools.lru_cache(maxsize=1)
def _data_offset() -> int | None:
    """Where CPython keeps a numpy array's data address in the array object (read by the kernel:
    no Python-level lookup per call); None when it cannot be confirmed here."""
    if sys.implementation.name != "cpython":
        return None
    probes: list[np.ndarray] = [np.empty(3), np.empty((4, 4), np.float32)[1:], np.empty(5, np.uint16)[::1]]
    for off in range(16, 72, 8):
        if all(ctypes.c_void_p.from_address(id(a) + off).value == addr(a) for a in probes):
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


# the prepared runs of recent plans (kernel, layout, key words, parameters), by the plan's identity: the
# plans of repeated calls (an initializer's plan cache) skip their preparation. An entry holds its plan, so
# an id is not reused while its entry is here.
_PREPARED: dict[int, tuple] = {}
_PREPARED_MAX = 256


def _prepare(plan: FillPlan) -> tuple:
    k = kernel(*variant(plan))
    starts, row_len, starts_addr = layout(plan.shape, plan.full_shape, plan.offset)
    k0, k1 = words64(plan.seed)
    s0, s1 = words64(plan.stream)
    params, params_addr = typed_params(plan.params, plan.compute64)
    head = (plan.size, starts_addr, starts.shape[0], row_len, k0, k1, s0, s1, plan.dist, params_addr)
    return plan, k, starts, params, head, task_count(starts.shape[0], row_len)


def run_cpu(plan: FillPlan, out: np.ndarray) -> None:
    """Fill ``out`` (flat, C-contiguous numpy storage: uint16 for 16-bit floats) per ``plan``."""
    entry = _PREPARED.get(id(plan))
    if entry is None or entry[0] is not plan:
        if plan.size == 0:
            return
        entry = _prepare(plan)
        if len(_PREPARED) >= _PREPARED_MAX:
            _PREPARED.clear()
        _PREPARED[id(plan)] = entry
    _, k, starts, params, head, tasks = entry
    n = head[0]
    stream = streamed(out)
    piece = PIECE[k.family]
    if n <= piece:
        off = _data_offset()
        # the kernel reads the data address of a numpy array from the array object
        out_ref, out_at = (id(out) + off, 1) if off is not None and type(out) is np.ndarray else (addr(out), 0)
        _run(k, [out_ref, *head], out_at, stream, (out, starts, params), tasks)
        return
    base, itemsize = addr(out), out.itemsize
    row_len = head[3]
    for first, sub, length in _pieces(starts, row_len, piece):
        rows = sub.shape[0]
        head_piece = [base + first * itemsize, rows * length, addr(sub), rows, length, *head[4:]]
        _run(k, head_piece, 0, stream, (out, sub, params), task_count(rows, length))


def _run(k, head: list, out_at: int, stream: int, keep: tuple, tasks: int) -> None:
    """One kernel run of ``tasks`` tasks over ``head`` (output, size, runs, key, stream, distribution,
    parameters); ``keep`` holds the arrays it addresses until every task is stored."""
    n = head[A_N_OUT]
    t = thread
    nested = t.busy
    s = CallState() if nested else t.state
    t.busy = True
    try:
        helpers = min(num_threads() - 1, tasks - 1) if n >= PARALLEL_FROM and not nested else 0
        if helpers <= 0:
            status = call(k.run, [*head, s.work_for(1 + tasks), 1 + tasks, 0, 0, out_at, stream], 2, s)
        else:
            work = np.zeros(1 + tasks, np.int64)
            vals = [*head, addr(work), 1 + tasks, 0, 0, out_at, stream]  # scratch and finish: per thread
            pool = get_pool()
            job = pool.offer(k.run, vals, helpers, (*keep, work))
            try:
                try:
                    status = call(k.run, list(vals), 1, s)
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
