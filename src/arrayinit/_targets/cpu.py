"""CPU target: Numba loops over the shared samplers, run by the engine's threads.

Only launch, loop and store live here. The work is cut into chunks of at most
``CHUNK`` consecutive elements of one row of the block; each chunk draws its
Philox blocks into a small buffer and transforms them into a float buffer,
which is then stored in the output format. Each phase is a simple loop that
LLVM vectorises, and the buffers are O(CHUNK) per thread: no full-size
temporary.

Every kernel is compiled once, serial and ``nogil``, and is run at the same
time by the calling thread and by helper threads of ``arrayinit._engine``.
They share a ``work`` array (int64): ``work[0]`` counts the tasks handed out,
``work[1 + t]`` is the state of task ``t`` (``FREE``, ``STORING``, ``DONE``).
A task is a run of chunks of at most ``CHUNK`` elements in all, contiguous in
the output. Each thread takes the next task from the counter, computes it into
its own buffers, and stores it only if it wins the task's ``FREE -> STORING``
exchange. The calling thread (``finish=True``) then computes every task still
``FREE`` itself (a helper that took it may be descheduled), so no call waits
for a slow helper except during a store it has begun. The values never depend
on which thread computed them.
"""

import contextlib
import functools
import hashlib
import os
import pathlib

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.core import config as numba_config
from numba.core.caching import CompileResultCacheImpl, FunctionCache, _CacheLocator
from numba.extending import intrinsic

from arrayinit._kernels.floats import bf16_bits, f16_bits, wide_word
from arrayinit._kernels.ops import fma
from arrayinit._kernels.philox import philox_block
from arrayinit._kernels.samplers import (
    is_normal_tail32,
    normal64,
    std_normal32_central,
    std_normal32_tail,
    truncnorm32,
    truncnorm32_central,
    truncnorm32_window,
    truncnorm64,
    truncnorm_local64,
    uniform32,
    uniform64,
    uniform_rel64,
)
from arrayinit._plan import (
    NORMAL,
    STORE_BF16,
    STORE_F16,
    TRUNCNORM_CENTRAL,
    TRUNCNORM_LOCAL,
    TRUNCNORM_WINDOW,
    UNIFORM,
    UNIFORM_REL,
)

CHUNK = 4096


# --- the kernel cache ---------------------------------------------------------
#
# numba's own cache is keyed by the source of the jitted function's file only,
# so an edited callee (a constant in ``_kernels/floats.py``) or an upgrade that
# leaves old ``.nbi``/``.nbc`` files behind would run old machine code. The
# kernels are cached under a key of their own instead: the package version and
# a hash of every source file the compiled code depends on.

_PACKAGE = pathlib.Path(__file__).resolve().parent.parent
_KERNEL_SOURCES = ("_kernels/*.py", "_targets/cpu.py", "_plan.py")


def kernel_sources() -> list[pathlib.Path]:
    """The files whose contents the compiled CPU kernels depend on."""
    return sorted({f for pattern in _KERNEL_SOURCES for f in _PACKAGE.glob(pattern)})


@functools.lru_cache(maxsize=1)
def cache_key() -> str:
    """``<package version>-<sha256 of the kernel sources>``: the stamp of every cached kernel."""
    from arrayinit import __version__

    h = hashlib.sha256()
    for f in kernel_sources():
        h.update(f.relative_to(_PACKAGE).as_posix().encode() + b"\0")
        h.update(f.read_bytes() + b"\0")
    return f"{__version__}-{h.hexdigest()}"


class _KeyedLocator(_CacheLocator):
    """Caches a kernel in ``directory()``, stamped with ``cache_key()``.

    A cache whose stamp differs (other sources, another version) is treated by
    numba as empty and overwritten, so old machine code is never loaded.
    """

    def __init__(self, py_func, py_file):
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = self.directory(py_file)

    @classmethod
    def directory(cls, py_file: str) -> str:
        raise NotImplementedError

    def get_cache_path(self) -> str:
        return self._cache_path

    def get_source_stamp(self) -> str:
        return cache_key()

    def get_disambiguator(self) -> str:
        return str(self._lineno)

    @classmethod
    def from_function(cls, py_func, py_file):
        try:
            self = cls(py_func, py_file)
            if self._cache_path is None:
                return None
            self.ensure_cache_path()
        except OSError:  # not creatable or not writable
            return None
        return self


