"""What an initializer draws for a shape, read from the initializer itself: a density on its bounds, a mean and a
standard deviation."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from arrayinit._initializers import (
    TRUNCATION_STD,
    Initializer,
    RandomNormal,
    RandomUniform,
    TruncatedNormal,
    VarianceScaling,
)

# TruncatedNormal and VarianceScaling's truncated normal cut at this many standard deviations (Keras)
_CUT = 2.0


@dataclass(frozen=True)
class Theory:
    """The distribution an initializer draws for a shape: ``pdf`` on ``[lo, hi]``, mean and standard deviation."""

    label: str
    mean: float
    std: float
    lo: float
    hi: float
    pdf: Callable[[np.ndarray], np.ndarray]


def _phi(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _normal(mean: float, stddev: float, label: str) -> Theory:
    def pdf(x):
        z = (np.asarray(x, np.float64) - mean) / stddev
        return np.exp(-0.5 * z * z) / (math.sqrt(2 * math.pi) * stddev)

    return Theory(label, mean, stddev, -math.inf, math.inf, pdf)


def _truncated_normal(mean: float, stddev: float, label: str) -> Theory:
    mass = _phi(_CUT) - _phi(-_CUT)

    def pdf(x):
        z = (np.asarray(x, np.float64) - mean) / stddev
        inside = np.abs(z) <= _CUT
        return np.where(inside, np.exp(-0.5 * z * z) / (math.sqrt(2 * math.pi) * stddev * mass), 0.0)

    return Theory(label, mean, stddev * TRUNCATION_STD, mean - _CUT * stddev, mean + _CUT * stddev, pdf)


def _uniform(lo: float, hi: float, label: str) -> Theory:
    def pdf(x):
        x = np.asarray(x, np.float64)
        return np.where((x >= lo) & (x < hi), 1.0 / (hi - lo), 0.0)

    return Theory(label, (lo + hi) / 2, (hi - lo) / math.sqrt(12.0), lo, hi, pdf)


def theory(init: Initializer, shape: tuple[int, ...]) -> Theory | None:
    """What ``init`` draws for ``shape`` (None for constants, Identity, Orthogonal and unknown classes).

    The parameters come from the initializer (``VarianceScaling.sampling``
    for the fan-based ones): nothing is re-derived here.
    """
    if isinstance(init, VarianceScaling):
        s = init.sampling(shape)
        if s.kind == "uniform":
            return _uniform(-s.limit, s.limit, f"uniform [-{s.limit:.4g}, {s.limit:.4g})")
        if s.kind == "normal":
            return _normal(0.0, s.stddev, f"normal, std {s.stddev:.4g}")
        return _truncated_normal(0.0, s.stddev, f"normal std {s.stddev:.4g} cut at ±{_CUT:g} std")
    if isinstance(init, TruncatedNormal):
        return _truncated_normal(init.mean, init.stddev, f"normal std {init.stddev:.4g} cut at ±{_CUT:g} std")
    if isinstance(init, RandomNormal) and init.stddev > 0:
        return _normal(init.mean, init.stddev, f"normal, std {init.stddev:.4g}")
    if isinstance(init, RandomUniform) and init.maxval > init.minval:
        return _uniform(init.minval, init.maxval, f"uniform [{init.minval:.4g}, {init.maxval:.4g})")
    return None
