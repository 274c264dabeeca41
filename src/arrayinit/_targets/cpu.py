"""CPU target: parallel Numba loops over the shared samplers.

Only launch, loop and store live here. The work is cut into chunks of at most
``CHUNK`` consecutive elements of one row of the block; each chunk draws its
Philox blocks into a small buffer, transforms them into a float buffer and
stores them in the output format. Each phase is a simple loop that LLVM
vectorises, and the buffers are O(threads * CHUNK): no full-size temporary.

Thread safety and fork safety are handled in ``arrayinit._engine``.
"""

import sys
import types
import warnings

import numpy as np
from numba import njit, prange

from arrayinit._kernels.floats import bf16_bits, f16_bits, wide_word
from arrayinit._kernels.philox import philox_block
from arrayinit._kernels.samplers import (
    normal32,
    normal64,
    truncnorm32,
    truncnorm32_central,
    truncnorm64,
    uniform32,
    uniform64,
)
from arrayinit._plan import NORMAL, STORE_BF16, STORE_F16, TRUNCNORM_CENTRAL, UNIFORM

CHUNK = 4096


def _jit(fn, parallel=True):
    """``njit(cache=True)``, or without the cache when no cache directory is
    writable (a read-only install)."""
    try:
        return njit(parallel=parallel, cache=True, fastmath=False)(fn)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return njit(parallel=parallel, cache=False, fastmath=False)(fn)


def _parallel_jit(fn):
    return _jit(fn, parallel=True)


def _serial_jit(fn):
    """The same loop compiled without threads, cached under its own name.

    numba keys its cache by the function's qualified name, so the serial twin
    is a copy of the function with a ``_serial`` suffix.
    """
    name = fn.__name__ + "_serial"
    code = fn.__code__.replace(co_name=name)
    if sys.version_info >= (3, 11):
        code = code.replace(co_qualname=name)
    twin = types.FunctionType(code, fn.__globals__, name, fn.__defaults__, fn.__closure__)
    twin.__qualname__ = name
    return _jit(twin, parallel=False)


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
        for i in range(n):
            vals[i] = normal32(words[i], p[4], p[5])
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
    else:
        for i in range(n):
            vals[i] = truncnorm64(wide_word(hi[i], lo[i]), p[0], p[1], p[2], p[4], p[5], p[6], p[7])


def _fill32_impl(out, kind, starts, row_len, k0, k1, s0, s1, dist, params):
    cpr = (row_len + CHUNK - 1) // CHUNK
    for c in prange(starts.shape[0] * cpr):
        row, j0, n = _chunk(c, cpr, row_len)
        words = np.empty(n + 8, np.uint32)
        off = _draw(words, starts[row] + j0, n, k0, k1, s0, s1)
        vals = np.empty(n, np.float32)
        _transform32(vals, words[off : off + n], dist, params)
        o0 = row * row_len + j0
        _store(out[o0 : o0 + n], vals, kind)


def _fill64_impl(out, kind, starts, row_len, k0, k1, s0, s1, wide, dist, params):
    cpr = (row_len + CHUNK - 1) // CHUNK
    s0_lo = s0
    s1_lo = s1 ^ np.uint64(0x80000000)  # stream s ^ 2**63
    for c in prange(starts.shape[0] * cpr):
        row, j0, n = _chunk(c, cpr, row_len)
        g0 = starts[row] + j0
        hi = np.empty(n + 8, np.uint32)
        off = _draw(hi, g0, n, k0, k1, s0, s1)
        lo = np.zeros(n + 8, np.uint32)
        if wide:
            _draw(lo, g0, n, k0, k1, s0_lo, s1_lo)
        vals = np.empty(n, np.float64)
        _transform64(vals, hi[off : off + n], lo[off : off + n], dist, params)
        o0 = row * row_len + j0
        _store(out[o0 : o0 + n], vals, kind)


def _bits_impl(out, starts, row_len, k0, k1, s0, s1):
    cpr = (row_len + CHUNK - 1) // CHUNK
    for c in prange(starts.shape[0] * cpr):
        row, j0, n = _chunk(c, cpr, row_len)
        words = np.empty(n + 8, np.uint32)
        off = _draw(words, starts[row] + j0, n, k0, k1, s0, s1)
        o0 = row * row_len + j0
        _copy(out[o0 : o0 + n], words[off : off + n])


fill32 = _parallel_jit(_fill32_impl)
fill64 = _parallel_jit(_fill64_impl)
bits = _parallel_jit(_bits_impl)

# Serial twins: for small blocks (a parallel launch costs more than the work)
# and for processes forked after the parallel runtime started (GNU OpenMP
# cannot run parallel regions in such a child).
fill32_serial = _serial_jit(_fill32_impl)
fill64_serial = _serial_jit(_fill64_impl)
bits_serial = _serial_jit(_bits_impl)