class _UserProvidedLocator(_KeyedLocator):
    """``$NUMBA_CACHE_DIR/arrayinit-<install>`` when the user set it (numba's own rule)."""

    @classmethod
    def directory(cls, py_file):
        if not numba_config.CACHE_DIR:
            return None
        return os.path.join(numba_config.CACHE_DIR, "arrayinit-" + cls.get_suitable_cache_subpath(py_file))


class _InTreeLocator(_KeyedLocator):
    """``__pycache__/kernels`` next to this file (a writable install)."""

    @classmethod
    def directory(cls, py_file):
        return os.path.join(os.path.dirname(py_file), "__pycache__", "kernels")


class _UserWideLocator(_KeyedLocator):
    """The per-user cache directory (``~/.cache/arrayinit/...``): read-only installs."""

    @classmethod
    def directory(cls, py_file):
        from numba.misc.appdirs import AppDirs

        base = AppDirs(appname="arrayinit", appauthor=False).user_cache_dir
        return os.path.join(base, cls.get_suitable_cache_subpath(py_file))


class _KeyedCacheImpl(CompileResultCacheImpl):
    _locator_classes: list[type[object]] = [_UserProvidedLocator, _InTreeLocator, _UserWideLocator]  # noqa: RUF012


class _KeyedFunctionCache(FunctionCache):
    _impl_class = _KeyedCacheImpl


def _jit(fn):
    """``njit(nogil=True)`` with the keyed cache, or without a cache when no
    cache directory is writable (compiled in memory in every process)."""
    disp = njit(nogil=True, fastmath=False)(fn)
    with contextlib.suppress(RuntimeError):  # "cannot cache function ...: no locator available"
        disp._cache = _KeyedFunctionCache(disp.py_func)
    return disp


# --- atomics on the int64 ``work`` array (x86-64 and aarch64: lock-free) -------

FREE = 0
STORING = 1
DONE = 2


def _work_slot(context, builder, signature, args):
    aryty = signature.args[0]
    ary = context.make_array(aryty)(context, builder, args[0])
    idx = context.cast(builder, args[1], signature.args[1], types.intp)
    return cgutils.get_item_pointer(context, builder, aryty, ary, [idx], wraparound=False)


def _is_work(arr, i) -> bool:
    return isinstance(arr, types.Array) and arr.dtype == types.int64 and isinstance(i, types.Integer)


@intrinsic
def _fetch_add(typingctx, arr, i, v):
    """``work[i] += v`` atomically; returns the old value."""
    if _is_work(arr, i) and isinstance(v, types.Integer):

        def codegen(context, builder, signature, args):
            val = context.cast(builder, args[2], signature.args[2], types.int64)
            return builder.atomic_rmw("add", _work_slot(context, builder, signature, args), val, "seq_cst")

        return types.int64(arr, i, v), codegen
    return None


@intrinsic
def _load(typingctx, arr, i):
    """``work[i]``, an atomic load."""
    if _is_work(arr, i):

        def codegen(context, builder, signature, args):
            return builder.load_atomic(_work_slot(context, builder, signature, args), "seq_cst", 8)

        return types.int64(arr, i), codegen
    return None


@intrinsic
def _store_done(typingctx, arr, i):
    """``work[i] = DONE``, an atomic store (every earlier store is visible first)."""
    if _is_work(arr, i):

        def codegen(context, builder, signature, args):
            done = ir.Constant(ir.IntType(64), DONE)
            builder.store_atomic(done, _work_slot(context, builder, signature, args), "seq_cst", 8)
            return context.get_dummy_value()

        return types.none(arr, i), codegen
    return None


@intrinsic
def _begin_store(typingctx, arr, i):
    """``FREE -> STORING`` on ``work[i]``; True when this thread won the task."""
    if _is_work(arr, i):

        def codegen(context, builder, signature, args):
            i64 = ir.IntType(64)
            ptr = _work_slot(context, builder, signature, args)
            res = builder.cmpxchg(ptr, ir.Constant(i64, FREE), ir.Constant(i64, STORING), "seq_cst", "seq_cst")
            return builder.extract_value(res, 1)

        return types.boolean(arr, i), codegen
    return None


