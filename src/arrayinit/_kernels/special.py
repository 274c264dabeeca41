"""log and the inverse normal CDF from +, -, *, /, sqrt and integer operations.

No libm call appears here: the CPU loops vectorise, and the CUDA target
computes the same floats as the CPU.

Sources of the constants
------------------------
- ``log32``: the polynomial and the split of ln 2 of Cephes ``logf``
  (S. L. Moshier, Cephes Math Library, ``single/logf.c``).
- ``log64``: the coefficients ``Lg1..Lg7`` and the split of ln 2 of fdlibm
  ``e_log.c`` (Sun Microsystems, 1993).
- ``ndtri_*``: M. Giles, "Approximating the erfinv function", GPU Computing
  Gems Jade Edition (2011), single- and double-precision polynomials in
  ``w = -log((1 - x)(1 + x))``. We evaluate ``w`` as ``-log(4 q (1 - q))`` from
  the lower-tail probability ``q``, which avoids the cancellation of ``1 - x``
  and keeps the tails resolved.
- ``_ndtri_tails``: further tail polynomials (float32 ``w >= 16``, float64
  ``w >= 36``), fitted by ``tools/fit_ndtri_tails.py`` against mpmath.
- ``_ndtri_central``, ``_ndtri_central64``: the log-free rationals of
  ``ndtri_window32`` and ``ndtri_window64`` (``|z| <= 2``), fitted by
  ``tools/fit_ndtri_central.py`` against mpmath.
"""

import numpy as np
from numba import njit

from arrayinit._kernels import _ndtri_central as C
from arrayinit._kernels import _ndtri_central64 as C64
from arrayinit._kernels import _ndtri_tails as T
from arrayinit._kernels.floats import f32_bits, f32_from_bits, f64_bits, f64_from_bits
from arrayinit._kernels.ops import add, div, fma, horner, horner_select, mul, on_cuda, sqrt, sub

# --- float32 log (Cephes logf) ---------------------------------------------
_F32_SQRTHF = np.float32(0.707106781186547524)
_F32_ONE = np.float32(1.0)
_F32_HALF = np.float32(0.5)
_F32_LN2_HI = np.float32(0.693359375)
_F32_LN2_LO = np.float32(-2.12194440e-4)
_F32_L0 = np.float32(7.0376836292e-2)
_F32_L1 = np.float32(-1.1514610310e-1)
_F32_L2 = np.float32(1.1676998740e-1)
_F32_L3 = np.float32(-1.2420140846e-1)
_F32_L4 = np.float32(1.4249322787e-1)
_F32_L5 = np.float32(-1.6668057665e-1)
_F32_L6 = np.float32(2.0000714765e-1)
_F32_L7 = np.float32(-2.4999993993e-1)
_F32_L8 = np.float32(3.3333331174e-1)
_F32_TINY = np.float32(1.17549435e-38)  # smallest normal float32


@njit
def log32(x):
    """Natural log of a float32 ``x`` (``x`` below the smallest normal is raised to it)."""
    x = max(x, _F32_TINY)
    b = f32_bits(x)
    e = np.int32(b >> np.uint32(23)) - np.int32(126)
    m = f32_from_bits((b & np.uint32(0x007FFFFF)) | np.uint32(0x3F000000))  # [0.5, 1)
    if m < _F32_SQRTHF:
        e = e - np.int32(1)
        f = sub(add(m, m), _F32_ONE)
    else:
        f = sub(m, _F32_ONE)
    fe = np.float32(e)
    z = mul(f, f)
    y = _F32_L0
    y = fma(y, f, _F32_L1)
    y = fma(y, f, _F32_L2)
    y = fma(y, f, _F32_L3)
    y = fma(y, f, _F32_L4)
    y = fma(y, f, _F32_L5)
    y = fma(y, f, _F32_L6)
    y = fma(y, f, _F32_L7)
    y = fma(y, f, _F32_L8)
    y = mul(mul(y, f), z)
    y = fma(_F32_LN2_LO, fe, y)
    y = fma(-_F32_HALF, z, y)
    return fma(_F32_LN2_HI, fe, add(f, y))


