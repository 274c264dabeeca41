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

from arrayinit._kernels._tail_series import MILLS_SERIES
from arrayinit._kernels.floats import open_unit_f32, open_unit_f64, u52_to_f64, unit_f32, unit_f64
from arrayinit._kernels.ops import add, fma, mul, sqrt, sub
from arrayinit._kernels.special import (
    log64,
    ndtri32,
    ndtri32_central,
    ndtri64,
    ndtri64_central,
    ndtri_lower32,
    ndtri_lower64_branches,
    ndtri_lower64_central,
    ndtri_window32,
    ndtri_window64,
)

_U32_LOW31 = np.uint32(0x7FFFFFFF)
_U32_SIGN = np.uint32(0x80000000)
_U32_ONE = np.uint32(1)
_U32_ALL = np.uint32(0xFFFFFFFF)
_U64_LOW63 = np.uint64(0x7FFFFFFFFFFFFFFF)
_U64_SIGN = np.uint64(0x8000000000000000)
_U64_ONE = np.uint64(1)
_F32_2M33 = np.float32(2.0**-33)
_F32_2M32 = np.float32(2.0**-32)
_U32_9 = np.uint32(9)
# normal: words whose tail probability q = (2 r + 1) 2**-33 is at least 0.0225 (|z| <= 2.0047)
# use the central window's inverse CDF (0.5 - q <= Q_WINDOW = 0.4775; 64 words of margin)
R_CENTRAL = np.uint32(int(0.0225 * 2**32) + 64)
# float64 normal: words with r = w & 0x7fffffff at least R_DEEP have q >= 0.000484, where Giles' central
# polynomial (w = -log(4 q (1 - q)) < 6.25 for q > 0.000483) is the whole inverse CDF
R_DEEP = np.uint32(int(0.000484 * 2**32))
_F64_2M65 = np.float64(2.0**-65)
_F64_2M64 = np.float64(2.0**-64)
_F64_2M32 = np.float64(2.0**-32)
_U64_12 = np.uint64(12)
_U64_32 = np.uint64(32)
_U64_LOW32 = np.uint64(0xFFFFFFFF)
_F64_ZERO = np.float64(0.0)
_F64_HALF = np.float64(0.5)
_F64_ONE = np.float64(1.0)
_F64_TWO = np.float64(2.0)
_F64_THREE = np.float64(3.0)
_F64_FOUR = np.float64(4.0)
_MILLS = tuple(np.float64(c) for c in MILLS_SERIES)


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
def std_normal32_tail(w):
    """Standard normal from a word whose ``r = w & 0x7fffffff`` is below ``R_CENTRAL`` (``|z| > 2``).

    The top bit is the sign, the other 31 the tail probability
    ``q = (2 r + 1) * 2**-33`` in ``(0, 0.0225)``: ``z = ndtri(q)``, so the value
    reaches about 6.4 standard deviations and is never infinite.
    """
    r = np.uint32(w) & _U32_LOW31
    q = mul(np.float32(r + r + _U32_ONE), _F32_2M33)
    z = ndtri_lower32(q)
    if (np.uint32(w) & _U32_SIGN) != 0:
        z = -z
    return z


@njit
def std_normal32_central(w):
    """Standard normal from a word with ``r >= R_CENTRAL``: ``ndtri(1/2 -+ (1/2 - q))``, no logarithm.

    (Any other word gives a finite, meaningless value: the CPU loop computes it
    for every word and then recomputes the few tail words.)
    """
    r = np.uint32(w) & _U32_LOW31
    # 1/2 - q = (r' + 1/2) 2**-32 with r' = 2**31 - 1 - r: no cancellation, a signed conversion
    qc = fma(np.float32(np.int32(r ^ _U32_LOW31)), _F32_2M32, _F32_2M33)
    if (np.uint32(w) & _U32_SIGN) == 0:
        qc = -qc
    return ndtri_window32(qc)


@njit
def is_normal_tail32(w):
    """Whether the normal sampler takes ``std_normal32_tail`` for this word."""
    return (np.uint32(w) & _U32_LOW31) < R_CENTRAL


@njit
def std_normal32(w):
    """Standard normal: the top bit of ``w`` is the sign, the other 31 a tail probability.

    95.5% of words (``|z| <= 2``) take the log-free central window, the others
    the general inverse CDF.
    """
    if is_normal_tail32(w):
        return std_normal32_tail(w)
    return std_normal32_central(w)


@njit
def normal32(w, mean, std):
    return fma(std, std_normal32(w), mean)


