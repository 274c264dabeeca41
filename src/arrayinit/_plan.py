"""FillPlan: what to generate, as plain data (no numba, no array library).

A plan names a block ``(shape, full_shape, offset)`` of a logical tensor, a
distribution with its parameters, the key (seed) and stream, and the output
dtype. ``sampler_params`` turns user parameters into the precomputed values the
samplers of ``arrayinit._kernels.samplers`` take, so kernels never evaluate
``erf`` nor divide by user input.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from arrayinit._dtypes import LARGEST
from arrayinit._errors import check_shape, received
from arrayinit._kernels._tail_series import MILLS_SERIES
from arrayinit._kernels.abi import (
    N_PARAMS,
    NORMAL,
    TRUNCNORM,
    TRUNCNORM_CENTRAL,
    TRUNCNORM_LOCAL,
    TRUNCNORM_WINDOW,
    UNIFORM,
    UNIFORM_REL,
)

# Below this lower-tail probability the float32 inverse CDF loses accuracy
# (w = -log(4q) > 50); such truncation bounds are computed in float64.
_F32_MIN_TAIL_PROB = 1e-20
# Above this tail probability only the central erfinv branch is needed (w < 5).
_CENTRAL_MIN_TAIL_PROB = 0.0018
# ... and in float64 arithmetic (w < 6.25: 4 q (1 - q) > exp(-6.25) for q >= 0.000483)
_CENTRAL64_MIN_TAIL_PROB = 0.0005


@dataclass(frozen=True)
class FillPlan:
    shape: tuple[int, ...]
    full_shape: tuple[int, ...]
    offset: tuple[int, ...]
    dist: int
    dtype: str  # float16, bfloat16, float32, float64 (uint32 for BITS)
    seed: int
    stream: int = 0
    compute64: bool = False
    params: tuple[float, ...] = field(default=(0.0,) * 8)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def block(self, shape: tuple[int, ...], offset: tuple[int, ...]) -> FillPlan:
        """The plan of another block of the same full tensor."""
        return dataclasses.replace(self, shape=shape, offset=offset)


def resolve_block(shape, full_shape, offset) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Validate a block of a logical tensor; defaults: the whole tensor."""
    shape = check_shape("shape", shape)
    if full_shape is None and offset is None and math.prod(shape) < 2**63:
        return shape, shape, (0,) * len(shape)
    full = shape if full_shape is None else check_shape("full_shape", full_shape)
    if offset is None:
        off = (0,) * len(full)
    else:
        off = check_shape("offset", offset)
    if len(full) != len(shape):
        raise ValueError(
            f"Argument `full_shape` must have the rank of `shape` ({len(shape)}). {received('full_shape', full_shape)}"
        )
    if len(off) != len(shape):
        raise ValueError(
            f"Argument `offset` must have the rank of `shape` ({len(shape)}). {received('offset', offset)}"
        )
    if math.prod(full) >= 2**63:
        which = "shape" if full_shape is None else "full_shape"
        raise ValueError(
            f"Argument `{which}` has {math.prod(full)} elements; element indices are 64-bit and must stay "
            f"below 2**63. Received: {which}={full}"
        )
    for s, f, o in zip(shape, full, off):
        if o + s > f:
            raise ValueError(
                "The block `offset` + `shape` must lie inside `full_shape`. "
                f"Received: shape={shape}, offset={off}, full_shape={full}"
            )
    return shape, full, off


def block_rows(shape, full_shape, offset) -> tuple[np.ndarray, int]:
    """Global start index of every contiguous run of the block, and the run length.

    Trailing axes that the block spans completely are merged into the run, so
    a whole tensor (or a block of whole rows) is a single run.
    """
    nd = len(shape)
    if nd == 0:
        return np.zeros(1, np.int64), 1
    strides = [1] * nd
    for i in range(nd - 2, -1, -1):
        strides[i] = strides[i + 1] * full_shape[i + 1]
    j = nd - 1  # the run covers axes j.. ; find the first axis that is not complete
    while j > 0 and shape[j] == full_shape[j]:
        j -= 1
    row_len = shape[j] * strides[j]
    base = offset[j] * strides[j]
    starts = np.full((1,), base, dtype=np.int64)
    for i in range(j - 1, -1, -1):
        idx = (np.arange(shape[i], dtype=np.int64) + offset[i]) * strides[i]
        starts = (idx[:, None] + starts[None, :]).reshape(-1)
    return np.ascontiguousarray(starts), int(row_len)