# --- float64 log (fdlibm e_log.c) ------------------------------------------
_F64_SQRTHF = np.float64(0.70710678118654752440)
_F64_ONE = np.float64(1.0)
_F64_TWO = np.float64(2.0)
_F64_HALF = np.float64(0.5)
_F64_LN2_HI = np.float64(6.93147180369123816490e-01)
_F64_LN2_LO = np.float64(1.90821492927058770002e-10)
_LG1 = np.float64(6.666666666666735130e-01)
_LG2 = np.float64(3.999999999940941908e-01)
_LG3 = np.float64(2.857142874366239149e-01)
_LG4 = np.float64(2.222219843214978396e-01)
_LG5 = np.float64(1.818357216161805012e-01)
_LG6 = np.float64(1.531383769920937332e-01)
_LG7 = np.float64(1.479819860511658591e-01)
_LG_EVEN = (_LG6, _LG4, _LG2)
_LG_ODD = (_LG7, _LG5, _LG3, _LG1)
_F64_SUBNORMAL = np.float64(2.0**-1000)
_F64_2P64 = np.float64(2.0**64)
_F64_TINY = np.float64(4.9406564584124654e-324)  # smallest subnormal float64


@njit
def log64(x):
    """Natural log of a float64 ``x > 0`` (subnormals included; 0 is raised to the smallest subnormal)."""
    x = max(x, _F64_TINY)
    scaled = x < _F64_SUBNORMAL
    if scaled:
        x = mul(x, _F64_2P64)
    b = f64_bits(x)
    e = np.int64(b >> np.uint64(52)) - np.int64(1022)
    if scaled:
        e = e - np.int64(64)
    m = f64_from_bits((b & np.uint64(0x000FFFFFFFFFFFFF)) | np.uint64(0x3FE0000000000000))
    if m < _F64_SQRTHF:
        e = e - np.int64(1)
        f = sub(add(m, m), _F64_ONE)
    else:
        f = sub(m, _F64_ONE)
    fe = np.float64(np.int32(e))  # |e| < 1100: a 32-bit conversion (vectorises without AVX-512), same value
    s = div(f, add(_F64_TWO, f))
    z = mul(s, s)
    w = mul(z, z)
    t1 = mul(w, horner(_LG_EVEN, w))  # w (Lg2 + w (Lg4 + w Lg6)): the same fused multiply-adds
    t2 = mul(z, horner(_LG_ODD, w))  # z (Lg1 + w (Lg3 + w (Lg5 + w Lg7)))
    r = add(t2, t1)
    hfsq = mul(mul(_F64_HALF, f), f)
    inner = add(mul(s, add(hfsq, r)), mul(fe, _F64_LN2_LO))
    return sub(mul(fe, _F64_LN2_HI), sub(sub(hfsq, inner), f))


# --- inverse normal CDF, float32 (Giles single precision) ------------------
_F32_FOUR = np.float32(4.0)
_F32_TWO = np.float32(2.0)
_F32_FIVE = np.float32(5.0)
_F32_2_5 = np.float32(2.5)
_F32_3 = np.float32(3.0)
_F32_MSQRT2 = np.float32(-1.41421356237309504880)
_F32_16 = np.float32(16.0)
_F32_ZERO = np.float32(0.0)
_F32_C_C = np.float32(T.G32_C_C)
_F32_C_IH = np.float32(1.0 / T.G32_C_H)
_G32_C = tuple(np.float32(c) for c in T.G32_C)
_G32_A = (
    np.float32(2.81022636e-08),
    np.float32(3.43273939e-07),
    np.float32(-3.5233877e-06),
    np.float32(-4.39150654e-06),
    np.float32(0.00021858087),
    np.float32(-0.00125372503),
    np.float32(-0.00417768164),
    np.float32(0.246640727),
    np.float32(1.50140941),
)
_G32_B = (
    np.float32(-0.000200214257),
    np.float32(0.000100950558),
    np.float32(0.00134934322),
    np.float32(-0.00367342844),
    np.float32(0.00573950773),
    np.float32(-0.0076224613),
    np.float32(0.00943887047),
    np.float32(1.00167406),
    np.float32(2.83297682),
)


@njit
def _giles32_central(w):
    t = sub(w, _F32_2_5)
    p = _G32_A[0]
    p = fma(p, t, _G32_A[1])
    p = fma(p, t, _G32_A[2])
    p = fma(p, t, _G32_A[3])
    p = fma(p, t, _G32_A[4])
    p = fma(p, t, _G32_A[5])
    p = fma(p, t, _G32_A[6])
    p = fma(p, t, _G32_A[7])
    return fma(p, t, _G32_A[8])


@njit
def _pick(in_a, in_c, a, b, c):
    return a if in_a else (c if in_c else b)