def task_count(n_rows: int, row_len: int) -> int:
    """Number of tasks of a block of ``n_rows`` runs of ``row_len`` elements (mirrors ``_tasks``)."""
    cpr = -(-row_len // CHUNK)
    per = max(1, CHUNK // row_len) if cpr == 1 else 1
    return -(-(n_rows * cpr) // per)


@njit
def _tasks(n_rows, row_len):
    """(chunks per row, chunks in all, chunks per task, tasks)."""
    cpr = (row_len + CHUNK - 1) // CHUNK
    total = n_rows * cpr
    per = max(1, CHUNK // row_len) if cpr == 1 else 1
    return cpr, total, per, (total + per - 1) // per


@njit
def _claim(work, ntasks, finish, scan):
    """The next task of this thread and the new scan position.

    From the shared counter first (``scan < 0``); when it is exhausted, the
    finishing thread takes every task still ``FREE`` in turn.
    """
    if scan < 0:
        t = _fetch_add(work, 0, 1)
        if t < ntasks:
            return t, -1
        if not finish:
            return ntasks, ntasks
        scan = 0
    while scan < ntasks and _load(work, 1 + scan) != FREE:
        scan += 1
    return scan, scan + 1


@njit
def pending(work):
    """Number of tasks not yet ``DONE``."""
    k = 0
    for t in range(work.shape[0] - 1):
        if _load(work, 1 + t) != DONE:
            k += 1
    return k


@njit
def _draw(buf, g0, n, k0, k1, s0, s1):
    """Words of elements ``g0 .. g0+n-1`` into ``buf`` starting at ``g0 & 3``.

    Whole Philox blocks are drawn (the first and last may be partly outside
    the range); the return value is the position of element ``g0`` in ``buf``.
    Index arithmetic stays in int64 (``g0 < 2**63``) so the block loop has a
    plain trip count and vectorises.
    """
    b0 = g0 >> 2
    nb = ((g0 + n - 1) >> 2) - b0 + 1
    for j in range(nb):
        x0, x1, x2, x3 = philox_block(np.uint64(b0 + j), k0, k1, s0, s1)
        buf[4 * j] = np.uint32(x0)
        buf[4 * j + 1] = np.uint32(x1)
        buf[4 * j + 2] = np.uint32(x2)
        buf[4 * j + 3] = np.uint32(x3)
    return g0 & 3


# Loops index slices from 0 so that LLVM sees non-negative, unit-stride
# indices and vectorises them (an ``a[k + i]`` index with an unknown ``k``
# keeps numba's negative-index wraparound and blocks vectorisation).


@njit
def _store(out, vals, kind):
    n = vals.shape[0]
    if kind == STORE_BF16:
        for i in range(n):
            out[i] = bf16_bits(vals[i])
    elif kind == STORE_F16:
        for i in range(n):
            out[i] = f16_bits(vals[i])
    else:
        for i in range(n):
            out[i] = vals[i]


@njit
def _chunk(c, cpr, row_len):
    """Chunk ``c`` -> (row, first index in the row, length); ``cpr`` chunks per row."""
    row = c // cpr
    j0 = (c - row * cpr) * CHUNK
    return row, j0, min(CHUNK, row_len - j0)


@njit
def _copy(dst, src):
    for i in range(dst.shape[0]):
        dst[i] = src[i]


@njit
def _transform32(vals, words, dist, p):
    n = vals.shape[0]
    if dist == UNIFORM:
        for i in range(n):
            vals[i] = uniform32(words[i], p[0], p[1], p[6], p[7])
    elif dist == NORMAL:
        # normal32 in passes that vectorise: the log-free central window for every word,
        # then the 4.5% of tail words gathered, transformed together and put back
        for i in range(n):
            vals[i] = fma(p[5], std_normal32_central(words[i]), p[4])
        where = np.empty(n, np.int32)
        k = 0
        for i in range(n):
            if is_normal_tail32(words[i]):
                where[k] = i
                k += 1
        tail_words = np.empty(k, np.uint32)
        for j in range(k):
            tail_words[j] = words[where[j]]
        tail_vals = np.empty(k, np.float32)
        for j in range(k):
            tail_vals[j] = fma(p[5], std_normal32_tail(tail_words[j]), p[4])
        for j in range(k):
            vals[where[j]] = tail_vals[j]
    elif dist == TRUNCNORM_WINDOW:
        for i in range(n):
            vals[i] = truncnorm32_window(words[i], p[0], p[1], p[4], p[5], p[6], p[7])
    elif dist == TRUNCNORM_CENTRAL:
        for i in range(n):
            vals[i] = truncnorm32_central(words[i], p[0], p[1], p[2], p[4], p[5], p[6], p[7])
    else:
        for i in range(n):
            vals[i] = truncnorm32(words[i], p[0], p[1], p[2], p[4], p[5], p[6], p[7])


@njit
def _transform64(vals, hi, lo, dist, p):
    n = vals.shape[0]
    if dist == UNIFORM:
        for i in range(n):
            vals[i] = uniform64(wide_word(hi[i], lo[i]), p[0], p[1], p[6], p[7])
    elif dist == NORMAL:
        for i in range(n):
            vals[i] = normal64(wide_word(hi[i], lo[i]), p[4], p[5])
    elif dist == UNIFORM_REL:
        for i in range(n):
            vals[i] = uniform_rel64(wide_word(hi[i], lo[i]), p[0], p[1], p[2], p[6], p[7])
    elif dist == TRUNCNORM_LOCAL:
        for i in range(n):
            w64 = wide_word(hi[i], lo[i])
            vals[i] = truncnorm_local64(w64, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11])
    else:
        for i in range(n):
            vals[i] = truncnorm64(wide_word(hi[i], lo[i]), p[0], p[1], p[2], p[4], p[5], p[6], p[7])


def _fill32(out, kind, starts, row_len, k0, k1, s0, s1, dist, params, work, finish):
    cpr, total, per, ntasks = _tasks(starts.shape[0], row_len)
    words = np.empty(CHUNK + 8, np.uint32)
    vals = np.empty(CHUNK, np.float32)
    t, scan = _claim(work, ntasks, finish, -1)
    while t < ntasks:
        pos = 0
        o0 = -1
        for c in range(t * per, min(t * per + per, total)):
            row, j0, n = _chunk(c, cpr, row_len)
            if o0 < 0:
                o0 = row * row_len + j0
            off = _draw(words, starts[row] + j0, n, k0, k1, s0, s1)
            _transform32(vals[pos : pos + n], words[off : off + n], dist, params)
            pos += n
        if _begin_store(work, 1 + t):
            _store(out[o0 : o0 + pos], vals[:pos], kind)
            _store_done(work, 1 + t)
        t, scan = _claim(work, ntasks, finish, scan)


def _fill64(out, kind, starts, row_len, k0, k1, s0, s1, wide, dist, params, work, finish):
    cpr, total, per, ntasks = _tasks(starts.shape[0], row_len)
    s1_lo = s1 ^ np.uint64(0x80000000)  # stream s ^ 2**63
    hi = np.empty(CHUNK + 8, np.uint32)
    lo = np.zeros(CHUNK + 8, np.uint32)
    vals = np.empty(CHUNK, np.float64)
    t, scan = _claim(work, ntasks, finish, -1)
    while t < ntasks:
        pos = 0
        o0 = -1
        for c in range(t * per, min(t * per + per, total)):
            row, j0, n = _chunk(c, cpr, row_len)
            if o0 < 0:
                o0 = row * row_len + j0
            g0 = starts[row] + j0
            off = _draw(hi, g0, n, k0, k1, s0, s1)
            if wide:
                _draw(lo, g0, n, k0, k1, s0, s1_lo)
            _transform64(vals[pos : pos + n], hi[off : off + n], lo[off : off + n], dist, params)
            pos += n
        if _begin_store(work, 1 + t):
            _store(out[o0 : o0 + pos], vals[:pos], kind)
            _store_done(work, 1 + t)
        t, scan = _claim(work, ntasks, finish, scan)


def _bits(out, starts, row_len, k0, k1, s0, s1, work, finish):
    cpr, total, per, ntasks = _tasks(starts.shape[0], row_len)
    words = np.empty(CHUNK + 8, np.uint32)
    vals = np.empty(CHUNK, np.uint32)
    t, scan = _claim(work, ntasks, finish, -1)
    while t < ntasks:
        pos = 0
        o0 = -1
        for c in range(t * per, min(t * per + per, total)):
            row, j0, n = _chunk(c, cpr, row_len)
            if o0 < 0:
                o0 = row * row_len + j0
            off = _draw(words, starts[row] + j0, n, k0, k1, s0, s1)
            _copy(vals[pos : pos + n], words[off : off + n])
            pos += n
        if _begin_store(work, 1 + t):
            _copy(out[o0 : o0 + pos], vals[:pos])
            _store_done(work, 1 + t)
        t, scan = _claim(work, ntasks, finish, scan)


# ``kernel(*args, work, finish)``: run by the calling thread (finish=True) and
# by the engine's helper threads (finish=False) on the same ``work`` array.
fill32 = _jit(_fill32)
fill64 = _jit(_fill64)
bits = _jit(_bits)
