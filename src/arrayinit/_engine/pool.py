"""The helper threads of CPU runs, and each thread's kernel call state.

Helpers take tasks of a run offered to them (newest first) from its shared
counter; the calling thread finishes every task no helper has stored. A
forked child starts without helpers and makes its own. The number of threads
follows numba's (``NUMBA_NUM_THREADS``, or ``numba.set_num_threads`` in the
calling thread) without importing numba.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import struct
import sys
import threading

import numpy as np

from arrayinit import _locks
from arrayinit._engine.args import addr
from arrayinit._kernels.abi import A_FINISH, A_SCRATCH, ARGS, SCRATCH_WORDS

# from this many elements on, helper threads are offered part of the work
PARALLEL_FROM = 1 << 17

ARGS_BLOCK = struct.Struct(f"<{ARGS}q")


class CallState:
    """A kernel call's argument block and scratch, and a work array for calls run by one thread."""

    __slots__ = ("args", "args_addr", "scratch", "scratch_addr", "work", "work_addr")

    def __init__(self) -> None:
        self.args = ctypes.create_string_buffer(ARGS_BLOCK.size)
        self.args_addr = ctypes.addressof(self.args)
        self.scratch = np.empty(SCRATCH_WORDS // 2, np.uint64)  # 8-byte aligned
        self.scratch_addr = addr(self.scratch)
        self.work = np.empty(0, np.int64)
        self.work_addr = 0

    def work_for(self, n: int) -> int:
        """Address of the work array of at least ``n`` slots (the kernel zeroes what it uses)."""
        if self.work.shape[0] < n:
            self.work = np.empty(max(n, 64), np.int64)
            self.work_addr = addr(self.work)
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
        self.state = CallState()
        self.busy = False


thread = _ThreadState()


def call(kernel, vals: list, finish: int, s: CallState) -> int:
    """Runs ``kernel`` with the argument block ``vals`` on the scratch of ``s`` (``finish`` set here)."""
    vals[A_SCRATCH] = s.scratch_addr
    vals[A_FINISH] = finish
    ARGS_BLOCK.pack_into(s.args, 0, *vals)
    return kernel(s.args_addr)


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
        thread.busy = True
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
                call(job.kernel, list(job.args), 0, thread.state)
            with self._cv:
                job.running -= 1
            del job


_pool: _Pool | None = None
_pool_lock = threading.Lock()


def get_pool() -> _Pool:
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
