"""Bits <-> floats: unit-interval conversions, bit casts, 16-bit rounding.

Every function here takes and returns scalars and uses integer operations and
exactly rounded float operations only, so that the CPU and CUDA targets agree
bit for bit.
"""

import numpy as np
from numba import njit

from arrayinit._kernels.ops import add, fma, mul, sub

_F32_2M24 = np.float32(2.0**-24)
_F32_2M23 = np.float32(2.0**-23)
_F32_HALF = np.float32(0.5)
_F64_2M53 = np.float64(2.0**-53)
_F64_2M52 = np.float64(2.0**-52)
_F64_2M32 = np.float64(2.0**-32)
_F64_HALF = np.float64(0.5)

_U32_8 = np.uint32(8)
_U32_9 = np.uint32(9)
_U32_11 = np.uint32(11)
_U64_12 = np.uint64(12)
_U64_32 = np.uint64(32)
_U64_LOW32 = np.uint64(0xFFFFFFFF)
_U64_EXP52 = np.uint64(0x4330000000000000)  # the bits of 2**52
_F64_2P52 = np.float64(2.0**52)


@njit
def f32_bits(x):
    """The IEEE-754 bit pattern of a float32 as uint32."""
    return np.float32(x).view(np.uint32)


@njit
def f32_from_bits(b):
    """The float32 whose bit pattern is the uint32 ``b``."""
    return np.uint32(b).view(np.float32)


@njit
def f64_bits(x):
    """The IEEE-754 bit pattern of a float64 as uint64."""
    return np.float64(x).view(np.uint64)


@njit
def f64_from_bits(b):
    """The float64 whose bit pattern is the uint64 ``b``."""
    return np.uint64(b).view(np.float64)


@njit
def wide_word(w, w_lo):
    """The 64-bit word of a float64 element: ``(w << 32) | w_lo``."""
    return (np.uint64(w) << _U64_32) | np.uint64(w_lo)


@njit
def unit_f32(w):
    """uint32 -> float32 in [0, 1): ``(w >> 8) * 2**-24`` (exact)."""
    return mul(np.float32(np.uint32(w) >> _U32_8), _F32_2M24)


@njit
def open_unit_f32(w):
    """uint32 -> float32 in (0, 1): ``((w >> 9) + 0.5) * 2**-23`` (exact).

    The largest value is ``1 - 2**-24``; ``(w >> 8) + 0.5`` would need 25 bits
    and round to 1.
    """
    return mul(add(np.float32(np.uint32(w) >> _U32_9), _F32_HALF), _F32_2M23)


@njit
def unit_f64(w64):
    """uint64 -> float64 in [0, 1): ``(w64 >> 11) * 2**-53`` (exact).

    Evaluated as ``(w64 >> 32) 2**-32 + ((w64 & 0xffffffff) >> 11) 2**-53``:
    32-bit conversions and one exact fused multiply-add, which vectorise
    everywhere (x86-64 has no vector uint64 conversion before AVX-512).
    """
    w = np.uint64(w64)
    hi = np.float64(np.uint32(w >> _U64_32))
    lo = np.float64(np.int32(np.uint32(w & _U64_LOW32) >> _U32_11))
    return fma(hi, _F64_2M32, mul(lo, _F64_2M53))


@njit
def u52_to_f64(k):
    """A uint64 ``k < 2**52`` as float64 (exact): ``2**52 + k`` from its bit pattern, minus ``2**52``.

    The same value as a conversion instruction, in two operations that
    vectorise everywhere (x86-64 has no vector uint64 conversion before AVX-512).
    """
    return sub(f64_from_bits(np.uint64(k) | _U64_EXP52), _F64_2P52)


@njit
def open_unit_f64(w64):
    """uint64 -> float64 in (0, 1): ``((w64 >> 12) + 0.5) * 2**-52`` (exact)."""
    return mul(add(u52_to_f64(np.uint64(w64) >> _U64_12), _F64_HALF), _F64_2M52)


@njit
def bf16_bits(x):
    """float32 -> bfloat16 bit pattern (uint16), round to nearest even.

    NaN inputs give a quiet NaN; values past the largest bfloat16 give +-inf.
    """
    b = f32_bits(x)
    if (b & np.uint32(0x7FFFFFFF)) > np.uint32(0x7F800000):
        return np.uint16((b >> np.uint32(16)) | np.uint32(0x0040))
    lsb = (b >> np.uint32(16)) & np.uint32(1)
    return np.uint16((b + np.uint32(0x7FFF) + lsb) >> np.uint32(16))


@njit
def f16_bits(x):
    """float32 -> float16 bit pattern (uint16), round to nearest even.

    Handles subnormal results, overflow to +-inf and NaN with integer
    operations only (numba cannot cast to float16 on the CPU).
    """
    b = f32_bits(x)
    sign = (b >> np.uint32(16)) & np.uint32(0x8000)
    a = b & np.uint32(0x7FFFFFFF)
    if a > np.uint32(0x7F800000):
        h = np.uint32(0x7E00)
    elif a >= np.uint32(0x477FF000):
        # |x| >= 65520 = 65504 + half an ulp: rounds to infinity.
        h = np.uint32(0x7C00)
    elif a >= np.uint32(0x38800000):
        # Normal float16: rebias the exponent (127 -> 15) and round 13 bits away.
        h = (a - np.uint32(0x38000000)) >> np.uint32(13)
        rem = a & np.uint32(0x1FFF)
        up = (rem > np.uint32(0x1000)) | ((rem == np.uint32(0x1000)) & ((h & np.uint32(1)) == 1))
        h = h + np.uint32(up)
    elif a >= np.uint32(0x33000000):
        # Subnormal float16 (units of 2**-24): significand shifted right.
        e = a >> np.uint32(23)
        m = (a & np.uint32(0x007FFFFF)) | np.uint32(0x00800000)
        shift = np.uint32(126) - e
        h = m >> shift
        rem = m & ((np.uint32(1) << shift) - np.uint32(1))
        half = np.uint32(1) << (shift - np.uint32(1))
        up = (rem > half) | ((rem == half) & ((h & np.uint32(1)) == 1))
        h = h + np.uint32(up)
    else:
        h = np.uint32(0)
    return np.uint16(h | sign)