@njit
def truncnorm32_window(w, qa, pw, mean, std, clo, chi):
    """Truncated normal inside two standard deviations: ``ndtri(1/2 + q)``, no logarithm.

    ``q = (w >> 9) * pw + qa`` (one fused multiply-add) with ``pw = (Phi(b) -
    Phi(a)) 2**-23`` and ``qa = Phi(a) - 1/2 + pw / 2``, both rounded to float32
    by the plan: the open uniform ``((w >> 9) + 1/2) 2**-23`` folded into the
    constants.
    """
    q = fma(np.float32(np.uint32(w) >> _U32_9), pw, qa)
    return clamp(fma(std, ndtri_window32(q), mean), clo, chi)


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
def is_normal_tail64(w64):
    """Whether the float64 normal sampler takes ``std_normal64_tail``: the high word's test (``is_normal_tail32``)."""
    return is_normal_tail32(np.uint32(np.uint64(w64) >> _U64_32))


@njit
def _half_offset64(hi31, lo):
    """``(hi31 2**32 + lo + 1/2) 2**-64`` rounded once: two exact 32-bit conversions and one rounded sum."""
    return add(mul(np.float64(np.int32(hi31)), _F64_2M32), fma(np.float64(np.uint32(lo)), _F64_2M64, _F64_2M65))


@njit
def _tail_prob64(w64):
    """``q = (2 r + 1) 2**-65``, ``r = w64 & (2**63 - 1)``, rounded once (the same value as converting
    ``2 r + 1`` to float64, from 32-bit conversions that vectorise)."""
    w = np.uint64(w64)
    return _half_offset64(np.uint32(w >> _U64_32) & _U32_LOW31, np.uint32(w & _U64_LOW32))


@njit
def _signed64(w64, z):
    return -z if (np.uint64(w64) & _U64_SIGN) != 0 else z


@njit
def std_normal64_tail(w64):
    """Standard normal from a 64-bit word: sign bit and a 63-bit tail probability, ``z = ndtri(q)``.

    For the words whose high word takes the tail (``|z| > 2``); accurate for
    every word. The inverse CDF branches on its range of ``q`` (one polynomial
    evaluated: the form for scalar code).
    """
    return _signed64(w64, ndtri_lower64_branches(_tail_prob64(w64)))


@njit
def is_normal_deep64(w):
    """Whether a tail word's ``q`` may lie below 0.000484 (``|z| > 3.29``): its high word ``w`` tells."""
    return (np.uint32(w) & _U32_LOW31) < R_DEEP


@njit
def std_normal64_near(w64):
    """``std_normal64_tail`` for words that are not ``is_normal_deep64``: Giles' central polynomial
    only (the same floats), which vectorises."""
    return _signed64(w64, ndtri_lower64_central(_tail_prob64(w64)))


@njit
def std_normal64_central(w64):
    """Standard normal from a 64-bit word whose high word is central: ``ndtri(1/2 -+ (1/2 - q))``, no logarithm.

    ``1/2 - q = (r' + 1/2) 2**-64``, ``r' = r ^ (2**63 - 1)``, rounded once: the
    high 31 bits of ``r'`` and its low word are converted separately (exactly)
    and added. (Any other word gives a finite, meaningless value, as
    ``std_normal32_central``.)
    """
    w = np.uint64(w64)
    qc = _half_offset64((np.uint32(w >> _U64_32) & _U32_LOW31) ^ _U32_LOW31, np.uint32(w & _U64_LOW32) ^ _U32_ALL)
    if (w & _U64_SIGN) == 0:
        qc = -qc
    return ndtri_window64(qc)


@njit
def std_normal64(w64):
    """Standard normal from a 64-bit word: sign bit and a 63-bit tail probability.

    The words whose high word takes the float32 sampler's central window
    (95.5%, ``|z| <= 2``) take the log-free ``ndtri_window64``, the others the
    general inverse CDF, so the float64 value is the float32 value to float32
    precision.
    """
    if is_normal_tail64(w64):
        return std_normal64_tail(w64)
    return std_normal64_central(w64)


@njit
def normal64(w64, mean, std):
    return fma(std, std_normal64(w64), mean)


@njit
def truncnorm64(w64, pa, pw, sgn, mean, std, clo, chi):
    """``truncnorm32`` in float64: ``sgn * ndtri(pa + u * pw)``, ``u = ((w64 >> 12) + 0.5) 2**-52``."""
    z = mul(sgn, ndtri64(fma(open_unit_f64(w64), pw, pa)))
    return clamp(fma(std, z, mean), clo, chi)


@njit
def truncnorm64_central(w64, pa, pw, sgn, mean, std, clo, chi):
    """``truncnorm64`` for bounds within about 3.29 standard deviations: Giles' central polynomial only."""
    z = mul(sgn, ndtri64_central(fma(open_unit_f64(w64), pw, pa)))
    return clamp(fma(std, z, mean), clo, chi)


