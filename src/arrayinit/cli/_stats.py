"""A sample's mean, standard deviation, minimum, maximum and histogram, computed in float64 a block at a time (no
float64 copy of a large sample)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

_STAT_BLOCK = 1 << 20


def _chunks(x: np.ndarray) -> Iterator[np.ndarray]:
    flat = x.reshape(-1)
    for i in range(0, flat.size, _STAT_BLOCK):
        c = flat[i : i + _STAT_BLOCK]
        yield c.astype(np.float32).astype(np.float64) if c.dtype.itemsize == 2 else c.astype(np.float64)


def stats(x: np.ndarray) -> dict[str, float]:
    """Mean, standard deviation, minimum and maximum of ``x`` (any float dtype), computed in float64."""
    n = x.size
    total, lo, hi = 0.0, math.inf, -math.inf
    for c in _chunks(x):
        total += float(c.sum())
        lo, hi = min(lo, float(c.min())), max(hi, float(c.max()))
    mean = total / n
    var = sum(float(np.square(c - mean).sum()) for c in _chunks(x)) / n
    return {"mean": mean, "std": math.sqrt(var), "min": lo, "max": hi}


def histogram(x: np.ndarray, lo: float, hi: float, bins: int = 120) -> tuple[np.ndarray, np.ndarray]:
    """Density histogram of ``x`` on ``[lo, hi]``: ``(densities, edges)``."""
    counts = np.zeros(bins, np.int64)
    edges = np.linspace(lo, hi, bins + 1)
    for c in _chunks(x):
        counts += np.histogram(c, bins=edges)[0]
    return counts / max(x.size, 1) / np.diff(edges), edges