# --- rounding bounds onto the output grid -----------------------------------


def _grid_dtype(dtype: str):
    return {"float16": np.float16, "float32": np.float32, "float64": np.float64}.get(dtype)


def _bf16_down(x: float) -> float:
    """Largest bfloat16 value <= x (x finite)."""
    f = np.float32(x)
    if float(f) > x:
        f = np.nextafter(f, np.float32(-np.inf))
    b = int(np.array(f, np.float32).view(np.uint32))
    t = b & 0xFFFF0000
    v = float(np.array(t, np.uint32).view(np.float32))
    if v > float(f):  # negative numbers truncate upwards
        t += 0x10000
        v = float(np.array(t, np.uint32).view(np.float32))
    return v


def grid_down(x: float, dtype: str) -> float:
    """Largest value of ``dtype`` that is <= x (-inf below the dtype's range)."""
    if math.isinf(x):
        return x
    largest = LARGEST[dtype]
    if x >= largest:
        return largest
    if x < -largest:
        return -math.inf
    if dtype == "bfloat16":
        return _bf16_down(x)
    t = _grid_dtype(dtype)
    v = t(x)
    if float(v) > x:
        v = np.nextafter(v, t(-np.inf))
    return float(v)


def grid_up(x: float, dtype: str) -> float:
    """Smallest value of ``dtype`` that is >= x."""
    return -grid_down(-x, dtype)


def grid_below(x: float, dtype: str) -> float:
    """Largest value of ``dtype`` that is < x."""
    v = grid_down(x, dtype)
    if v < x:
        return v
    if dtype == "bfloat16":
        return _bf16_down(float(np.nextafter(np.float32(v), np.float32(-np.inf))))
    t = _grid_dtype(dtype)
    return float(np.nextafter(t(v), t(-np.inf)))


def grid_above(x: float, dtype: str) -> float:
    """Smallest value of ``dtype`` that is > x."""
    return -grid_below(-x, dtype)


def grid_nearest(x: float, dtype: str) -> float:
    """``x`` rounded to the nearest value of ``dtype`` (ties to even), ``x`` within the dtype's range."""
    lo, hi = grid_down(x, dtype), grid_up(x, dtype)
    if lo == hi or x - lo < hi - x:
        return lo
    if hi - x < x - lo:
        return hi
    if dtype == "bfloat16":
        even = (int(np.array(lo, np.float32).view(np.uint32)) >> 16) & 1 == 0
    else:
        t = _grid_dtype(dtype)
        even = int(np.array(lo, t).view({2: np.uint16, 4: np.uint32, 8: np.uint64}[t(0).itemsize])) & 1 == 0
    return lo if even else hi


def _neighbour_gap(v: float, dtype: str, up: bool) -> Fraction:
    """Distance from the grid value ``v`` to its neighbour above (``up``) or below.

    Beyond the largest finite value the neighbour is the next power of two
    (values from halfway there round to infinity).
    """
    largest = LARGEST[dtype]
    if (v >= largest and up) or (v <= -largest and not up):
        return Fraction(largest) - Fraction(grid_below(largest, dtype))
    w = grid_above(v, dtype) if up else grid_below(v, dtype)
    return abs(Fraction(w) - Fraction(v))


def rounding_window(lo: float, hi: float, lo_c: float, hi_c: float, dtype: str) -> tuple:
    """The reals of ``[lo, hi]`` that round (to nearest) onto the grid values ``[lo_c, hi_c]`` of ``dtype``.

    Samplers draw from this window so that rounding to the output grid never
    leaves the bounds: each grid value of the interval gets the probability of
    the part of its rounding cell that lies inside the bounds, and no value
    outside needs to be clamped inwards (docs/stream-contract.md). Finite ends
    are exact ``Fraction`` values, infinite ones floats.
    """
    a = lo if math.isinf(lo) else max(Fraction(lo), Fraction(lo_c) - _neighbour_gap(lo_c, dtype, False) / 2)
    b = hi if math.isinf(hi) else min(Fraction(hi), Fraction(hi_c) + _neighbour_gap(hi_c, dtype, True) / 2)
    return a, b


