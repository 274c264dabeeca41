"""Hypothesis strategies: valid arguments mixed with hostile ones (wrong types, huge, NaN, odd spellings)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from hypothesis import strategies as st

MAX_VALUES = 4096  # elements of a generated tensor: generation stays cheap

FLOAT_NAMES = ["float32", "float64", "float16", "bfloat16"]
COMPLEX_NAMES = ["complex64", "complex128"]

# spellings that must resolve, and the dtype they resolve to
DTYPE_SPELLINGS = {
    "float32": "float32",
    "float64": "float64",
    "float16": "float16",
    "bfloat16": "bfloat16",
    "FLOAT32": "float32",
    "bf16": "bfloat16",
    "half": "float16",
    "single": "float32",
    "double": "float64",
    "np.float32": "float32",
    "torch.float64": "float64",
    "complex64": "complex64",
    "complex128": "complex128",
    "c8": "complex64",
    "complex": "complex128",
}


def _library_dtypes() -> list:
    out: list = [np.float32, np.float64, np.float16, np.dtype("float32"), np.dtype(">f8"), np.dtype("<f2")]
    out += [np.complex64, np.dtype("complex128")]
    try:
        import ml_dtypes

        out += [ml_dtypes.bfloat16, np.dtype(ml_dtypes.bfloat16), ml_dtypes.float8_e4m3fn]
    except ImportError:  # pragma: no cover - ml_dtypes is a test dependency
        pass
    return out


BAD_DTYPES = [
    float,
    "float",
    "f",
    "f4",
    "float8",
    "float128",
    "int32",
    "uint32",
    "bool",
    "complex32",
    "",
    " float32",
    "float32\x00",
    "\ud800",
    "flöat32",
    object,
    3,
    3.5,
    True,
    b"float32",
    np.int32,
    np.dtype("c32") if hasattr(np, "complex256") else np.dtype("V4"),
    np.dtype("U3"),
    np.dtype("O"),
    ["float32"],
    {"dtype": "float32"},
]


def dtypes(valid_only: bool = False, complex_ok: bool = False) -> st.SearchStrategy:
    """dtype arguments; ``valid_only``: the canonical real names (and the complex ones with ``complex_ok``)."""
    good = st.sampled_from(FLOAT_NAMES) | st.sampled_from(sorted(DTYPE_SPELLINGS)) | st.sampled_from(_library_dtypes())
    if valid_only:
        return st.sampled_from(FLOAT_NAMES + (COMPLEX_NAMES if complex_ok else []))
    return st.one_of(st.none(), good, st.sampled_from(BAD_DTYPES))


HOSTILE_NUMBERS = [
    math.nan,
    math.inf,
    -math.inf,
    1e308,
    -1e308,
    5e-324,
    -0.0,
    10**400,
    -(10**400),
    2**64,
    True,
    False,
    "1.0",
    None,
    b"1",
    1j,
    Fraction(1, 3),
    np.float32(2.5),
    np.float64(math.nan),
    np.float16(65504),
    np.int64(3),
    np.uint64(2**64 - 1),
    np.bool_(True),
    np.array(1.5),
    np.array(-2),
    np.array([1.0]),
    np.array(math.inf),
    [1.0],
    (1.0,),
    {1.0},
]


def numbers(lo: float = -1e6, hi: float = 1e6) -> st.SearchStrategy:
    """Floats: ordinary, tiny, huge, NaN/inf, ints, and things that are not numbers at all."""
    return st.one_of(
        st.floats(lo, hi),
        st.floats(lo, hi),
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(-(2**70), 2**70),
        st.sampled_from(HOSTILE_NUMBERS),
    )


# the limits of each float format (and float64's): largest finite value, the magnitude from which values round to
# infinity, smallest normal and subnormal values (bfloat16 shares float32's exponent range)
FLOAT_LIMITS = [
    65504.0,  # float16
    65520.0,
    2.0**-14,
    2.0**-24,
    3.3895313892515355e38,  # bfloat16
    3.3895313892515355e38 + 2.0**119,
    2.0**-133,
    3.4028234663852886e38,  # float32
    3.4028234663852886e38 + 2.0**103,
    2.0**-126,
    2.0**-149,
    1.7976931348623157e308,  # float64
    2.0**-1022,
    5e-324,
]


def _beside(v: float) -> list[float]:
    """``v``, its float64 neighbours, and half and twice it (when finite)."""
    out = [v, math.nextafter(v, math.inf), math.nextafter(v, -math.inf), v / 2, v * 2]
    return [x for x in out if math.isfinite(x)]


def extreme_floats() -> st.SearchStrategy:
    """Finite floats up to each float format's limits: +-largest finite values, the values that round to
    infinity, smallest normals and subnormals, values beside them, zeros, and ordinary values."""
    edges = sorted({x for v in FLOAT_LIMITS for x in _beside(v)})
    return st.one_of(
        st.sampled_from(edges + [-x for x in edges] + [0.0, -0.0, 1.0, -1.0]),
        st.sampled_from(FLOAT_LIMITS).flatmap(lambda v: st.floats(v * 0.25, min(v * 4, 1.7976931348623157e308))),
        st.floats(allow_nan=False, allow_infinity=False),
        st.floats(-1e6, 1e6),
        st.floats(-1e-30, 1e-30),
    )


def positive_numbers() -> st.SearchStrategy:
    return st.one_of(st.floats(1e-6, 1e3), st.floats(1e-6, 1e3), numbers())


HOSTILE_SEEDS = [
    -1,
    2**64,
    2**64 + 1,
    2**100,
    10**400,
    1.0,
    0.5,
    math.nan,
    True,
    "1",
    None,
    np.uint64(2**64 - 1),
    np.int64(-1),
    np.int8(7),
    np.array(5),
    np.array([5]),
    [5],
]


def seeds(valid_only: bool = False) -> st.SearchStrategy:
    good = st.integers(0, 2**64 - 1) | st.sampled_from([0, 1, 2**32 - 1, 2**32, 2**63, 2**64 - 1])
    return good if valid_only else st.one_of(good, good, st.sampled_from(HOSTILE_SEEDS))


@st.composite
def small_shapes(draw, min_rank: int = 0, max_rank: int = 4, max_values: int = MAX_VALUES) -> tuple[int, ...]:
    rank = draw(st.integers(min_rank, max_rank))
    dims: list[int] = []
    budget = max_values
    for _ in range(rank):
        d = draw(st.integers(0, min(budget, 64)))
        dims.append(d)
        budget = max(1, budget // max(d, 1))
    return tuple(dims)


HOSTILE_SHAPES = [
    (2**40,),
    (2**31, 2**31),
    (2**62, 4),
    (2**63,),
    (2**64,),
    (2**70,),
    (0, 2**70),
    (0, 2**62, 2**62),
    (10**400,),
    (-1,),
    (3, -2),
    (1.5,),
    (2.0, 3),
    ("3",),
    "34",
    b"34",
    {3: 1},
    {3},
    None,
    (True,),
    (None,),
    ((2,),),
    3.0,
    -3,
    np.float64(3),
    np.array([2, 3]),
    np.array([2.0, 3.0]),
    np.array(4),
    range(3),
    [[]],
    object(),
]


def as_spellings(shape: tuple[int, ...]) -> st.SearchStrategy:
    """The same shape as a tuple, a list, numpy ints, a numpy array, or a bare int for rank 1."""
    options = [st.just(shape), st.just(list(shape)), st.just(tuple(np.int64(d) for d in shape))]
    if shape:
        options.append(st.just(np.array(shape, dtype=np.int64)))
    if len(shape) == 1:
        options += [st.just(shape[0]), st.just(np.uint32(shape[0]))]
    return st.one_of(options)


def shapes(valid_only: bool = False) -> st.SearchStrategy:
    good = small_shapes().flatmap(as_spellings)
    return good if valid_only else st.one_of(good, good, st.sampled_from(HOSTILE_SHAPES))


def normalized(shape) -> tuple[int, ...]:
    """What a valid ``shape`` argument means."""
    if np.ndim(shape) == 0:
        return (int(shape),)
    return tuple(int(d) for d in shape)


@st.composite
def blocks(draw, full: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """A block ``(shape, offset)`` inside ``full`` (empty blocks included)."""
    offset = tuple(draw(st.integers(0, d)) for d in full)
    shape = tuple(draw(st.integers(0, d - o)) for d, o in zip(full, offset))
    return shape, offset


HOSTILE_BLOCKS = [
    # (full_shape, offset) given with a valid shape; many do not fit it
    (None, (0,)),
    ((4,), None),
    ((4,), (5,)),
    ((4,), (-1,)),
    ((4,), (2**70,)),
    ((2**70,), (0,)),
    ((4, 4), (0,)),
    ((4,), (0, 0)),
    ((3,), (1.5,)),
    ((3,), ("1",)),
    ("4", (0,)),
    ((4,), 0),
    ((True,), (0,)),
    ((2**63,), (2**63 - 1,)),
]
