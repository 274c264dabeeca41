"""arrayinit.random: distributions (KS against scipy.stats), bounds, blocks, dtypes, errors."""

import math

import ml_dtypes
import mpmath
import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as st

import arrayinit as ai
import arrayinit.random as ar
from arrayinit import _plan
from tests import reference
from tests.conftest import as_f64

N = 10**6
KS_P_MIN = 1e-3  # fixed seeds: the outcome is deterministic; a broken sampler gives p ~ 0


def _ks(x, cdf):
    res = st.kstest(x, cdf)
    assert res.pvalue > KS_P_MIN, res


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform_ks_and_range(dtype):
    x = ar.uniform((N,), seed=11, minval=-3.0, maxval=5.0, dtype=dtype)
    assert x.dtype == np.dtype(dtype)
    assert x.min() >= -3.0
    assert x.max() < 5.0
    _ks(x.astype(np.float64), st.uniform(loc=-3, scale=8).cdf)
    assert abs(x.mean() - 1.0) < 5 * 8 / math.sqrt(12 * N)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_normal_ks_and_moments(dtype):
    x = ar.normal((N,), seed=12, mean=0.5, stddev=2.0, dtype=dtype).astype(np.float64)
    _ks(x, st.norm(loc=0.5, scale=2.0).cdf)
    assert abs(x.mean() - 0.5) < 5 * 2 / math.sqrt(N)
    assert abs(x.std() / 2.0 - 1) < 5 / math.sqrt(2 * N)
    assert np.isfinite(x).all()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    ("lower", "upper"), [(-2.0, 2.0), (-1.0, 3.0), (4.0, 6.0), (-6.0, -4.0), (10.0, 12.0), (3.0, math.inf)]
)
def test_truncated_normal_ks_and_bounds(dtype, lower, upper):
    x = ar.truncated_normal((N,), seed=13, mean=1.0, stddev=0.5, lower=lower, upper=upper, dtype=dtype)
    lo, hi = 1.0 + 0.5 * lower, 1.0 + 0.5 * upper
    xf = x.astype(np.float64)
    assert xf.min() >= lo
    assert xf.max() <= hi
    _ks(xf, st.truncnorm(lower, upper, loc=1.0, scale=0.5).cdf)


def test_truncated_normal_absolute_bounds_torch_convention():
    x = ar.truncated_normal((N,), seed=14, mean=0.0, stddev=0.02, a=-0.04, b=0.04).astype(np.float64)
    assert x.min() >= -0.04
    assert x.max() <= 0.04
    _ks(x, st.truncnorm(-2, 2, scale=0.02).cdf)
    # bounds far in one tail, in absolute units
    y = ar.truncated_normal((N,), seed=15, mean=0.0, stddev=1.0, a=4.0, b=6.0).astype(np.float64)
    assert y.min() >= 4.0
    assert y.max() <= 6.0
    _ks(y, st.truncnorm(4, 6).cdf)


def test_keras_truncated_normal_moments():
    x = ar.truncated_normal((N,), seed=16, stddev=1.0).astype(np.float64)
    assert abs(x.std() - 0.87962566103423978) < 0.003
    assert abs(x.mean()) < 0.003


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("kind", ["uniform", "normal", "truncated_normal"])
def test_16bit_outputs_are_the_rounded_float32_stream(dtype, kind):
    kw = {"uniform": {"minval": -1.0, "maxval": 1.0}, "normal": {"stddev": 0.5}, "truncated_normal": {"stddev": 0.5}}[
        kind
    ]
    fn = getattr(ar, kind)
    x16 = fn((200_000,), seed=17, dtype=dtype, **kw)
    if kind == "uniform":
        # 16-bit uniforms sample the reals that round into [minval, maxval): [-1, 1 - half a 16-bit step)
        lo_c, hi_c = _plan.grid_up(-1.0, dtype), _plan.grid_below(1.0, dtype)
        lo, hi = _plan.rounding_window(-1.0, 1.0, lo_c, hi_c, dtype)
        assert (lo, hi) == (-1.0, 1.0 - (2.0**-9 if dtype == "bfloat16" else 2.0**-12))
        kw = {"minval": float(lo), "maxval": float(hi)}
    x32 = fn((200_000,), seed=17, dtype="float32", **kw)
    np_dtype = ml_dtypes.bfloat16 if dtype == "bfloat16" else np.float16
    assert x16.dtype == np.dtype(np_dtype)
    rounded = x32.astype(np_dtype)
    if kind == "normal":
        np.testing.assert_array_equal(x16.view(np.uint16), rounded.view(np.uint16))
    else:
        # clamping happens on the 16-bit grid: rounding can only differ at the bounds
        differ = x16.view(np.uint16) != rounded.view(np.uint16)
        assert differ.mean() < 1e-3
        bound = 1.0
        assert (np.abs(as_f64(x16[differ])) <= bound).all()
    xf = as_f64(x16)
    if kind == "uniform":
        assert xf.min() >= -1.0
        assert xf.max() < 1.0
    if kind == "truncated_normal":
        assert np.abs(xf).max() <= 1.0
    assert abs(xf.std() - as_f64(x32).std()) < 2e-3


def test_float64_agrees_with_float32_to_float32_precision():
    a = ar.normal((100_000,), seed=18, dtype="float32").astype(np.float64)
    b = ar.normal((100_000,), seed=18, dtype="float64")
    assert np.allclose(a, b, rtol=1e-5, atol=1e-5)
    u32 = ar.uniform((100_000,), seed=18, dtype="float32").astype(np.float64)
    u64 = ar.uniform((100_000,), seed=18, dtype="float64")
    assert (np.abs(u32 - u64) < 2.0**-24).all()