@njit
def truncnorm64_window(w64, qa, pw, mean, std, clo, chi):
    """Truncated normal inside two standard deviations, float64: ``ndtri(1/2 + q)``, no logarithm.

    ``q = (w64 >> 12) * pw + qa`` (one fused multiply-add) with ``pw = (Phi(b)
    - Phi(a)) 2**-52`` and ``qa = Phi(a) - 1/2 + pw / 2`` (float64 values of
    the plan): the open uniform ``((w64 >> 12) + 1/2) 2**-52`` folded into the
    constants, as ``truncnorm32_window``.
    """
    q = fma(u52_to_f64(np.uint64(w64) >> _U64_12), pw, qa)
    return clamp(fma(std, ndtri_window64(q), mean), clo, chi)


@njit
def uniform_rel64(w64, base, scale, off, clo, chi):
    """``base + (off + u * scale)``, ``u = (w64 >> 11) * 2**-53``: uniform relative to the grid value ``base``.

    For intervals holding few values of the output grid: the offset from
    ``base`` is computed first, so the one rounding onto the grid happens in the
    final addition and every grid value gets its probability.
    """
    return clamp(add(fma(unit_f64(w64), scale, off), base), clo, chi)


@njit
def log1p64(x):
    """``log(1 + x)`` for ``x > -1``, accurate for small ``|x|`` (``log(u) * x / (u - 1)``, ``u = 1 + x``)."""
    u = add(_F64_ONE, x)
    if u == _F64_ONE:
        return x
    return mul(log64(u), x / sub(u, _F64_ONE))


@njit
def _log_mills_factor64(x):
    """``log(x R(x))`` (R the Mills ratio) and ``x R(x)``, by the asymptotic series (``x >= 29``)."""
    r = _F64_ONE / x
    y = mul(r, r)
    s = _MILLS[0]
    for i in range(1, len(_MILLS)):
        s = fma(s, y, _MILLS[i])
    sy = mul(s, y)
    return log1p64(sy), add(_F64_ONE, sy)


@njit
def _tail_solve(lt, alpha, inv_alpha, log_s_alpha):
    """``t`` with ``-log(Q(alpha + t) / Q(alpha)) = lt`` for ``alpha >= 29``: three Newton steps.

    The start solves ``alpha t + t**2 / 2 = lt``; the hazard integral's
    derivative is ``x / (x R(x))`` at ``x = alpha + t``.
    """
    r = mul(mul(_F64_TWO, lt), inv_alpha)
    t = r / add(_F64_ONE, sqrt(fma(r, inv_alpha, _F64_ONE)))
    for _ in range(3):
        x = add(alpha, t)
        log_s, s = _log_mills_factor64(x)
        f = add(fma(t, fma(_F64_HALF, t, alpha), log1p64(mul(t, inv_alpha))), sub(log_s_alpha, log_s))
        t = sub(t, mul(sub(f, lt), s) / x)
    return t


@njit
def _narrow_solve(lt, h0, k1, k2, k3):
    """``t`` with ``t (h0 + t (k1 + t (k2 + t k3))) = lt`` near ``lt / h0``: three Newton steps."""
    t = lt / h0
    for _ in range(3):
        f = mul(t, fma(t, fma(t, fma(t, k3, k2), k1), h0))
        d = fma(t, fma(t, fma(t, mul(_F64_FOUR, k3), mul(_F64_THREE, k2)), mul(_F64_TWO, k1)), h0)
        t = sub(t, sub(f, lt) / d)
    return t


@njit
def truncnorm_local64(w64, l0, c, a0, a1, x0, s, clo, chi, a2, a3, tail, eps):
    """Truncated normal relative to its near bound: ``x0 + s t``, ``t`` from the hazard integral.

    With ``L(t) = -log(Q(alpha + t) / Q(alpha))`` (``alpha`` the near bound in
    standard deviations, ``Q`` the upper tail), ``t`` solves
    ``L(t) = l0 - log(1 - u c)``, ``u`` in (0, 1): ``l0 = L(t_lo)``,
    ``c = 1 - exp(-(L(t_hi) - l0))`` and ``eps = 1 - c`` come from the
    interval ``[t_lo, t_hi]`` (``1 - u c`` is ``(1 - u) + u eps`` for
    ``c >= 1/2``, exact enough as ``u`` approaches 1).
    ``L`` is the tail expansion (``tail``: ``a0 = alpha``, ``a1 = 1 / alpha``,
    ``a2 = log(alpha R(alpha))``) or, for narrow intervals, the Taylor
    polynomial of the hazard (``a0 .. a3``). Only differences from the bound are
    computed, so bounds up to the float64 limit and intervals of a few grid
    values keep their precision.
    """
    u = open_unit_f64(w64)
    if c < _F64_HALF:
        lt = sub(l0, log1p64(-mul(u, c)))
    else:  # 1 - u c = (1 - u) + u eps, eps = 1 - c: no cancellation as u approaches 1
        lt = sub(l0, log64(fma(u, eps, sub(_F64_ONE, u))))
    if tail != _F64_ZERO:
        t = _tail_solve(lt, a0, a1, a2)
    else:
        t = _narrow_solve(lt, a0, a1, a2, a3)
    return clamp(fma(s, t, x0), clo, chi)
