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

import numpy as np

from arrayinit._dtypes import LARGEST
from arrayinit._errors import check_shape, received

# distribution ids shared with the targets
UNIFORM = 0
NORMAL = 1
TRUNCNORM = 2
TRUNCNORM_CENTRAL = 3
BITS = 4

# how the targets store a value: as it is computed, or as bfloat16 / float16 bit patterns
STORE_NATIVE = 0
STORE_BF16 = 1
STORE_F16 = 2
STORE_KIND = {"bfloat16": STORE_BF16, "float16": STORE_F16}  # other dtypes: STORE_NATIVE

# Below this lower-tail probability the float32 inverse CDF loses accuracy
# (w = -log(4q) > 50); such truncation bounds are computed in float64.
_F32_MIN_TAIL_PROB = 1e-20
# Above this tail probability only the central erfinv branch is needed (w < 5).
_CENTRAL_MIN_TAIL_PROB = 0.0018


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
        raise ValueError(
            f"Argument `full_shape` has {math.prod(full)} elements; element indices are 64-bit and must stay "
            f"below 2**63. Received: full_shape={full}"
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


def _phi(x: float) -> float:
    """Standard normal CDF in float64 (exact tails through erfc)."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


# --- sampler parameters -------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def uniform_params(minval: float, maxval: float, dtype: str) -> tuple[int, bool, tuple[float, ...]]:
    """Uniform on ``[minval, maxval)``; values kept inside the output grid's half-open range."""
    compute64 = dtype == "float64"
    lo_c = grid_up(minval, dtype)
    hi_c = grid_below(maxval, dtype) if maxval > minval else lo_c
    hi_c = max(hi_c, lo_c)
    return UNIFORM, compute64, (minval, maxval - minval, 0.0, 0.0, 0.0, 0.0, lo_c, hi_c)


@functools.lru_cache(maxsize=1024)
def normal_params(mean: float, stddev: float, dtype: str) -> tuple[int, bool, tuple[float, ...]]:
    return NORMAL, dtype == "float64", (0.0, 0.0, 0.0, 0.0, mean, stddev, 0.0, 0.0)


@functools.lru_cache(maxsize=1024)
def truncnorm_params(
    mean: float, stddev: float, alpha: float, beta: float, lo_abs: float, hi_abs: float, dtype: str
) -> tuple[int, bool, tuple[float, ...]]:
    """Truncated normal with standardised bounds ``alpha < beta`` and absolute clamp bounds.

    The interval is mirrored into the lower half when its centre lies above
    zero, so the inverse CDF works on small probabilities and far-tail bounds
    keep their precision.
    """
    sgn = 1.0
    a, b = alpha, beta
    if a + b > 0:
        sgn, a, b = -1.0, -beta, -alpha
    pa = _phi(a)
    pw = _phi(b) - pa if b < 0 else (1.0 - pa) - _phi(-b)
    if pw <= 0.0:  # both bounds beyond the float64 tail: every value is the near bound
        pw = 0.0
    step = 2.0**-24 * pw
    q_min = min(max(pa, step), max(1.0 - pa - pw, step))
    compute64 = dtype == "float64" or q_min < _F32_MIN_TAIL_PROB or pw < 1e-3 * pa
    if compute64:
        dist = TRUNCNORM
    elif q_min >= _CENTRAL_MIN_TAIL_PROB:
        dist = TRUNCNORM_CENTRAL
    else:
        dist = TRUNCNORM
    lo_c = grid_up(lo_abs, dtype)
    hi_c = grid_down(hi_abs, dtype)
    if lo_c > hi_c:  # an interval narrower than one step of the output grid
        lo_c = hi_c = grid_down(0.5 * (lo_abs + hi_abs), dtype)
    return dist, compute64, (pa, pw, sgn, 0.0, mean, stddev, lo_c, hi_c)
