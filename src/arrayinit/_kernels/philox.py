"""Philox4x32-10, the bit source of every arrayinit stream.

Reference: J. K. Salmon, M. A. Moraes, R. O. Dror, D. E. Shaw, "Parallel random
numbers: as easy as 1, 2, 3", SC'11 (2011); constants from Random123 (philox.h).

The 32-bit lanes are held in uint64 values; the 32x32->64 products go through
``mulhilo32``: one uint64 multiply of zero-extended operands on the CPU (which
LLVM vectorises as ``vpmuludq``), ``mul.lo.u32``/``mul.hi.u32`` on CUDA.
"""

import numpy as np
from numba import njit

from arrayinit._kernels.ops import mulhilo32

# Philox 4x32 multipliers and Weyl key increments, from Random123 (philox.h).
PHILOX_M0 = np.uint64(0xD2511F53)
PHILOX_M1 = np.uint64(0xCD9E8D57)
PHILOX_W0 = np.uint64(0x9E3779B9)
PHILOX_W1 = np.uint64(0xBB67AE85)
MASK32 = np.uint64(0xFFFFFFFF)
SHIFT32 = np.uint64(32)


@njit
def _round(c0, c1, c2, c3, k0, k1):
    hi0, lo0 = mulhilo32(PHILOX_M0, c0)
    hi1, lo1 = mulhilo32(PHILOX_M1, c2)
    return hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0


@njit(inline="always")
def philox4x32_10(c0, c1, c2, c3, k0, k1):
    """Ten Philox4x32 rounds on counter ``(c0, c1, c2, c3)`` with key ``(k0, k1)``.

    All arguments and results are uint64 values below ``2**32``. The rounds
    are written out so that the element loops around this function are
    innermost loops, which LLVM vectorises.
    """
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0, k1)
    k0, k1 = (k0 + PHILOX_W0) & MASK32, (k1 + PHILOX_W1) & MASK32
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0, k1)
    k0, k1 = (k0 + PHILOX_W0) & MASK32, (k1 + PHILOX_W1) & MASK32
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0, k1)
    k0, k1 = (k0 + PHILOX_W0) & MASK32, (k1 + PHILOX_W1) & MASK32
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0, k1)
    k0, k1 = (k0 + PHILOX_W0) & MASK32, (k1 + PHILOX_W1) & MASK32
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0, k1)
    k0, k1 = (k0 + PHILOX_W0) & MASK32, (k1 + PHILOX_W1) & MASK32
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0, k1)
    k0, k1 = (k0 + PHILOX_W0) & MASK32, (k1 + PHILOX_W1) & MASK32
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0, k1)
    k0, k1 = (k0 + PHILOX_W0) & MASK32, (k1 + PHILOX_W1) & MASK32
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0, k1)
    k0, k1 = (k0 + PHILOX_W0) & MASK32, (k1 + PHILOX_W1) & MASK32
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0, k1)
    k0, k1 = (k0 + PHILOX_W0) & MASK32, (k1 + PHILOX_W1) & MASK32
    return _round(c0, c1, c2, c3, k0, k1)


@njit(inline="always")
def philox_block(block, k0, k1, s0, s1):
    """The four words of counter block ``block`` (uint64) of stream ``(s0, s1)``.

    This is the counter layout of the stream contract:
    ``(block & 0xffffffff, block >> 32, stream & 0xffffffff, stream >> 32)``.
    """
    return philox4x32_10(block & MASK32, block >> SHIFT32, s0, s1, k0, k1)


@njit
def select_lane(x0, x1, x2, x3, lane):
    """Word ``lane`` (0..3) of a Philox block."""
    if lane == 0:
        return x0
    if lane == 1:
        return x1
    if lane == 2:
        return x2
    return x3
