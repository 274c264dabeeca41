"""Plan builders of the real stream: checked parameters in, one ``FillPlan`` out.

``uniform_plan``, ``normal_plan`` and ``truncnorm_plan`` take a checked block
``(shape, full_shape, offset)``, the dtype name, the seed and the stream, check
the distribution's parameters (Keras-style errors naming the argument), refuse
values that would round to infinity in the dtype, and return the ``FillPlan``
the engine runs. ``arrayinit.random``, the initializers, the complex plans and
every surface build their plans here; nothing here resolves a destination or
generates a value.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

from arrayinit import _dtypes
from arrayinit._errors import check_float
from arrayinit._kernels.abi import BITS, TRUNCNORM, TRUNCNORM_CENTRAL, TRUNCNORM_LOCAL, TRUNCNORM_WINDOW
from arrayinit._plan import (
    FillPlan,
    _no_value,
    grid_above,
    grid_below,
    grid_down,
    grid_up,
    normal_params,
    rounding_window,
    truncnorm_params,
    uniform_params,
)

__all__ = ["bits_plan", "normal_plan", "truncnorm_plan", "uniform_plan"]


def bits_plan(shape, full, off, seed: int, stream: int) -> FillPlan:
    """The raw 32-bit words of a checked block, seed and stream."""
    return FillPlan(shape, full, off, BITS, "uint32", seed, stream)


def _float64_arithmetic(dist: int, compute64: bool, params: tuple[float, ...]) -> tuple[int, bool, tuple[float, ...]]:
    """The sampler in float64 arithmetic where a parameter of a float32-arithmetic plan overflows float32.

    The float32 samplers take their parameters rounded to float32: a mean, a
    standard deviation or a uniform width beyond the float32 range would be
    infinite there (values piled on a bound, or NaN). The float64 samplers take
    the same parameters (the window sampler's as ``Phi(alpha)`` and
    ``Phi(beta) - Phi(alpha)``) and draw ``u`` from the element's 32-bit word
    for outputs of 32 bits or fewer (docs/stream-contract.md, "Parameters at
    the limits of the arithmetic").
    """
    largest = _dtypes.LARGEST["float32"]
    if compute64 or (-largest <= min(params) and max(params) <= largest):  # (the common case, cheaply)
        return dist, compute64, params
    if not any(math.isfinite(p) and _dtypes.overflows(abs(p), "float32") for p in params):  # infinite clamp bounds
        return dist, compute64, params
    if dist == TRUNCNORM_WINDOW:  # (Phi(alpha) - 1/2 + pw / 2, pw), pw = (Phi(beta) - Phi(alpha)) 2**-23
        params = (0.5 + (params[0] - 0.5 * params[1]), params[1] * 2.0**23, 1.0, 0.0, *params[4:])
        dist = TRUNCNORM
    elif dist == TRUNCNORM_CENTRAL:
        dist = TRUNCNORM
    return dist, True, params


def uniform_plan(shape, full, off, name, seed, stream, minval, maxval) -> FillPlan:
    """The plan of ``uniform`` for a checked block, dtype name, seed and stream; checks the bounds."""
    lo = check_float("minval", minval)
    hi = check_float("maxval", maxval)
    if hi < lo:
        raise ValueError(f"Argument `maxval` must be >= `minval`. Received: minval={minval!r}, maxval={maxval!r}")
    largest = _dtypes.LARGEST[name]
    for arg, v in (("minval", lo), ("maxval", hi)):
        if abs(v) > largest:
            raise ValueError(
                f"The range [minval, maxval) must be finite and its width representable in {name}: "
                f"`{arg}` lies beyond the largest {name} value ({largest:.6g}). "
                f"Received: minval={minval!r}, maxval={maxval!r}"
            )
    if not math.isfinite(hi - lo):  # float64 only: narrower dtypes' bounds are far from the float64 limit
        raise ValueError(
            f"The range [minval, maxval) must be finite and its width representable in {name}: "
            f"`maxval` - `minval` overflows float64. Received: minval={minval!r}, maxval={maxval!r}"
        )
    dist, c64, params = _uniform_checked(lo, hi, name)
    return FillPlan(shape, full, off, dist, name, seed, stream, c64, params)


@functools.lru_cache(maxsize=1024)
def _uniform_checked(lo: float, hi: float, name: str) -> tuple[int, bool, tuple[float, ...]]:
    """``uniform_params``; a width beyond the float32 range (float32 and bfloat16 outputs) in float64 arithmetic."""
    return _float64_arithmetic(*uniform_params(lo, hi, name))


# |z| of the normal sampler stays below 6.4 in float32 arithmetic and 9.1 in float64;
# a truncated normal with an infinite bound can reach further in its float64 far-tail
# path (tail probabilities down to about 1e-300: |z| < 38)
_Z_NORMAL = {"float64": 9.2}
_Z_FAR = 38.5


def _check_extent(extent: float, name: str, mean, stddev, bounds: str = "") -> None:
    """Refuse parameters whose values could round to infinity in the output dtype."""
    if _dtypes.overflows(extent, name):
        raise ValueError(
            f"The values would overflow {name}: with these `mean` and `stddev` they reach about {extent:.3g} "
            f"in magnitude. Received: mean={mean!r}, stddev={stddev!r}{bounds}"
        )


def normal_plan(shape, full, off, name, seed, stream, mean, stddev) -> FillPlan:
    """The plan of ``normal`` for a checked block, dtype name, seed and stream; checks the parameters."""
    mu = check_float("mean", mean)
    sd = check_float("stddev", stddev, nonnegative=True)
    # (values inside the dtype's range: mean and stddev inside the float32 range for float32 arithmetic)
    _check_extent(abs(mu) + _Z_NORMAL.get(name, 6.5) * sd, name, mean, stddev)
    dist, c64, params = normal_params(mu, sd, name)
    return FillPlan(shape, full, off, dist, name, seed, stream, c64, params)


def truncnorm_plan(shape, full, off, name, seed, stream, mean, stddev, lower, upper, a, b) -> FillPlan:
    """The plan of ``truncated_normal`` for a checked block, dtype name, seed and stream; checks the parameters."""
    mu = check_float("mean", mean)
    sd = check_float("stddev", stddev, positive=True)
    if (a is not None or b is not None) and (lower is not None or upper is not None):
        raise ValueError(
            "Give the bounds either in standard deviations (`lower`, `upper`) or absolute (`a`, `b`), not both. "
            f"Received: lower={lower!r}, upper={upper!r}, a={a!r}, b={b!r}"
        )
    if a is not None or b is not None:
        lo_abs = -math.inf if a is None else check_float("a", a, finite=False)
        hi_abs = math.inf if b is None else check_float("b", b, finite=False)
        if not lo_abs < hi_abs:
            raise ValueError(f"Argument `a` must be smaller than `b`. Received: a={a!r}, b={b!r}")
        alpha, beta = (lo_abs - mu) / sd, (hi_abs - mu) / sd
    else:
        alpha = -2.0 if lower is None else check_float("lower", lower, finite=False)
        beta = 2.0 if upper is None else check_float("upper", upper, finite=False)
        if not alpha < beta:
            raise ValueError(
                f"Argument `lower` must be smaller than `upper`. Received: lower={lower!r}, upper={upper!r}"
            )
        # (+ 0.0: no -0.0, one cache key and one sign; a bound beyond the float64 range is an infinite one)
        lo_abs, hi_abs = mu + alpha * sd + 0.0, mu + beta * sd + 0.0
    dist, c64, params = _truncnorm_checked(mu, sd, alpha, beta, lo_abs, hi_abs, name)
    return FillPlan(shape, full, off, dist, name, seed, stream, c64, params)


@functools.lru_cache(maxsize=1024)
def _truncnorm_checked(mu, sd, alpha, beta, lo_abs, hi_abs, name):
    """``truncnorm_params`` plus the overflow checks, for checked floats (kept: small calls repeat)."""
    bounds = f", bounds [{lo_abs!r}, {hi_abs!r}]"
    lo_c, hi_c = grid_up(lo_abs, name), grid_down(hi_abs, name)
    if not lo_c <= hi_c or lo_c == math.inf or hi_c == -math.inf:  # (an infinity is not a value to sample)
        raise _no_value(name, f"[{lo_abs!r}, {hi_abs!r}]")
    value = _point_mass(mu, sd, lo_abs, hi_abs, lo_c, hi_c, name)
    if value is not None:  # every element is this grid value: the constant's plan
        return uniform_params(value, value, name)
    # values beyond the dtype even with the float32 samplers' reach (the least of all samplers): refused first
    _check_extent(_truncnorm_extent(mu, sd, alpha, beta, lo_abs, hi_abs, name, None, False), name, mu, sd, bounds)
    if alpha == math.inf or beta == -math.inf:  # the near bound, with the interval on one side of the mean
        raise _beyond_float64(mu, sd, bounds, name)
    try:
        dist, c64, params = truncnorm_params(mu, sd, alpha, beta, lo_abs, hi_abs, name)
    except OverflowError:  # a bound's distance from the mean, in standard deviations, beyond float64
        raise _beyond_float64(mu, sd, bounds, name) from None
    _check_extent(_truncnorm_extent(mu, sd, alpha, beta, lo_abs, hi_abs, name, dist, c64), name, mu, sd, bounds)
    # a mean or stddev beyond the float32 range (far-away means, bfloat16's range) takes the float64 arithmetic
    return _float64_arithmetic(dist, c64, params)


def _beyond_float64(mu: float, sd: float, bounds: str, name: str) -> ValueError:
    return ValueError(
        "The truncation bounds lie beyond the float64 range of standard deviations from the mean (about 1.8e308); "
        f"the distribution cannot be computed. Received: mean={mu!r}, stddev={sd!r}{bounds}, dtype={name}"
    )


# The truncated distribution leaves the rounding cell of its near bound's grid value with a
# probability below exp(-_POINT_MASS_EXP) (4e-18): the inverse CDF of every word (u resolved
# to 2**-53 at best) gives that grid value.
_POINT_MASS_EXP = 40


def _point_mass(
    mu: float, sd: float, lo_abs: float, hi_abs: float, lo_c: float, hi_c: float, name: str
) -> float | None:
    """The grid value of ``name`` that every element of the truncated normal takes, or None.

    Where the interval lies on one side of the mean and the distribution
    (restricted to the rounding window of the bounds, ``rounding_window``) is
    concentrated in the rounding cell of the near bound's grid value ``x0``,
    every value is ``x0``: the upper tail beyond ``t`` standard deviations of a
    normal truncated at ``d >= 0`` is below ``exp(-(t**2 - d**2) / 2)``. These
    are the bounds where the samplers' arithmetic overflows (``x0`` millions
    of standard deviations from where the window starts, or bounds beyond the
    float64 range of standard deviations); exact rational arithmetic decides.
    """
    if lo_abs >= mu:
        orient, near_bound = 1, lo_abs
    elif hi_abs <= mu:
        orient, near_bound = -1, hi_abs
    else:
        return None
    if _dtypes.overflows(abs(near_bound), name):  # the values lie beyond the dtype: the extent check refuses
        return None
    a, b = rounding_window(lo_abs, hi_abs, lo_c, hi_c, name)
    x0, near, end = (lo_c, a, b) if orient > 0 else (hi_c, b, a)
    if orient * x0 >= _dtypes.LARGEST[name]:  # no grid value beyond: the cell ends where values round to infinity
        gap = abs(x0 - (grid_below(x0, name) if orient > 0 else grid_above(x0, name)))
    else:
        gap = abs((grid_above(x0, name) if orient > 0 else grid_below(x0, name)) - x0)
    edge = Fraction(x0) + orient * Fraction(gap) / 2  # the far end of x0's rounding cell
    if x0 == 0.0:
        # the zero cell: +0.0, as for a -0.0 parameter (one cache key, one sign); only where the tail bound
        # below decides, not for every window inside the cell (the samplers give those a signed zero)
        x0 = 0.0
    elif not isinstance(end, float) and orient * (end - edge) <= 0:  # the window lies inside the cell
        return x0
    m = Fraction(mu)
    d_near, d_edge = orient * (near - m), orient * (edge - m)
    if d_edge * d_edge - d_near * d_near >= 2 * _POINT_MASS_EXP * Fraction(sd) ** 2:
        return x0
    return None


# the smallest probability beyond a value that an element's word reaches: u of the float32
# samplers lies in [2**-24, 1 - 2**-24]; the float64 samplers' u starts at 2**-53 (the far end of
# a truncation interval) and the local sampler's far end 1 - u at 2**-32 for 32-bit words
_P_MIN_F32, _P_MIN_LOCAL32, _P_MIN_F64 = 2.0**-24, 2.0**-32, 2.0**-53


def _truncnorm_extent(mu, sd, alpha, beta, lo_abs, hi_abs, name, dist, c64) -> float:
    """The largest magnitude the values of a truncated normal plan reach (for the overflow check).

    Values lie in ``[lo_abs, hi_abs]``, within ``Z`` standard deviations of the
    mean (the reach of the sampler's words), and within ``sqrt(d**2 + 2 L) - d``
    standard deviations beyond a near bound ``d >= 0`` standard deviations from
    the mean (``L = log(1 / p) + 1.1``, ``p`` the smallest probability the words
    reach: the tail bound ``Q(d + t) / Q(d) <= exp(-d t - t**2 / 2)``, and a
    factor 3 for intervals around the mean).
    """
    z = _Z_FAR if c64 else _Z_NORMAL.get(name, 6.5)
    p = _P_MIN_F32 if not c64 else _P_MIN_LOCAL32 if dist == TRUNCNORM_LOCAL and name != "float64" else _P_MIN_F64
    ell = math.log(1.0 / p) + 1.1

    def beyond(d: float) -> float:  # sqrt(d**2 + 2 ell) - d, without cancellation (d = inf: 0)
        d = max(d, 0.0)
        return 2.0 * ell / (math.sqrt(d * d + 2.0 * ell) + d)

    hi_v = min(max(mu + z * sd, max(lo_abs, mu) + beyond(alpha) * sd), hi_abs)
    lo_v = max(min(mu - z * sd, min(hi_abs, mu) - beyond(-beta) * sd), lo_abs)
    return max(abs(lo_v), abs(hi_v))