def test_bits_follow_the_contract():
    seed = 0x0123456789ABCDEF
    w = ar.bits((64,), seed=seed, stream=5)
    assert w.tolist() == [reference.word(seed, g, 5) for g in range(64)]
    assert ar.bits((4,), seed=0).tolist() == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]


def test_uniform_follows_the_contract_exactly():
    seed = 99
    u = ar.uniform((40,), seed=seed)
    assert u.astype(np.float64).tolist() == [reference.uniform32(seed, g) for g in range(40)]
    u64 = ar.uniform((40,), seed=seed, dtype="float64")
    assert u64.tolist() == [reference.uniform64(seed, g) for g in range(40)]


def test_block_beyond_2_32_elements_matches_scalar_reference():
    full = (3, 2**31, 5)  # about 3.2e10 elements
    off = (2, 2**31 - 7, 1)
    shape = (1, 6, 3)
    seed = 2**64 - 12345
    g0 = [
        ((off[0] + i) * full[1] + off[1] + j) * full[2] + off[2] + k
        for i in range(1)
        for j in range(6)
        for k in range(3)
    ]
    assert min(g0) > 2**32
    w = ar.bits(shape, seed=seed, full_shape=full, offset=off)
    assert w.reshape(-1).tolist() == [reference.word(seed, g) for g in g0]
    u = ar.uniform(shape, seed=seed, full_shape=full, offset=off, dtype="float64")
    assert u.reshape(-1).tolist() == [reference.uniform64(seed, g) for g in g0]
    z = ar.normal(shape, seed=seed, full_shape=full, offset=off).reshape(-1).astype(np.float64)
    for g, v in zip(g0, z.tolist()):
        sign, q = reference.normal_tail_prob32(seed, g)
        ref = -st.norm.ppf(q) if sign else st.norm.ppf(q)
        assert abs(v - ref) < 1e-5 * max(1.0, abs(ref))


BLOCK_CASES = [
    ((17, 33), (0, 0), (17, 33)),
    ((17, 33), (3, 5), (6, 7)),
    ((5, 7, 11), (1, 0, 0), (3, 7, 11)),
    ((5, 7, 11), (4, 6, 10), (1, 1, 1)),
    ((4, 1, 9, 8), (1, 0, 2, 3), (2, 1, 5, 4)),
    ((10000,), (4097,), (5003,)),
    ((), (), ()),
]


