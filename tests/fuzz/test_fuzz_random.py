"""Fuzzing ``arrayinit.random``: every call returns a correct tensor or raises a clear, named error."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import arrayinit.random as ar
from tests.fuzz import _strategies as S
from tests.fuzz._checks import PART, as_f64, clean_call, parts, raw, threads

OMIT = object()

EPS = {"float32": 2.0**-23, "float64": 2.0**-52, "float16": 2.0**-10, "bfloat16": 2.0**-7}
TINY = {"float32": 2.0**-149, "float64": 5e-324, "float16": 2.0**-24, "bfloat16": 2.0**-133}


def maybe(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.just(OMIT), strategy)


def call(fn, shape, **kwargs):
    return clean_call(fn, shape, **{k: v for k, v in kwargs.items() if v is not OMIT})


def common_args() -> dict:
    return {
        "seed": S.seeds(),
        "stream": maybe(st.one_of(st.integers(0, 2**63 - 1), st.sampled_from([-1, 2**63, 2**64, 1.0, True, "0"]))),
        "block": st.one_of(st.just(None), st.sampled_from(S.HOSTILE_BLOCKS)),
    }


def block_kwargs(block) -> dict:
    if block is None:
        return {}
    full, off = block
    return {"full_shape": full, "offset": off}


def check_array(x, shape, dtype) -> str:
    """Shape, dtype and finiteness of a result; returns the dtype name."""
    assert isinstance(x, np.ndarray), type(x)
    assert x.shape == S.normalized(shape), (x.shape, shape)
    name = x.dtype.name
    assert name in S.FLOAT_NAMES + S.COMPLEX_NAMES, name
    if isinstance(dtype, str) and dtype in S.DTYPE_SPELLINGS:
        assert name == S.DTYPE_SPELLINGS[dtype], (name, dtype)
    elif dtype is None or dtype is OMIT:
        assert name == "float32"
    for v in parts(x):
        assert np.isfinite(v).all()
    return PART.get(name, name)


def rounding(name: str, *values: float) -> float:
    """Slack for rounding ``values`` to ``name``."""
    return max(abs(v) for v in (0.0, *values)) * EPS[name] + TINY[name]


def check_uniform(x, name, minval, maxval) -> None:
    """Every value (both parts of complex values) in ``[minval, maxval)``, or ``minval`` when the two are equal."""
    lo = 0.0 if minval is OMIT else float(minval)
    hi = 1.0 if maxval is OMIT else float(maxval)
    grid = np.asarray(x).real.dtype  # the dtype of the values (of each part of complex values)
    for v in parts(x):
        if lo == hi:
            assert (v == as_f64(np.asarray(lo).astype(grid))).all(), (lo, np.unique(v))
        else:
            assert ((v >= lo) & (v < hi)).all(), (lo, hi, v.min(initial=math.inf), v.max(initial=-math.inf))


def check_normal(x, name, mean, stddev) -> None:
    mu = 0.0 if mean is OMIT else complex(mean) if np.iscomplexobj(x) else float(mean)
    sd = 1.0 if stddev is OMIT else float(stddev)
    v = np.asarray(x).astype(np.complex128) if np.iscomplexobj(x) else as_f64(x)
    reach = 9.3 * sd * (1 + EPS[name]) + 2 * rounding(name, abs(mu), abs(mu) + 9.3 * sd)
    assert (np.abs(v - mu) <= reach).all(), (mu, sd, np.abs(v - mu).max(initial=0))


def truncnorm_bounds(mean, stddev, lower, upper, a, b) -> tuple[float, float]:
    mu = 0.0 if mean is OMIT else float(mean)
    sd = 1.0 if stddev is OMIT else float(stddev)
    if a is not OMIT or b is not OMIT:
        lo = -math.inf if a is OMIT or a is None else float(a)
        hi = math.inf if b is OMIT or b is None else float(b)
        return lo, hi
    alpha = -2.0 if lower is OMIT or lower is None else float(lower)
    beta = 2.0 if upper is OMIT or upper is None else float(upper)
    return mu + alpha * sd, mu + beta * sd


def check_truncnorm(x, name, mean, stddev, lower, upper, a, b) -> None:
    assert not np.iscomplexobj(x), "a complex truncated normal"
    lo, hi = truncnorm_bounds(mean, stddev, lower, upper, a, b)
    v = as_f64(x)
    assert ((v >= lo) & (v <= hi)).all(), (lo, hi, v.min(initial=0), v.max(initial=0))
    # an infinite bound: the values stay within 38.5 standard deviations of the interval's finite end (or the mean)
    mu = 0.0 if mean is OMIT else float(mean)
    sd = 1.0 if stddev is OMIT else float(stddev)
    near = max([abs(e - mu) for e in (lo, hi) if math.isfinite(e)], default=0.0)
    reach = near + 38.5 * sd * (1 + 1e-12) + rounding(name, mu, *(e for e in (lo, hi) if math.isfinite(e)))
    assert (np.abs(v - mu) <= reach).all(), (mu, sd, lo, hi, v.min(initial=0), v.max(initial=0))


@given(shape=S.shapes(), **common_args())
def test_bits(shape, seed, stream, block):
    x = call(ar.bits, shape, seed=seed, stream=stream, **block_kwargs(block))
    if x is not None:
        assert x.dtype == np.uint32
        assert x.shape == S.normalized(shape)


@given(
    shape=S.shapes(),
    dtype=maybe(S.dtypes()),
    minval=maybe(S.numbers()),
    maxval=maybe(S.numbers()),
    **common_args(),
)
def test_uniform(shape, seed, stream, block, dtype, minval, maxval):
    x = call(
        ar.uniform, shape, seed=seed, stream=stream, dtype=dtype, minval=minval, maxval=maxval, **block_kwargs(block)
    )
    if x is not None:
        name = check_array(x, shape, dtype)
        check_uniform(x, name, minval, maxval)


@given(
    shape=S.shapes(),
    dtype=maybe(S.dtypes()),
    mean=maybe(S.numbers()),
    stddev=maybe(S.positive_numbers()),
    **common_args(),
)
def test_normal(shape, seed, stream, block, dtype, mean, stddev):
    x = call(ar.normal, shape, seed=seed, stream=stream, dtype=dtype, mean=mean, stddev=stddev, **block_kwargs(block))
    if x is not None:
        name = check_array(x, shape, dtype)
        check_normal(x, name, mean, stddev)


bound = st.one_of(st.floats(-50, 50), st.sampled_from([-math.inf, math.inf, None]), S.numbers())


@given(
    shape=S.shapes(),
    dtype=maybe(S.dtypes()),
    mean=maybe(S.numbers()),
    stddev=maybe(S.positive_numbers()),
    bounds=st.one_of(
        st.tuples(maybe(bound), maybe(bound), st.just(OMIT), st.just(OMIT)),
        st.tuples(st.just(OMIT), st.just(OMIT), maybe(bound), maybe(bound)),
        st.tuples(maybe(bound), maybe(bound), maybe(bound), maybe(bound)),
    ),
    **common_args(),
)
def test_truncated_normal(shape, seed, stream, block, dtype, mean, stddev, bounds):
    lower, upper, a, b = bounds
    x = call(
        ar.truncated_normal,
        shape,
        seed=seed,
        stream=stream,
        dtype=dtype,
        mean=mean,
        stddev=stddev,
        lower=lower,
        upper=upper,
        a=a,
        b=b,
        **block_kwargs(block),
    )
    if x is not None:
        name = check_array(x, shape, dtype)
        check_truncnorm(x, name, mean, stddev, lower, upper, a, b)


# --- parameters at the limits of every dtype: finite values inside the bounds, or a named error -----------


@st.composite
def extreme_params(draw, kind: str) -> dict:
    """Parameters of ``kind`` drawn from ``extreme_floats`` (bounds may also be infinite), signs mixed."""
    x = S.extreme_floats()
    if kind == "normal":
        return {"mean": draw(x), "stddev": abs(draw(x))}
    bounds = sorted(draw(st.lists(x | st.sampled_from([-math.inf, math.inf]), min_size=2, max_size=2)))
    if kind == "uniform":
        bounds = [b for b in bounds if math.isfinite(b)] or [0.0]
        return {"minval": bounds[0], "maxval": bounds[-1]}
    if bounds[0] == bounds[1]:
        bounds[1] = math.inf
    stddev = abs(draw(x)) or 1.0
    if kind == "truncated_normal/sd":
        return {"mean": draw(x), "stddev": stddev, "lower": bounds[0], "upper": bounds[1]}
    # absolute bounds; the mean often a few (or very many) standard deviations from a bound
    mean = draw(st.one_of(x, st.sampled_from([0.0, 1.0, 29.0, 30.0, 31.0, 40.0, 1e8, 1e300]).map(lambda k: -k)))
    if mean <= 0 and math.isfinite(bounds[0]) and draw(st.booleans()):
        mean = bounds[0] + mean * stddev  # below the interval by that many standard deviations
        if not math.isfinite(mean):
            mean = 0.0
    return {"mean": mean, "stddev": stddev, "a": bounds[0], "b": bounds[1]}


@pytest.mark.parametrize("dtype", S.FLOAT_NAMES)
@pytest.mark.parametrize("kind", ["normal", "uniform", "truncated_normal/sd", "truncated_normal/ab"])
@given(data=st.data())
def test_extreme_parameters_give_finite_values_inside_the_bounds(kind, dtype, data):
    """Finite parameters up to each dtype's and float64's limits (subnormals, +-largest finite values, values that
    round to infinity): finite values inside the bounds (no NaN, no infinity), or a ValueError naming an argument."""
    kw = data.draw(extreme_params(kind), label="params")
    n = data.draw(st.integers(1, 300), label="n")
    seed = data.draw(S.seeds(valid_only=True), label="seed")
    fn = getattr(ar, kind.split("/")[0])
    x = clean_call(fn, (n,), seed=seed, dtype=dtype, **kw)
    if x is None:
        return
    name = check_array(x, (n,), dtype)
    if kind == "normal":
        check_normal(x, name, kw["mean"], kw["stddev"])
    elif kind == "uniform":
        check_uniform(x, name, kw["minval"], kw["maxval"])
    else:
        args = (kw.get("lower", OMIT), kw.get("upper", OMIT), kw.get("a", OMIT), kw.get("b", OMIT))
        check_truncnorm(x, name, kw["mean"], kw["stddev"], *args)


# --- blocks and threads: valid arguments, values compared bit for bit ----------------------------

finite = st.floats(-1e4, 1e4)
DRAWS = {
    "bits": lambda: st.just({}),
    "uniform": lambda: st.fixed_dictionaries({"minval": finite, "maxval": finite}),
    "normal": lambda: st.fixed_dictionaries({"mean": finite, "stddev": st.floats(0, 1e3)}),
    "truncated_normal": lambda: st.one_of(
        st.fixed_dictionaries(
            {"mean": finite, "stddev": st.floats(1e-3, 1e3), "lower": st.floats(-40, 40), "upper": st.floats(-40, 40)}
        ),
        st.fixed_dictionaries(
            {"mean": finite, "stddev": st.floats(1e-3, 1e3), "a": st.floats(-1e4, 1e4), "b": st.floats(-1e4, 1e4)}
        ),
    ),
}


@pytest.mark.parametrize("fn", sorted(DRAWS))
@given(data=st.data())
def test_block_equals_slice_of_whole(fn, data):
    f = getattr(ar, fn)
    full = data.draw(S.small_shapes(), label="full_shape")
    shape, offset = data.draw(S.blocks(full), label="block")
    kw = data.draw(DRAWS[fn](), label="params")
    kw["seed"] = data.draw(S.seeds(valid_only=True), label="seed")
    kw["stream"] = data.draw(st.integers(0, 2**63 - 1) | st.just(0), label="stream")
    if fn != "bits":
        kw["dtype"] = data.draw(S.dtypes(valid_only=True, complex_ok=True), label="dtype")
    whole = clean_call(f, full, **kw)
    block = clean_call(f, shape, full_shape=full, offset=offset, **kw)
    if whole is None:
        assert block is None, "the block was generated but the whole tensor was refused"
        return
    assert block is not None, "the whole tensor was generated but the block was refused"
    index = tuple(slice(o, o + n) for o, n in zip(offset, shape))
    assert block.dtype == whole.dtype
    assert block.shape == shape
    assert (raw(block) == raw(whole[index])).all()


@pytest.mark.parametrize("fn", sorted(DRAWS))
@settings(max_examples=max(3, settings().max_examples // 10))
@given(data=st.data())
def test_one_and_two_threads_agree(fn, data):
    f = getattr(ar, fn)
    n = data.draw(st.integers(2**14, 2**15 + 7), label="n")  # above the serial threshold: parallel kernels
    kw = data.draw(DRAWS[fn](), label="params")
    kw["seed"] = data.draw(S.seeds(valid_only=True), label="seed")
    if fn != "bits":
        kw["dtype"] = data.draw(S.dtypes(valid_only=True, complex_ok=True), label="dtype")
    with threads(1):
        one = clean_call(f, (n,), **kw)
    with threads(2):
        two = clean_call(f, (n,), **kw)
    assert (one is None) == (two is None)
    if one is not None:
        assert (raw(one) == raw(two)).all()