@njit
def _ndtri_lower32(q, split):
    """``ndtri_lower32``; ``split``: the central branch (``w < 5``) returns early.

    Either way the operations on each element are the same, so are the floats:
    in the branch-free form the central polynomial starts from
    ``fma(0, t, A[0]) == A[0]``, exactly its first coefficient.
    """
    w = -log32(mul(_F32_FOUR, mul(q, sub(_F32_ONE, q))))
    x = sub(_F32_ONE, mul(_F32_TWO, q))
    if split and w < _F32_FIVE:
        return mul(_F32_MSQRT2, mul(_giles32_central(w), x))
    s = sqrt(w)
    in_a = w < _F32_FIVE
    in_c = w >= _F32_16
    t = _pick(in_a, in_c, sub(w, _F32_2_5), sub(s, _F32_3), mul(sub(s, _F32_C_C), _F32_C_IH))
    p = _pick(in_a, in_c, _F32_ZERO, _F32_ZERO, _G32_C[0])
    p = fma(p, t, _pick(in_a, in_c, _G32_A[0], _G32_B[0], _G32_C[1]))
    p = fma(p, t, _pick(in_a, in_c, _G32_A[1], _G32_B[1], _G32_C[2]))
    p = fma(p, t, _pick(in_a, in_c, _G32_A[2], _G32_B[2], _G32_C[3]))
    p = fma(p, t, _pick(in_a, in_c, _G32_A[3], _G32_B[3], _G32_C[4]))
    p = fma(p, t, _pick(in_a, in_c, _G32_A[4], _G32_B[4], _G32_C[5]))
    p = fma(p, t, _pick(in_a, in_c, _G32_A[5], _G32_B[5], _G32_C[6]))
    p = fma(p, t, _pick(in_a, in_c, _G32_A[6], _G32_B[6], _G32_C[7]))
    p = fma(p, t, _pick(in_a, in_c, _G32_A[7], _G32_B[7], _G32_C[8]))
    p = fma(p, t, _pick(in_a, in_c, _G32_A[8], _G32_B[8], _G32_C[9]))
    return mul(_F32_MSQRT2, mul(p, x))


@njit
def ndtri_lower32(q):
    """Inverse normal CDF of a float32 probability ``0 < q < 1`` (negative for ``q < 1/2``).

    Accurate to a few float32 ulps for ``q >= 1e-21`` (``w < 50``); below that
    the result is still finite and monotone but less accurate.

    On the CPU, branch-free: the three polynomials (``w < 5``, ``5 <= w < 16``,
    ``w >= 16``) share one Horner loop whose argument and coefficients are
    selected per element (the shorter tables padded with leading zeros, which
    leaves their values unchanged), so the loop vectorises. On CUDA the central
    branch (99.7% of normal samples) returns early and skips the square root
    and the selections; a warp runs the tail code only when one of its
    threads needs it.
    """
    return _ndtri_lower32(q, on_cuda())


@njit
def ndtri_lower32_central(q):
    """``ndtri_lower32`` for ``0.0017 <= q <= 0.9983`` (within about 2.9 standard deviations): one branch."""
    w = -log32(mul(_F32_FOUR, mul(q, sub(_F32_ONE, q))))
    x = sub(_F32_ONE, mul(_F32_TWO, q))
    return mul(_F32_MSQRT2, mul(_giles32_central(w), x))


@njit
def ndtri32(p):
    """Inverse normal CDF of a float32 probability ``0 < p < 1``.

    ``4 p (1 - p)`` and ``1 - 2 p`` are symmetric in ``p`` and ``1 - p`` and
    exact or correctly rounded on both halves, so one expression serves the
    whole interval: the sign comes from ``1 - 2 p``.
    """
    return ndtri_lower32(p)


@njit
def ndtri32_central(p):
    """``ndtri32`` for ``0.0017 <= p <= 0.9983``: one polynomial branch, no sqrt."""
    return ndtri_lower32_central(p)