@pytest.mark.parametrize(("full", "off", "shape"), BLOCK_CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16", "float16"])
@pytest.mark.parametrize("kind", ["uniform", "normal", "truncated_normal", "far_tail"])
def test_block_equals_slice_of_whole(full, off, shape, dtype, kind):
    if kind == "far_tail":

        def fn(shape, **kw):
            return ar.truncated_normal(shape, lower=9.0, upper=10.0, **kw)

    else:
        fn = getattr(ar, kind)
    whole = fn(full, seed=21, dtype=dtype)
    block = fn(shape, seed=21, dtype=dtype, full_shape=full, offset=off)
    sl = tuple(slice(o, o + s) for o, s in zip(off, shape))
    np.testing.assert_array_equal(
        block.reshape(-1).view(np.uint8), np.ascontiguousarray(whole[sl]).reshape(-1).view(np.uint8)
    )


def test_random_blocks_equal_slices():
    rng = np.random.default_rng(22)
    whole = {}
    for _ in range(60):
        rank = int(rng.integers(1, 5))
        full = tuple(int(d) for d in rng.integers(1, 12, rank))
        shape = tuple(int(rng.integers(0, d + 1)) for d in full)
        off = tuple(int(rng.integers(0, d - s + 1)) for d, s in zip(full, shape))
        if full not in whole:
            whole[full] = ar.truncated_normal(full, seed=23, stddev=0.1)
        block = ar.truncated_normal(shape, seed=23, stddev=0.1, full_shape=full, offset=off)
        sl = tuple(slice(o, o + s) for o, s in zip(off, shape))
        np.testing.assert_array_equal(block, whole[full][sl])


def test_streams_and_seeds_are_distinct():
    a = ar.bits((1000,), seed=1)
    assert (a != ar.bits((1000,), seed=2)).mean() > 0.99
    assert (a != ar.bits((1000,), seed=1, stream=1)).mean() > 0.99
    assert (a != ar.bits((1000,), seed=1 << 32)).mean() > 0.99


def test_out_argument_in_place_and_noncontiguous():
    out = np.zeros((8, 6), np.float32)
    res = ar.normal((8, 6), seed=3, out=out)
    assert res is out
    np.testing.assert_array_equal(out, ar.normal((8, 6), seed=3))
    big = np.zeros((8, 12), np.float32)
    view = big[:, ::2]
    ar.normal((8, 6), seed=3, out=view)
    np.testing.assert_array_equal(view, out)
    assert (big[:, 1::2] == 0).all()
    b16 = np.zeros((8, 6), ml_dtypes.bfloat16)
    ar.truncated_normal((8, 6), seed=3, out=b16)
    np.testing.assert_array_equal(
        b16.view(np.uint16), ar.truncated_normal((8, 6), seed=3, dtype="bfloat16").view(np.uint16)
    )


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: ar.normal((-1, 3), seed=0), ValueError, "shape"),
        (lambda: ar.normal((2.5, 3), seed=0), TypeError, "shape"),
        (lambda: ar.normal((2, 3), seed=-1), ValueError, "seed"),
        (lambda: ar.normal((2, 3), seed=2**64), ValueError, "seed"),
        (lambda: ar.normal((2, 3), seed=1.5), TypeError, "seed"),
        (lambda: ar.normal((2, 3), seed=True), TypeError, "seed"),
        (lambda: ar.normal((2, 3), seed=0, dtype="int32"), ValueError, "Only floating point"),
        (lambda: ar.truncated_normal((2, 3), seed=0, dtype="complex64"), ValueError, "no complex form"),
        (lambda: ar.normal((2, 3), seed=0, dtype=object()), TypeError, "dtype"),
        (lambda: ar.normal((2, 3), seed=0, stddev=-1.0), ValueError, "stddev"),
        (lambda: ar.normal((2, 3), seed=0, mean=float("nan")), ValueError, "mean"),
        (lambda: ar.truncated_normal((2, 3), seed=0, stddev=0.0), ValueError, "stddev"),
        (lambda: ar.truncated_normal((2, 3), seed=0, lower=2.0, upper=1.0), ValueError, "lower"),
        (lambda: ar.truncated_normal((2, 3), seed=0, a=1.0, b=1.0), ValueError, "`a`"),
        (lambda: ar.truncated_normal((2, 3), seed=0, a=1.0, lower=-1.0), ValueError, "either"),
        (lambda: ar.uniform((2, 3), seed=0, minval=1.0, maxval=0.0), ValueError, "maxval"),
        (lambda: ar.uniform((2, 3), seed=0, minval="a"), TypeError, "minval"),
        (lambda: ar.normal((2, 3), seed=0, full_shape=(2, 2)), ValueError, "full_shape"),
        (lambda: ar.normal((2, 3), seed=0, full_shape=(4, 4), offset=(3, 0)), ValueError, "inside"),
        (lambda: ar.normal((2, 3), seed=0, full_shape=(4, 4, 4)), ValueError, "rank"),
        (lambda: ar.normal((2, 3), seed=0, full_shape=(4, 4), offset=(1,)), ValueError, "offset"),
        (lambda: ar.normal((2, 3), seed=0, stream=-2), ValueError, "stream"),
        (lambda: ar.normal((2, 3), seed=0, out=np.zeros((3, 2), np.float32)), ValueError, "out"),
        (lambda: ar.normal((2, 3), seed=0, dtype="float64", out=np.zeros((2, 3), np.float32)), ValueError, "out"),
        (lambda: ar.normal((2, 3), seed=0, out=[[0.0] * 3] * 2), TypeError, "out"),
        (lambda: ar.bits((2, 3), seed=0, out=np.zeros((2, 3), np.float32)), TypeError, "out"),
        # values that would round to infinity in the output dtype
        (lambda: ar.normal((2, 3), seed=0, mean=1e39), ValueError, "overflow float32"),
        (lambda: ar.normal((2, 3), seed=0, stddev=2e4, dtype="float16"), ValueError, "overflow float16"),
        (lambda: ar.normal((2, 3), seed=0, stddev=1e308, dtype="float64"), ValueError, "overflow float64"),
        (lambda: ar.truncated_normal((2, 3), seed=0, stddev=1e38, lower=0.0, upper=math.inf), ValueError, "overflow"),
        (lambda: ar.truncated_normal((2, 3), seed=0, a=1e5, b=2e5, dtype="float16"), ValueError, "No float16 value"),
        (lambda: ai.Constant(65519.999999999)((2,), "float16"), ValueError, "overflows float16"),  # via float32
        (lambda: ai.Constant(65520.0)((2,), "float16"), ValueError, "`value` overflows float16"),
        (lambda: ai.Constant(1e300)((2,)), ValueError, "`value` overflows float32"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_large_but_finite_parameters_are_accepted():
    # the largest spreads each dtype holds: values stay finite
    x = ar.normal((10_000,), seed=0, stddev=1e4, dtype="bfloat16")  # bfloat16 reaches 3e38
    assert np.isfinite(x.astype(np.float32)).all()
    y = ar.normal((10_000,), seed=0, stddev=9000.0, dtype="float16")  # 6.5 * 9000 < 65504
    assert np.isfinite(y).all()
    z = ai.Constant(65504.0)((3,), "float16")
    assert (z == 65504).all()
    # bounds beyond the dtype's range are fine when the values stay inside it
    t = ar.truncated_normal((10_000,), seed=0, a=0.0, b=1e5, dtype="float16")
    assert t.min() >= 0
    assert t.max() < 6
    w = ar.truncated_normal((10_000,), seed=0, stddev=2000.0, lower=-math.inf, upper=math.inf, dtype="float16")
    assert np.isfinite(w).all()


def test_error_message_names_argument_and_value():
    with pytest.raises(ValueError, match=r"Received: stddev=-1\.0"):
        ar.normal((2,), seed=0, stddev=-1.0)
    with pytest.raises(ValueError, match=r"Received: seed=-5"):
        ar.normal((2,), seed=-5)


def test_failed_call_leaves_out_untouched():
    out = np.full((4, 4), 7.0, np.float32)
    with pytest.raises(ValueError, match="stddev"):
        ar.truncated_normal((4, 4), seed=0, stddev=-1.0, out=out)
    assert (out == 7.0).all()


def test_empty_and_scalar_shapes():
    assert ar.normal((0, 5), seed=0).shape == (0, 5)
    s = ar.normal((), seed=0)
    assert s.shape == ()
    assert s == ar.normal((1,), seed=0)[0]
    assert ar.normal(7, seed=0).shape == (7,)


# --- per-value tests on discrete grids (docs/stream-contract.md, "Rounding onto the output grid") ---------


def _grid(lo: float, hi: float, dtype: str) -> np.ndarray:
    """Every value of ``dtype`` in ``[lo, hi]`` (finite), ascending, as float64."""
    if dtype in ("bfloat16", "float16"):
        t = ml_dtypes.bfloat16 if dtype == "bfloat16" else np.float16
        b = np.arange(2**16, dtype=np.uint32).astype(np.uint16)
        exp_mask = np.uint16(0x7F80 if dtype == "bfloat16" else 0x7C00)
        v = np.unique(as_f64(b[(b & exp_mask) != exp_mask].view(t)))  # finite values (+-0 merged)
        return v[(v >= lo) & (v <= hi)]
    t, u = (np.float32, np.uint32) if dtype == "float32" else (np.float64, np.uint64)
    bits = 8 * np.dtype(t).itemsize
    sign = 1 << (bits - 1)

    def ordinal(x):
        b = int(np.array(x, t).view(u))
        return -(b & (sign - 1)) if b & sign else b

    o = np.arange(ordinal(_plan.grid_up(lo, dtype)), ordinal(_plan.grid_down(hi, dtype)) + 1, dtype=np.int64)
    b = np.where(o >= 0, o, (-o) | sign).astype(u) if bits == 32 else np.where(o >= 0, o, -o).astype(u)
    if bits == 64:
        b[o < 0] |= np.uint64(sign)
    return b.view(t).astype(np.float64)


def _rule_masses(grid: np.ndarray, lo: float, hi: float, dtype: str, cdf) -> np.ndarray:
    """Probability of each grid value under the contract's rule: the distribution on ``[lo, hi]``, rounded
    to nearest, restricted to the reals that round into the bounds. ``cdf`` takes mpmath numbers."""
    below = _plan.grid_below(float(grid[0]), dtype)
    above = _plan.grid_above(float(grid[-1]), dtype)
    pts = [mpmath.mpf(below), *(mpmath.mpf(float(g)) for g in grid), mpmath.mpf(above)]
    edges = [(pts[i] + pts[i + 1]) / 2 for i in range(len(pts) - 1)]
    edges = [max(e, mpmath.mpf(lo)) for e in edges] if math.isfinite(lo) else edges
    edges = [min(e, mpmath.mpf(hi)) for e in edges] if math.isfinite(hi) else edges
    f = [cdf(e) for e in edges]
    total = f[-1] - f[0]
    return np.array([float((f[i + 1] - f[i]) / total) for i in range(len(grid))])


def _chi_square_per_value(x: np.ndarray, grid: np.ndarray, masses: np.ndarray) -> None:
    values, counts = np.unique(as_f64(x), return_counts=True)
    idx = np.searchsorted(grid, values)
    assert (idx < len(grid)).all(), "values outside the grid of the interval"
    assert (grid[idx] == values).all(), "values outside the grid of the interval"
    obs = np.zeros(len(grid))
    obs[idx] = counts
    exp = masses * len(x)
    big = exp >= 5
    o = np.append(obs[big], obs[~big].sum())
    e = np.append(exp[big], exp[~big].sum())
    if e[-1] < 5:  # the pooled small cells: merge into the smallest big cell
        o, e = o[:-1], e[:-1]
        k = int(np.argmin(e))
        o[k] += obs[~big].sum()
        e[k] += exp[~big].sum()
    res = st.chisquare(o, e * o.sum() / e.sum())
    assert res.pvalue > KS_P_MIN, (res, len(o))


def _normal_cdf(mean, stddev):
    m, s = mpmath.mpf(mean), mpmath.mpf(stddev)
    return lambda x: mpmath.ncdf((x - m) / s)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize(
    ("kind", "kw"),
    [
        ("normal", {"stddev": 0.7}),
        ("truncated_normal", {"stddev": 0.7}),
        ("truncated_normal", {"stddev": 0.02}),  # bounds +-0.04 between grid values: the edge cells
        ("truncated_normal", {"stddev": 0.02, "a": -0.03, "b": 0.05}),
        ("uniform", {"minval": -1.0, "maxval": 1.0}),
        ("uniform", {"minval": 0.0, "maxval": 1.0}),
        ("uniform", {"minval": 0.3, "maxval": 2.9}),
    ],
)
def test_16bit_per_value_chi_square(dtype, kind, kw):
    """Each 16-bit value has the probability of its rounding cell within the bounds (no pile-up at the edges)."""
    x = getattr(ar, kind)((N,), seed=31, dtype=dtype, **kw)
    mean, sd = kw.get("mean", 0.0), kw.get("stddev", 1.0)
    if kind == "uniform":
        lo, hi = kw["minval"], kw["maxval"]
        cdf = lambda v: (v - lo) / (hi - lo)  # noqa: E731
    else:
        cdf = _normal_cdf(mean, sd)
        lo, hi = (-math.inf, math.inf) if kind == "normal" else (kw.get("a", -2 * sd), kw.get("b", 2 * sd))
    glo, ghi = (as_f64(x).min(), as_f64(x).max()) if kind == "normal" else (lo, hi)
    grid = _grid(glo, ghi if kind != "uniform" else _plan.grid_below(hi, dtype), dtype)
    _chi_square_per_value(x, grid, _rule_masses(grid, lo, hi, dtype, cdf))


def test_16bit_uniform_top_value_has_its_neighbours_mass():
    x = as_f64(ar.uniform((4 * N,), seed=32, dtype="bfloat16"))
    top = np.float64(1 - 2**-8)
    assert x.max() == top
    c_top = (x == top).sum()
    c_next = (x == top - 2**-8).sum()
    assert abs(c_top / c_next - 1) < 0.1  # was 1.5 when values rounding to 1.0 were clamped onto it


@pytest.mark.parametrize(
    ("dtype", "mean", "stddev", "a", "b"),
    [
        ("float32", 0.0, 1.0, 5.0, 5.001),
        ("float32", 0.0, 1.0, 2.0, 2.001),
        ("float32", 0.0, 1.0, -5.001, -5.0),
        ("float32", 0.0, 1.0, 0.3, 0.3001),
        ("float32", 0.0, 1.0, 5.0, 5.01),  # wider than the local expansion: float64 inverse CDF
        ("float32", 1.0, 0.01, 1.0001, 1.00012),
        ("float64", 0.0, 1.0, 5.0, 5.0 + 1e-12),
        ("float64", 0.0, 1.0, 1.0, 1.0 + 2000 * 2.0**-52),
        ("float64", 0.0, 1.0, -3.0 - 1e-12, -3.0),
        ("float64", 0.0, 1.0, 38.0, 38.0 + 1e-11),
        ("float64", 0.0, 1.0, 1e8, 1e8 + 3e-7),  # tail beyond the float64 CDF: few values, steep
        ("float64", 1.0 + 1000 * 2.0**-52, 1e-10, 1.0, 1.0 + 2000 * 2.0**-52),  # the float64 window, 2001 values
        ("float64", 1.0, 1e-12, 1.0 + 1.7e-12, 1.0 + 1.8e-12),  # the window near its edge, 451 values
    ],
)
def test_narrow_interval_per_value_chi_square(dtype, mean, stddev, a, b):
    """Every representable value of a narrow interval is drawn with its exact probability (mpmath)."""
    x = ar.truncated_normal((N,), seed=33, mean=mean, stddev=stddev, a=a, b=b, dtype=dtype)
    grid = _grid(a, b, dtype)
    assert 2 < len(grid) < 40000
    with mpmath.workdps(60):
        if a > 30:  # the normal CDF underflows: ratios of the upper tail
            cdf = lambda v: -mpmath.erfc((v - mean) / stddev / mpmath.sqrt(2))  # noqa: E731
        else:
            cdf = _normal_cdf(mean, stddev)
        masses = _rule_masses(grid, a, b, dtype, cdf)
    _chi_square_per_value(x, grid, masses)


@pytest.mark.parametrize(
    ("dtype", "lo", "hi"),
    [("float32", 1.0001, 1.0002), ("float32", -7.25, -7.2499), ("float64", 1.0, 1.0 + 3000 * 2.0**-52)],
)
def test_narrow_uniform_per_value_chi_square(dtype, lo, hi):
    x = ar.uniform((N,), seed=34, minval=lo, maxval=hi, dtype=dtype)
    grid = _grid(lo, _plan.grid_below(hi, dtype), dtype)
    with mpmath.workdps(40):
        masses = _rule_masses(grid, lo, hi, dtype, lambda v: (v - mpmath.mpf(lo)) / (mpmath.mpf(hi) - mpmath.mpf(lo)))
    _chi_square_per_value(x, grid, masses)


def _tail_ks(x, a, b, mirrored=False):
    """KS of far-tail samples through the exact transform u = (1 - Q(x)/Q(a)) / (1 - Q(b)/Q(a))."""
    if mirrored:
        x, a, b = -x, -b, -a
    la = sp.log_ndtr(-a)
    lx = la - sp.log_ndtr(-x)
    c = 1.0 if math.isinf(b) else -math.expm1(-(la - sp.log_ndtr(-b)))
    _ks(-np.expm1(-lx) / c, st.uniform.cdf)


@pytest.mark.parametrize(
    ("a", "b"),
    [(30.5, 31.0), (38.6, 39.0), (40.0, 41.0), (40.0, math.inf), (300.0, 300.5), (1e4, math.inf), (1e5, 1e5 + 1e-4)],
)
def test_far_tails_ks_float64(a, b):
    x = ar.truncated_normal((N,), seed=35, a=a, b=b, dtype="float64")
    assert x.min() >= a
    assert x.max() <= b
    _tail_ks(x, a, b)
    y = ar.truncated_normal((N,), seed=36, a=-b, b=-a, dtype="float64")
    assert y.max() <= -a
    _tail_ks(y, -b, -a, mirrored=True)


@pytest.mark.parametrize(("a", "b"), [(40.0, 41.0), (200.0, math.inf)])
def test_far_tails_ks_float32(a, b):
    x = ar.truncated_normal((N,), seed=37, a=a, b=b, dtype="float32")
    assert x.min() >= a
    # float32 values of (a, a + 1/a) are few: KS on the rounded reference
    u = np.sort(as_f64(x))
    la = sp.log_ndtr(-a)
    ref = -np.expm1(-(la - sp.log_ndtr(-u)))
    c = 1.0 if math.isinf(b) else -math.expm1(-(la - sp.log_ndtr(-b)))
    ecdf = np.arange(1, len(u) + 1) / len(u)
    # every value's cdf lies within its rounding cell's mass of the empirical cdf
    assert np.max(np.abs(ecdf - ref / c)) < 0.01


def test_tails_up_to_the_float64_limit():
    # values within 1e-200 of a bound round to that bound: every value is the bound
    for a in (1e200, 1e300, 1.7e308):
        x = ar.truncated_normal((1000,), seed=38, a=a, b=math.inf, dtype="float64")
        assert (x == a).all()
        y = ar.truncated_normal((1000,), seed=38, a=-math.inf, b=-a, dtype="float64")
        assert (y == -a).all()
    z = ar.truncated_normal((1000,), seed=38, mean=0.0, stddev=1e-300, a=1.0, b=2.0, dtype="float64")
    assert (z == 1.0).all()
    # a bound 1e600 standard deviations from the mean: all the mass lies in the rounding cell of 1.0
    w = ar.truncated_normal((1000,), seed=38, mean=-1e300, stddev=1e-300, a=1.0, b=2.0, dtype="float64")
    assert (w == 1.0).all()
    # bounds beyond the float64 range of standard deviations, the mass spread over many subnormals: a clear error
    with pytest.raises(ValueError, match=r"float64 range of standard deviations.*mean=-1\.7e\+308"):
        ar.truncated_normal((4,), seed=0, mean=-1.7e308, stddev=0.9, a=0.0, b=1.0, dtype="float64")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_stddev_far_larger_than_the_interval_is_uniform(dtype):
    x = as_f64(ar.truncated_normal((N,), seed=39, a=0.0, b=1.0, stddev=1e16, dtype=dtype))
    _ks(x, st.uniform(0, 1).cdf)
    y = as_f64(ar.truncated_normal((N,), seed=40, a=-1.0, b=1.0, stddev=1e17, dtype=dtype))
    _ks(y, st.uniform(-1, 2).cdf)
    z = as_f64(ar.truncated_normal((N,), seed=41, mean=5.0, stddev=1e3, lower=-1e-4, upper=1e-4, dtype=dtype))
    _ks(z, st.truncnorm(-1e-4, 1e-4, loc=5.0, scale=1e3).cdf)


def test_float64_normal_tails_ks():
    """The float64 normal's tail values (|z| > 2: the words whose high word takes the tail) and its deep
    tail (|z| > 3.29: Giles' further polynomials) follow the conditional normal distribution."""
    x = ar.normal((4 * N,), seed=42, dtype="float64")
    for cut in (2.0047, 3.3):
        t = x[np.abs(x) > cut]
        _ks(np.abs(t), lambda v, c=cut: (sp.ndtr(-c) - sp.ndtr(-v)) / sp.ndtr(-c))  # |Z| given |Z| > cut
        assert abs((t > 0).mean() - 0.5) < 5 * 0.5 / math.sqrt(t.size)


@pytest.mark.parametrize("stddev", [1e300, 1e-300])
def test_float64_window_with_extreme_stddev(stddev):
    """Keras' and torch's window in float64 with the largest and smallest standard deviations."""
    x = ar.truncated_normal((N,), seed=43, stddev=stddev, dtype="float64")
    assert np.isfinite(x).all()
    assert np.abs(x).max() <= 2 * stddev
    _ks(x / stddev, st.truncnorm(-2, 2).cdf)


@pytest.mark.parametrize(
    "call",
    [
        lambda: ar.uniform((4,), seed=0, minval=1.0001, maxval=1.0002, dtype="bfloat16"),
        lambda: ar.uniform((4,), seed=0, minval=1.0001, maxval=1.0002, dtype="float16"),
        lambda: ar.uniform((4,), seed=0, minval=1.0 + 1e-9, maxval=1.0 + 1.1e-8),
        lambda: ar.truncated_normal((4,), seed=0, a=1 + 1e-9, b=1 + 2e-9),
        lambda: ar.truncated_normal((4,), seed=0, a=1.001, b=1.002, dtype="bfloat16"),
        lambda: ar.truncated_normal((4,), seed=0, mean=1.0, stddev=1e-10, lower=0.5, upper=0.6),
        lambda: ar.truncated_normal((4,), seed=0, a=1e39, b=2e39),
        lambda: ai.RandomUniform(minval=1.0001, maxval=1.0002, seed=0)((4,), dtype="bfloat16"),
        lambda: ai.TruncatedNormal(mean=1.0 + 1e-9, stddev=1e-10, seed=0)((4,), dtype="float32"),
    ],
)
def test_no_value_of_the_dtype_in_the_interval_is_an_error(call):
    with pytest.raises(ValueError, match=r"No (bfloat16|float16|float32) value lies in the interval"):
        call()


def test_degenerate_uniform_is_the_rounded_value():
    assert (ar.uniform((5,), seed=0, minval=9.2, maxval=9.2) == np.float32(9.2)).all()
    assert (ar.uniform((5,), seed=0, minval=9.2, maxval=9.2, dtype="float64") == 9.2).all()
    b = ar.uniform((5,), seed=0, minval=9.2, maxval=9.2, dtype="bfloat16")
    assert (b == np.float32(9.2).astype(ml_dtypes.bfloat16)).all()


def test_review_edge_cases():
    # big-endian arrays cannot be filled with native bytes
    with pytest.raises(ValueError, match="byte order"):
        ar.normal((6,), seed=1, out=np.zeros(6, ">f4"))
    # element indices are 64-bit signed: full shapes of 2**63 elements or more are refused
    with pytest.raises(ValueError, match=r"2\*\*63"):
        ar.bits((1, 2), seed=0, full_shape=(2**62, 3), offset=(2**62 - 1, 1))
    g = (2**61 - 1) * 3 + 1
    got = ar.bits((1, 2), seed=0, full_shape=(2**61, 3), offset=(2**61 - 1, 1))
    assert got.tolist() == [[reference.word(0, g), reference.word(0, g + 1)]]
    # read-only out for bits
    ro = np.zeros(4, np.uint32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        ar.bits((4,), seed=0, out=ro)
    # uniform ranges beyond the dtype, or whose width overflows float64
    with pytest.raises(ValueError, match=r"`maxval` lies beyond the largest float16 value.*maxval=100000\.0"):
        ar.uniform((4,), seed=0, minval=0.0, maxval=1e5, dtype="float16")
    with pytest.raises(ValueError, match=r"`minval` lies beyond the largest float32 value.*minval=-1e\+39"):
        ar.uniform((4,), seed=0, minval=-1e39, maxval=0.0)
    with pytest.raises(ValueError, match=r"`maxval` - `minval` overflows float64.*minval=-1\.7e\+308"):
        ar.uniform((4,), seed=0, minval=-1.7e308, maxval=1.7e308, dtype="float64")
    # -0.0 and 0.0 are the same parameter (same values whatever the call history)
    a = ar.normal((16,), seed=2, mean=-0.0, stddev=0.0)
    b = ar.normal((16,), seed=2, mean=0.0, stddev=0.0)
    np.testing.assert_array_equal(a.view(np.uint32), b.view(np.uint32))


# --- parameters at the limits of the arithmetic (docs/stream-contract.md) -------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize(
    ("mean", "stddev", "a", "b"),
    [
        (1e300, 1.0, 0.0, 1e30),  # float32 and bfloat16 gave NaN
        (1e300, 1.0, 0.0, 3e38),
        (-1e300, 1.0, -1e37, 0.0),
        (1e300, 1.0, -6e4, 6e4),
        (1e5, 1e-300, -6e4, 6e4),  # bfloat16 gave NaN
        (-1e300, 65504.0, 3.006364849673009e38, 1.7976931348623157e308),  # float32 gave NaN
        (0.4759616182026782, 2.2250738585072014e-308, -5e-324, 6e-08),  # float16 gave NaN
        (-1e-45, 5e-324, 30.0, 3.3895313892515355e38),  # OverflowError
    ],
)
def test_truncated_normal_mass_in_one_rounding_cell(dtype, mean, stddev, a, b):
    """All the mass at the bound nearer the mean, within one rounding cell: every value is its grid value."""
    near = b if mean > b else a
    largest = {"float16": 65504.0, "bfloat16": 3.3895313892515355e38, "float32": 3.4028234663852886e38}
    if abs(near) > largest.get(dtype, math.inf):  # the values (or the bounds) lie beyond the dtype: a clear error
        with pytest.raises(ValueError, match=rf"overflow {dtype}.*mean=|No {dtype} value lies in the interval"):
            ar.truncated_normal((64,), seed=50, mean=mean, stddev=stddev, a=a, b=b, dtype=dtype)
        return
    x = as_f64(ar.truncated_normal((4096,), seed=50, mean=mean, stddev=stddev, a=a, b=b, dtype=dtype))
    value = _plan.grid_down(b, dtype) if near == b else _plan.grid_up(a, dtype)
    assert (x == value).all(), (value, np.unique(x))
    assert a <= value <= b


@pytest.mark.parametrize("dtype", ["float16", "float32", "bfloat16"])
def test_truncated_normal_window_far_from_its_grid_value(dtype):
    """A bound 30 standard deviations from the mean, 1e10 of them from its grid value (the float64 local sampler's
    start gave NaN): every value is that grid value."""
    a = {"float16": 999.8, "float32": 1.00000001, "bfloat16": 1.001}[dtype]
    for stddev in (1e-11, 1e-12, 1e-14):
        x = as_f64(ar.truncated_normal((4096,), seed=51, mean=a - 30 * stddev, stddev=stddev, a=a, dtype=dtype))
        assert (x == _plan.grid_up(a, dtype)).all()


@pytest.mark.parametrize("dtype", ["float16", "float32", "bfloat16", "float64"])
def test_truncated_normal_mass_in_the_zero_cell_is_positive_zero(dtype):
    """One sign of zero, whatever the call history (the samplers' sign of zero had varied)."""
    for b in (-0.0, 1e-320, 5e-324) if dtype != "float64" else (-0.0,):  # bounds in the zero cell
        z = ar.truncated_normal((64,), seed=51, mean=1e100, stddev=1e-200, a=-1.0, b=b, dtype=dtype)
        assert (np.asarray(z).view({2: np.uint16, 4: np.uint32, 8: np.uint64}[z.itemsize]) == 0).all()


@pytest.mark.parametrize(
    ("mean", "stddev", "a", "b"),
    [
        (0.0, 1e39, -3e38, 3e38),  # stddev beyond float32 (the log-free window sampler)
        (1e39, 1e39, 0.0, 3e38),  # mean beyond float32
        (5e38, 1e38, -3e38, 3e38),  # mean beyond float32 (the general sampler, a mirrored interval)
        (-3e38, 1e39, -3e38, 3e38),
    ],
)
def test_truncated_normal_parameters_beyond_float32(mean, stddev, a, b):
    """float32 and bfloat16 outputs take the float64 arithmetic (the float32 samplers saw infinities: every value on
    a bound, or NaN)."""
    x = ar.truncated_normal((N,), seed=52, mean=mean, stddev=stddev, a=a, b=b)
    xf = as_f64(x)
    assert np.isfinite(xf).all()
    assert xf.min() >= a
    assert xf.max() <= b
    _ks(xf, st.truncnorm((a - mean) / stddev, (b - mean) / stddev, loc=mean, scale=stddev).cdf)
    # bfloat16 samples the reals that round into the bounds: the float64 values of that window, rounded
    y = ar.truncated_normal((N,), seed=52, mean=mean, stddev=stddev, a=a, b=b, dtype="bfloat16")
    lo, hi = _plan.rounding_window(a, b, _plan.grid_up(a, "bfloat16"), _plan.grid_down(b, "bfloat16"), "bfloat16")
    x_window = ar.truncated_normal((N,), seed=52, mean=mean, stddev=stddev, a=float(lo), b=float(hi))
    differ = y.view(np.uint16) != x_window.astype(ml_dtypes.bfloat16).view(np.uint16)
    assert differ.mean() < 1e-3  # rounding twice (through float32) differs at rare ties
    assert as_f64(y).min() >= a
    assert as_f64(y).max() <= b


def test_uniform_width_beyond_float32():
    """float32 and bfloat16 ranges wider than the largest float32 take the float64 arithmetic (were refused)."""
    x = ar.uniform((N,), seed=53, minval=-3e38, maxval=3e38)
    xf = as_f64(x)
    assert xf.min() >= -3e38
    assert xf.max() < 3e38
    _ks(xf, st.uniform(loc=-3e38, scale=6e38).cdf)
    lo, hi = -3.3e38, 3.3895313892515355e38
    y = as_f64(ar.uniform((N,), seed=53, minval=lo, maxval=hi, dtype="bfloat16"))
    assert y.min() >= lo
    assert y.max() < hi
    assert abs(y.mean() - (lo + hi) / 2) < 5 * (hi - lo) / math.sqrt(12 * N)
    assert abs(y.std() / ((hi - lo) / math.sqrt(12)) - 1) < 0.01
    f16 = as_f64(ar.uniform((N,), seed=53, minval=-6e4, maxval=6e4, dtype="float16"))  # wider than float16's range
    assert f16.min() >= -6e4
    assert f16.max() < 6e4
    assert abs(f16.mean()) < 5 * 1.2e5 / math.sqrt(12 * N)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        # values far in a tail beyond the dtype: were infinities
        (lambda: ar.truncated_normal((4,), seed=0, stddev=1000.0, a=65400.0, dtype="float16"), "overflow float16"),
        (lambda: ar.truncated_normal((4,), seed=0, stddev=9000.0, a=45000.0, dtype="float16"), "overflow float16"),
        (lambda: ar.truncated_normal((4,), seed=0, stddev=5.67e36, a=3.4e38), "overflow float32"),
        # values spread far beyond the dtype from a bound 1e8 standard deviations out: were all on the bound
        (lambda: ar.truncated_normal((4,), seed=0, mean=-1e158, stddev=1e150, a=-1.6, b=1e300), "overflow float32"),
        (lambda: ar.truncated_normal((4,), seed=0, mean=-4.1e38, stddev=1e37, a=-1.0, dtype="float16"), "overflow"),
        # no finite value of the dtype in the interval: was an OverflowError
        (
            lambda: ar.truncated_normal(
                (4,), seed=0, mean=65504.0, stddev=2.0, lower=2.0, upper=math.inf, dtype="float16"
            ),
            r"No float16 value lies in the interval \[65508\.0, inf\]",
        ),
        # normal values beyond the dtype
        (lambda: ar.normal((4,), seed=0, mean=3e38, stddev=1e37), "overflow float32"),
        (lambda: ar.normal((4,), seed=0, mean=-6e4, stddev=1000.0, dtype="float16"), "overflow float16"),
    ],
)
def test_values_beyond_the_dtype_are_refused(call, match):
    with pytest.raises(ValueError, match=match) as info:
        call()
    assert "=" in str(info.value)  # the arguments and the values received


