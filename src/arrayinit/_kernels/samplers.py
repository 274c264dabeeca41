"""Per-element samplers: one stream word in, one float out.

These are the distributions of the stream contract (docs/stream-contract.md).
Each is an inverse-CDF transform of the element's own word, so the value of
element ``g`` never depends on any other element. Every target (CPU loop,
CUDA thread) calls exactly these functions.

Parameters come precomputed from the plan (see ``arrayinit._plan``): the
kernels never evaluate ``erf`` or divide by user parameters.
"""

import numpy as np
from numba import njit

from arrayinit._kernels.floats import open_unit_f32, open_unit_f64, unit_f32, unit_f64
from arrayinit._kernels.ops import fma, mul
from arrayinit._kernels.special import (
    ndtri32,
    ndtri32_central,
    ndtri64,
    ndtri_lower32,
    ndtri_lower64,
)

_U32_LOW31 = np.uint32(0x7FFFFFFF)
_U32_SIGN = np.uint32(0x80000000)
_U32_ONE = np.uint32(1)
_U64_LOW63 = np.uint64(0x7FFFFFFFFFFFFFFF)
_U64_SIGN = np.uint64(0x8000000000000000)
_U64_ONE = np.uint64(1)
_F32_2M33 = np.float32(2.0**-33)
_F64_2M65 = np.float64(2.0**-65)


@njit
def clamp(x, lo, hi):
    """``x`` limited to ``[lo, hi]`` (``lo <= hi``)."""
    return min(max(x, lo), hi)


# --- float32 arithmetic: outputs of 32 bits or fewer ------------------------


@njit
def uniform32(w, lo, scale, clo, chi):
    """``lo + u * scale`` with ``u = (w >> 8) * 2**-24``, kept inside ``[clo, chi]``."""
    return clamp(fma(unit_f32(w), scale, lo), clo, chi)


@njit
def std_normal32(w):
    """Standard normal: the top bit is the sign, the other 31 the tail probability.

    ``q = (2 * (w & 0x7fffffff) + 1) * 2**-33`` lies in ``(0, 1/2]``, so the
    value reaches about 6.4 standard deviations and is never infinite.
    """
    r = np.uint32(w) & _U32_LOW31
    q = mul(np.float32(r + r + _U32_ONE), _F32_2M33)
    z = ndtri_lower32(q)
    if (np.uint32(w) & _U32_SIGN) != 0:
        z = -z
    return z


@njit
def normal32(w, mean, std):
    return fma(std, std_normal32(w), mean)


@njit
def truncnorm32(w, pa, pw, sgn, mean, std, clo, chi):
    """Truncated normal by inversion: ``sgn * ndtri(pa + u * pw)``, u in (0, 1).

    ``pa`` and ``pw`` are ``Phi(a)`` and ``Phi(b) - Phi(a)`` of the standardised
    bounds, taken in the lower tail (``sgn = -1`` mirrors bounds that lie in the
    upper tail), so far-tail bounds keep their precision.
    """
    z = mul(sgn, ndtri32(fma(open_unit_f32(w), pw, pa)))
    return clamp(fma(std, z, mean), clo, chi)


@njit
def truncnorm32_central(w, pa, pw, sgn, mean, std, clo, chi):
    """``truncnorm32`` for bounds within about 2.9 standard deviations."""
    z = mul(sgn, ndtri32_central(fma(open_unit_f32(w), pw, pa)))
    return clamp(fma(std, z, mean), clo, chi)


# --- float64 arithmetic: float64 outputs, far-tail truncation ---------------


@njit
def uniform64(w64, lo, scale, clo, chi):
    """``lo + u * scale`` with ``u = (w64 >> 11) * 2**-53``, kept inside ``[clo, chi]``."""
    return clamp(fma(unit_f64(w64), scale, lo), clo, chi)


@njit
def std_normal64(w64):
    """Standard normal from a 64-bit word: sign bit and a 63-bit tail probability."""
    r = np.uint64(w64) & _U64_LOW63
    q = mul(np.float64(r + r + _U64_ONE), _F64_2M65)
    z = ndtri_lower64(q)
    if (np.uint64(w64) & _U64_SIGN) != 0:
        z = -z
    return z


@njit
def normal64(w64, mean, std):
    return fma(std, std_normal64(w64), mean)


@njit
def truncnorm64(w64, pa, pw, sgn, mean, std, clo, chi):
    z = mul(sgn, ndtri64(fma(open_unit_f64(w64), pw, pa)))
    return clamp(fma(std, z, mean), clo, chi)