# --- inverse normal CDF, float64 (Giles double precision) ------------------
_F64_FOUR = np.float64(4.0)
_F64_MSQRT2 = np.float64(-1.41421356237309504880)
_F64_D_IH = 1.0 / T.G64_D_H
_F64_E_IH = 1.0 / T.G64_E_H
_F64_F_IH = 1.0 / T.G64_F_H
_G64_A = (
    -3.6444120640178196996e-21,
    -1.685059138182016589e-19,
    1.2858480715256400167e-18,
    1.115787767802518096e-17,
    -1.333171662854620906e-16,
    2.0972767875968561637e-17,
    6.6376381343583238325e-15,
    -4.0545662729752068639e-14,
    -8.1519341976054721522e-14,
    2.6335093153082322977e-12,
    -1.2975133253453532498e-11,
    -5.4154120542946279317e-11,
    1.051212273321532285e-09,
    -4.1126339803469836976e-09,
    -2.9070369957882005086e-08,
    4.2347877827932403518e-07,
    -1.3654692000834678645e-06,
    -1.3882523362786468719e-05,
    0.0001867342080340571352,
    -0.00074070253416626697512,
    -0.0060336708714301490533,
    0.24015818242558961693,
    1.6536545626831027356,
)
_G64_B = (
    2.2137376921775787049e-09,
    9.0756561938885390979e-08,
    -2.7517406297064545428e-07,
    1.8239629214389227755e-08,
    1.5027403968909827627e-06,
    -4.013867526981545969e-06,
    2.9234449089955446044e-06,
    1.2475304481671778723e-05,
    -4.7318229009055733981e-05,
    6.8284851459573175448e-05,
    2.4031110387097893999e-05,
    -0.0003550375203628474796,
    0.00095328937973738049703,
    -0.0016882755560235047313,
    0.0024914420961078508066,
    -0.0037512085075692412107,
    0.005370914553590063617,
    1.0052589676941592334,
    3.0838856104922207635,
)
_G64_C = (
    -2.7109920616438573243e-11,
    -2.5556418169965252055e-10,
    1.5076572693500548083e-09,
    -3.7894654401267369937e-09,
    7.6157012080783393804e-09,
    -1.4960026627149240478e-08,
    2.9147953450901080826e-08,
    -6.7711997758452339498e-08,
    2.2900482228026654717e-07,
    -9.9298272942317002539e-07,
    4.5260625972231537039e-06,
    -1.9681778105531670567e-05,
    7.5995277030017761139e-05,
    -0.00021503011930044477347,
    -0.00013871931833623122026,
    1.0103004648645343977,
    4.8499064014085844221,
)


@njit
def _horner64(coeffs, t):
    return horner(coeffs, t)


_G64_T = (6.25, 16.0, 36.0, 100.0, 300.0)  # ends of the polynomials' ranges of w
_PAD = max(len(_G64_A), len(_G64_B), len(_G64_C), len(T.G64_D), len(T.G64_E), len(T.G64_F))


def _padded(coeffs):
    """A table of ``_PAD`` coefficients, leading zeros first (``fma(0, t, c) == c``: the same values)."""
    return tuple(np.float64(c) for c in (0.0,) * (_PAD - len(coeffs)) + tuple(coeffs))


_G64_TABLES = tuple(_padded(c) for c in (_G64_A, _G64_B, _G64_C, T.G64_D, T.G64_E, T.G64_F))
_G64_ENDS = tuple(np.float64(e) for e in _G64_T)


@njit
def _giles64_central(w):
    """Giles' double-precision polynomial of ``w < 6.25``."""
    return _horner64(_G64_A, sub(w, 3.125))


@njit(inline="always")  # inlined by numba: LLVM's inliner leaves the selected form a call, which keeps loops scalar
def _ndtri_lower64(q, split):
    """``ndtri_lower64``; ``split``: each range of ``w`` is a branch (CUDA), else one selected Horner loop.

    Either way the operations on each element are the same, so are the floats:
    the padded tables start with ``fma(0, t, 0) == 0`` and reach the first
    real coefficient exactly.
    """
    w = -log64(mul(_F64_FOUR, mul(q, sub(_F64_ONE, q))))
    x = sub(_F64_ONE, mul(_F64_TWO, q))
    if split:
        if w < 6.25:
            p = _giles64_central(w)
        elif w < 16.0:
            p = _horner64(_G64_B, sub(sqrt(w), 3.25))
        elif w < 36.0:
            p = _horner64(_G64_C, sub(sqrt(w), 5.0))
        elif w < 100.0:
            p = _horner64(T.G64_D, mul(sub(sqrt(w), T.G64_D_C), _F64_D_IH))
        elif w < 300.0:
            p = _horner64(T.G64_E, mul(sub(sqrt(w), T.G64_E_C), _F64_E_IH))
        else:
            p = _horner64(T.G64_F, mul(sub(sqrt(w), T.G64_F_C), _F64_F_IH))
        return mul(_F64_MSQRT2, mul(p, x))
    s = sqrt(w)
    t = mul(sub(s, T.G64_F_C), _F64_F_IH)
    t = mul(sub(s, T.G64_E_C), _F64_E_IH) if w < 300.0 else t
    t = mul(sub(s, T.G64_D_C), _F64_D_IH) if w < 100.0 else t
    t = sub(s, 5.0) if w < 36.0 else t
    t = sub(s, 3.25) if w < 16.0 else t
    t = sub(w, 3.125) if w < 6.25 else t
    return mul(_F64_MSQRT2, mul(horner_select(_G64_TABLES, _G64_ENDS, w, t), x))