def grid_count(lo: float, hi: float, dtype: str) -> int:
    """Number of values of ``dtype`` (float32 or float64) in ``[lo, hi]`` (finite, ``lo <= hi``)."""
    t, u = (np.float32, np.uint32) if dtype == "float32" else (np.float64, np.uint64)
    sign = 1 << (8 * t(0).itemsize - 1)

    def ordinal(x: float) -> int:
        b = int(np.array(x, t).view(u))
        return -(b & (sign - 1)) if b & sign else b

    return ordinal(hi) - ordinal(lo) + 1


def _phi(x: float) -> float:
    """Standard normal CDF in float64 (exact tails through erfc)."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _no_value(dtype: str, interval: str) -> ValueError:
    return ValueError(
        f"No {dtype} value lies in the interval {interval}: there is nothing to sample. "
        f"Widen the bounds or use a wider dtype. Received: bounds {interval}, dtype={dtype}"
    )


def _params(*head: float, clo: float = 0.0, chi: float = 0.0, tail: tuple[float, ...] = ()) -> tuple[float, ...]:
    """A sampler parameter tuple: slots 0-5, the clamp bounds in 6 and 7, slots 8.. (``N_PARAMS`` in all)."""
    p = (*head, *(0.0,) * (6 - len(head)), clo, chi, *tail)
    return p + (0.0,) * (N_PARAMS - len(p))


# float32 arithmetic resolves each float32 value's probability only on intervals
# holding many of them; below this count the float64 arithmetic is used
_F32_EXACT_BELOW = 2**22
_F64_EXACT_BELOW = 2**32
_SIXTEEN_BIT = ("bfloat16", "float16")


# --- sampler parameters -------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def uniform_params(minval: float, maxval: float, dtype: str) -> tuple[int, bool, tuple[float, ...]]:
    """Uniform on ``[minval, maxval)`` (``minval == maxval``: that value, rounded to ``dtype``).

    Wide intervals: ``minval + u * (maxval - minval)`` in the arithmetic of the
    output, clamped inside the half-open interval on the grid. 16-bit outputs
    sample the rounding window of the interval (``rounding_window``); float32 and
    float64 intervals holding fewer than 2**22 (2**32) grid values are computed
    in float64 relative to their first grid value, so that every value gets its
    probability.

    Raises
    ------
    ValueError
        When no value of ``dtype`` lies in ``[minval, maxval)``.
    """
    compute64 = dtype == "float64"
    if maxval == minval:
        v = grid_nearest(minval, dtype)
        return UNIFORM, compute64, _params(v, 0.0, clo=v, chi=v)
    lo_c = grid_up(minval, dtype)
    hi_c = grid_below(maxval, dtype)
    if lo_c > hi_c:
        raise _no_value(dtype, f"[{minval!r}, {maxval!r})")
    if dtype in _SIXTEEN_BIT:
        a, b = rounding_window(minval, maxval, lo_c, hi_c, dtype)
        return UNIFORM, False, _params(float(a), float(b - a), clo=lo_c, chi=hi_c)
    exact_below = _F32_EXACT_BELOW if dtype == "float32" else _F64_EXACT_BELOW
    if grid_count(lo_c, hi_c, dtype) >= exact_below:
        return UNIFORM, compute64, _params(minval, maxval - minval, clo=lo_c, chi=hi_c)
    a, b = rounding_window(minval, maxval, lo_c, hi_c, dtype)
    return UNIFORM_REL, True, _params(lo_c, float(b - a), float(a - Fraction(lo_c)), clo=lo_c, chi=hi_c)


@functools.lru_cache(maxsize=1024)
def normal_params(mean: float, stddev: float, dtype: str) -> tuple[int, bool, tuple[float, ...]]:
    return NORMAL, dtype == "float64", _params(0.0, 0.0, 0.0, 0.0, mean, stddev)


# Bounds within this many standard deviations use ndtri_window32 (fitted up to 2.0047)
_WINDOW_Z = 2.0
# Truncation intervals (in standard deviations, oriented so the base bound is
# the one nearer the mean) whose base lies this far out use the tail expansion
_TAIL_FROM = 30.0
# ... and intervals at most this wide the local Taylor expansion
_NARROW_BELOW = 1e-3


def _log_mills_factor(x: float) -> float:
    """log(x R(x)), R the Mills ratio, by its asymptotic series (x >= 29: error below 1e-20)."""
    y = (1.0 / x) ** 2
    s = 0.0
    for c in MILLS_SERIES:
        s = s * y + c
    return math.log1p(s * y)


def _tail_hazard_integral(t: float, alpha: float, log_s_alpha: float) -> float:
    """-log(Q(alpha + t) / Q(alpha)) for alpha >= 29 (Q the upper tail of the standard normal)."""
    if math.isinf(t):
        return math.inf
    return t * (alpha + 0.5 * t) + math.log1p(t / alpha) + log_s_alpha - _log_mills_factor(alpha + t)


def _hazard_taylor(alpha: float) -> tuple[float, float, float, float]:
    """Taylor coefficients in t of -log(Q(alpha + t) / Q(alpha)): h, h'/2, h''/6, h'''/24 of the hazard h = phi/Q."""
    q = 0.5 * math.erfc(alpha / math.sqrt(2.0))
    h = math.exp(-0.5 * alpha * alpha) / math.sqrt(2.0 * math.pi) / q
    d = h - alpha
    h1 = h * d
    h2 = h1 * d + h * (h1 - 1.0)
    h3 = h2 * d + 2.0 * h1 * (h1 - 1.0) + h * h2
    return h, h1 / 2.0, h2 / 6.0, h3 / 24.0


def _frac_or_inf(x):
    return x if isinstance(x, Fraction) else Fraction(x) if math.isfinite(x) else x


def _ratio(num, den: float) -> float:
    """``num / den`` rounded once (``num`` a Fraction or an infinity)."""
    if not isinstance(num, Fraction):
        return num if den > 0 else -num
    return float(num / Fraction(den))


def _truncnorm_local(mean, stddev, a, b, lo_c, hi_c, dtype, orient) -> tuple:
    """Parameters of ``truncnorm_local64``: the oriented interval sampled relative to its base grid value."""
    if orient > 0:
        x0 = lo_c
        t_lo = _ratio(a - Fraction(x0), stddev)
        t_hi = _ratio(b - Fraction(x0) if isinstance(b, Fraction) else b, stddev)
        base = Fraction(x0) - Fraction(mean)
    else:
        x0 = hi_c
        t_lo = _ratio(Fraction(x0) - b, stddev)
        t_hi = _ratio(Fraction(x0) - a if isinstance(a, Fraction) else -a, stddev)
        base = Fraction(mean) - Fraction(x0)
    try:
        alpha = float(base / Fraction(stddev))
    except OverflowError:
        raise ValueError(
            f"The truncation bounds lie beyond the float64 range of standard deviations from the mean "
            f"(about 1.8e308); the distribution cannot be computed. Received: mean={mean!r}, stddev={stddev!r}, "
            f"bounds [{a!r}, {b!r}], dtype={dtype}"
        ) from None
    s = float(orient) * stddev
    if alpha >= _TAIL_FROM - 1.0:
        log_s = _log_mills_factor(alpha)
        l0 = _tail_hazard_integral(t_lo, alpha, log_s)
        l1 = _tail_hazard_integral(t_hi, alpha, log_s)
        c, eps = (1.0, 0.0) if math.isinf(l1) else (-math.expm1(-(l1 - l0)), math.exp(-(l1 - l0)))
        return (
            TRUNCNORM_LOCAL,
            True,
            _params(l0, c, alpha, 1.0 / alpha, x0, s, clo=lo_c, chi=hi_c, tail=(log_s, 0.0, 1.0, eps)),
        )
    h0, k1, k2, k3 = _hazard_taylor(alpha)

    def integral(t):
        return t * (h0 + t * (k1 + t * (k2 + t * k3)))

    l0 = integral(t_lo)
    dl = integral(t_hi) - l0
    return (
        TRUNCNORM_LOCAL,
        True,
        _params(l0, -math.expm1(-dl), h0, k1, x0, s, clo=lo_c, chi=hi_c, tail=(k2, k3, 0.0, math.exp(-dl))),
    )


@functools.lru_cache(maxsize=1024)
def truncnorm_params(
    mean: float, stddev: float, alpha: float, beta: float, lo_abs: float, hi_abs: float, dtype: str
) -> tuple[int, bool, tuple[float, ...]]:
    """Truncated normal with standardised bounds ``alpha < beta`` and absolute bounds ``[lo_abs, hi_abs]``.

    The sampled interval is the rounding window of the bounds on the output
    grid (``rounding_window``) for 16-bit outputs and wherever the grid is
    resolved value by value. Three methods:

    - intervals within ``_TAIL_FROM`` standard deviations, wider than
      ``_NARROW_BELOW``: ``ndtri(Phi(alpha) + u (Phi(beta) - Phi(alpha)))``,
      mirrored into the lower half so that the tail probabilities keep their
      precision; in float32 arithmetic unless the bounds reach far tails or
      the interval holds fewer than 2**22 float32 values. Bounds within two
      standard deviations use the log-free window (``ndtri_window32`` or
      ``ndtri_window64``, ``TRUNCNORM_WINDOW``), bounds within about 2.9
      (float32) or 3.29 (float64) standard deviations Giles' central
      polynomial alone (``TRUNCNORM_CENTRAL``, the same values);
    - narrower intervals, and intervals whose near bound lies beyond
      ``_TAIL_FROM`` standard deviations (up to the float64 limit):
      ``truncnorm_local64``, the inverse of the hazard integral from the near
      bound, in float64 arithmetic.

    Raises
    ------
    ValueError
        When no value of ``dtype`` lies in ``[lo_abs, hi_abs]``, or the bounds
        lie beyond the float64 range of standard deviations.
    """
    lo_c = grid_up(lo_abs, dtype)
    hi_c = grid_down(hi_abs, dtype)
    if lo_c > hi_c:
        raise _no_value(dtype, f"[{lo_abs!r}, {hi_abs!r}]")
    f32 = "float32" if dtype != "float64" else "float64"
    lo32, hi32 = grid_up(lo_abs, f32), grid_down(hi_abs, f32)
    few32 = dtype == "float32" and math.isfinite(lo32 - hi32) and grid_count(lo32, hi32, "float32") < _F32_EXACT_BELOW
    orient = -1 if alpha + beta < 0 else 1
    alpha_o, beta_o = (alpha, beta) if orient > 0 else (-beta, -alpha)
    local = alpha_o >= _TAIL_FROM or beta_o - alpha_o <= _NARROW_BELOW
    if dtype in _SIXTEEN_BIT or few32 or local:
        a, b = rounding_window(lo_abs, hi_abs, lo_c, hi_c, dtype)
    else:
        a, b = lo_abs, hi_abs
    if local:
        return _truncnorm_local(mean, stddev, _frac_or_inf(a), _frac_or_inf(b), lo_c, hi_c, dtype, orient)
    if a != lo_abs:
        alpha = _ratio(a - Fraction(mean), stddev)
    if b != hi_abs:
        beta = _ratio(b - Fraction(mean), stddev)
    sgn = 1.0
    za, zb = alpha, beta
    if za + zb > 0:
        sgn, za, zb = -1.0, -beta, -alpha
    pa = _phi(za)
    pw = _phi(zb) - pa if zb < 0 else (1.0 - pa) - _phi(-zb)
    step = 2.0**-24 * pw
    q_min = min(max(pa, step), max(1.0 - pa - pw, step))
    compute64 = dtype == "float64" or few32 or q_min < _F32_MIN_TAIL_PROB or pw < 1e-3 * pa
    if alpha >= -_WINDOW_Z and beta <= _WINDOW_Z:
        # inside two standard deviations: the log-free inverse CDF of q = Phi(z) - 1/2, with the open
        # uniform ((w >> 9) + 1/2) 2**-23 (float32 arithmetic) or ((w64 >> 12) + 1/2) 2**-52 folded in
        step = 2.0**-52 if compute64 else 2.0**-23
        qa = 0.5 * math.erf(alpha / math.sqrt(2.0))
        pws = 0.5 * (math.erf(beta / math.sqrt(2.0)) - math.erf(alpha / math.sqrt(2.0))) * step
        return TRUNCNORM_WINDOW, compute64, _params(qa + 0.5 * pws, pws, 0.0, 0.0, mean, stddev, clo=lo_c, chi=hi_c)
    if q_min >= (_CENTRAL64_MIN_TAIL_PROB if compute64 else _CENTRAL_MIN_TAIL_PROB):
        dist = TRUNCNORM_CENTRAL
    else:
        dist = TRUNCNORM
    return dist, compute64, _params(pa, pw, sgn, 0.0, mean, stddev, clo=lo_c, chi=hi_c)