# --- stream contract vectors (tools/stream_vectors.py; docs/stream-contract.md, "Version history") ----------

CONTRACT_VERSION = 4
# the calls of tools/stream_vectors.py whose values each version changed
CHANGED = {
    2: {
        *(f"{c}/{d}" for c in ("uniform_0_1", "uniform_3_5") for d in ("bfloat16", "float16")),
        "uniform_keras/bfloat16",
        *(f"uniform_narrow/{d}" for d in ("bfloat16", "float16", "float32")),
        "truncnorm_keras/bfloat16",
        "truncnorm_torch/bfloat16",
        "truncnorm_torch/float16",
        "truncnorm_narrow/float32",
        *(f"truncnorm_far/{d}" for d in ("float16", "float32", "float64")),
        *(f"truncnorm_big_stddev/{d}" for d in ("bfloat16", "float16", "float32", "float64")),
    },
    # float32 values of the log-free window; 16-bit outputs of these calls round to the same values
    3: {"normal/float32", "normal_keras/float32", "truncnorm_keras/float32", "truncnorm_torch/float32"},
    # float64 values of the log-free window (normal |z| <= 2, truncation within two standard deviations)
    4: {"normal/float64", "normal_keras/float64", "truncnorm_keras/float64", "truncnorm_torch/float64"},
}


def _vectors(version):
    import json

    from tests.conftest import DATA

    doc = json.loads((DATA / f"stream_vectors_v{version}.json").read_text())
    assert doc["contract_version"] == version
    return doc["vectors"]


@pytest.mark.parametrize("version", range(1, CONTRACT_VERSION + 1))
def test_stream_vectors(version):
    """The current version's vectors hold exactly; an older version's hold for every call no later version changed."""
    import importlib.util

    from tests.conftest import DATA

    spec = importlib.util.spec_from_file_location("stream_vectors", DATA.parent.parent / "tools" / "stream_vectors.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    now = tool.vectors()
    old = _vectors(version)
    assert set(old) == set(now)
    changed_since = set().union(*(CHANGED[v] for v in range(version + 1, CONTRACT_VERSION + 1)))
    for key, vec in old.items():
        if key in changed_since:
            assert vec != now[key], f"{key} is listed as changed after version {version}"
        else:
            assert vec == now[key], f"{key}: values differ from contract version {version}"