@njit(inline="always")
def ndtri_lower64(q):
    """Inverse normal CDF of a float64 probability ``0 < q < 1`` (negative for ``q < 1/2``).

    Accurate to a few float64 ulps for ``q >= 1e-300``; ``q`` down to the
    smallest subnormal still gives a finite value. Branch-free on the CPU (the
    six polynomials' coefficients selected per element, so the loop
    vectorises), one branch per range on CUDA (see ``_ndtri_lower32``).
    """
    return _ndtri_lower64(q, on_cuda())


@njit
def ndtri_lower64_branches(q):
    """``ndtri_lower64`` evaluating one polynomial, chosen by branches (the CUDA form) on every target:
    the same floats, for scalar code."""
    return _ndtri_lower64(q, True)


@njit
def ndtri_lower64_central(q):
    """``ndtri_lower64`` for ``0.0005 <= q <= 0.9995`` (``w < 6.25``, within 3.29 standard deviations): one branch."""
    w = -log64(mul(_F64_FOUR, mul(q, sub(_F64_ONE, q))))
    x = sub(_F64_ONE, mul(_F64_TWO, q))
    return mul(_F64_MSQRT2, mul(_giles64_central(w), x))


@njit
def ndtri64(p):
    """Inverse normal CDF of a float64 probability ``0 < p < 1`` (symmetric form, as ``ndtri32``)."""
    return ndtri_lower64(p)


@njit
def ndtri64_central(p):
    """``ndtri64`` for ``0.0005 <= p <= 0.9995``: Giles' central polynomial only, no sqrt."""
    return ndtri_lower64_central(p)


# --- inverse normal CDF of the central window, float32, no log --------------
Q_WINDOW = C.Q_MAX
_C_S = np.float32(C.S_MAX)
_C_P = tuple(np.float32(c) for c in C.P)
_C_Q = tuple(np.float32(c) for c in C.Q)
_U32_RECIP = np.uint32(0x7EF311C3)


@njit
def _horner32(coeffs, t):
    p = coeffs[0]
    for i in range(1, len(coeffs)):
        p = fma(p, t, coeffs[i])
    return p


@njit
def recip32(d):
    """``1 / d`` for a positive normal float32 ``d``, to about 1e-7 relative, from fused multiply-adds only.

    A bit-pattern estimate (relative error below 1/8) and three Newton steps
    ``x += x (1 - d x)``: the same bits on every target, without a division
    (whose IEEE sequence costs about ten GPU instructions).
    """
    x = f32_from_bits(_U32_RECIP - f32_bits(d))
    for _ in range(3):
        x = fma(x, fma(-d, x, _F32_ONE), x)
    return x


@njit
def ndtri_window32(q):
    """``ndtri(1/2 + q)`` for a float32 ``|q| <= 0.4775`` (``|z| <= 2.0047``), without a logarithm.

    ``q P(y) / Q(y)`` with ``y = q**2 - S_MAX`` (``tools/fit_ndtri_central.py``),
    ``1 / Q`` by ``recip32``: within 5.3 float32 ulps (3.6e-7 relative) of the
    exact value for float32 ``q``. Fifteen fused multiply-adds and two products:
    the inverse CDF of the truncation window of Keras and torch (two standard
    deviations) and of 95% of normal values.
    """
    y = fma(q, q, -_C_S)
    return mul(q, mul(_horner32(_C_P, y), recip32(_horner32(_C_Q, y))))


# --- inverse normal CDF of the central window, float64, no log ---------------
_C64_S = np.float64(C64.S_MAX)
_C64_P = tuple(np.float64(c) for c in C64.P)
_C64_Q = tuple(np.float64(c) for c in C64.Q)


@njit
def ndtri_window64(q):
    """``ndtri(1/2 + q)`` for a float64 ``|q| <= 0.4775`` (``|z| <= 2.0047``), without a logarithm.

    ``q (P(y) / Q(y))`` with ``y = q**2 - S_MAX`` (``tools/fit_ndtri_central.py
    --float64``, degrees 10/10): within 5.5 float64 ulps (7e-16 relative) of
    the exact value, odd in ``q`` exactly. Every term of ``P`` and ``Q`` is
    positive on the window, so Horner's rule loses nothing to cancellation.
    Twenty-one fused multiply-adds, one division and one product, which
    vectorise: the float64 truncated normal within two standard deviations and
    95.5% of float64 normal values.
    """
    y = fma(q, q, -_C64_S)
    return mul(q, div(_horner64(_C64_P, y), _horner64(_C64_Q, y)))
