"""The kernels layer: Philox known answers, bit conversions, 16-bit rounding, log, ndtri."""

import math

import ml_dtypes
import numpy as np
import pytest
import scipy.special as sc
from numba import njit

from arrayinit._kernels import abi, floats, philox, samplers, special
from tests.conftest import DATA
from tests.reference import philox4x32


def _kat_rows():
    rows = []
    for line in (DATA / "philox4x32_10_kat.txt").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, rounds, *hexes = line.split()
        vals = [int(h, 16) for h in hexes]
        rows.append((name, int(rounds), vals[:4], vals[4:6], vals[6:]))
    return rows


KAT = _kat_rows()


def test_kat_file_has_the_three_published_vectors():
    assert len(KAT) == 3
    assert all(name == "philox4x32" and rounds == 10 for name, rounds, *_ in KAT)


@pytest.mark.parametrize(("name", "rounds", "ctr", "key", "expected"), KAT)
def test_philox_known_answers(name, rounds, ctr, key, expected):
    u = np.uint64
    got = philox.philox4x32_10(*(u(c) for c in ctr), u(key[0]), u(key[1]))
    assert [int(x) for x in got] == expected
    assert philox4x32(ctr, key, rounds) == expected  # the test reference agrees too


def test_philox_matches_reference_on_random_counters():
    rng = np.random.default_rng(7)
    u = np.uint64
    for _ in range(200):
        ctr = [int(x) for x in rng.integers(0, 2**32, 4)]
        key = [int(x) for x in rng.integers(0, 2**32, 2)]
        got = philox.philox4x32_10(*(u(c) for c in ctr), u(key[0]), u(key[1]))
        assert [int(x) for x in got] == philox4x32(ctr, key)


@njit
def _map_f32(fn_id, x, out):
    for i in range(x.shape[0]):
        if fn_id == 0:
            out[i] = floats.bf16_bits(x[i])
        else:
            out[i] = floats.f16_bits(x[i])


def _edge_f32_bits():
    rng = np.random.default_rng(1)
    patterns = [rng.integers(0, 2**32, 2_000_000, dtype=np.uint64).astype(np.uint32)]
    # exponents around the float16 normal/subnormal/overflow boundaries, all low bit patterns
    for e in [0, 1, 101, 102, 103, 110, 111, 112, 113, 142, 143, 254, 255]:
        for sign in (0, 1):
            mant = np.concatenate(
                [np.arange(0, 2**14, dtype=np.uint32), rng.integers(0, 2**23, 20000).astype(np.uint32)]
            )
            patterns.append((np.uint32(sign << 31) | np.uint32(e << 23) | mant).astype(np.uint32))
    # halfway cases for both formats
    for lowbits, width in [(0x8000, 16), (0x1000, 13)]:
        hi = rng.integers(0, 2**32, 100000, dtype=np.uint64).astype(np.uint32) & ~np.uint32((1 << width) - 1)
        patterns.append(hi | np.uint32(lowbits))
    return np.concatenate(patterns).view(np.float32)


def test_bfloat16_rounding_matches_ml_dtypes():
    x = _edge_f32_bits()
    got = np.empty(x.shape, np.uint16)
    _map_f32(0, x, got)
    with np.errstate(invalid="ignore", over="ignore"):
        want = x.astype(ml_dtypes.bfloat16).view(np.uint16)
    nan = np.isnan(x)
    np.testing.assert_array_equal(got[~nan], want[~nan])
    assert np.isnan(got[nan].view(ml_dtypes.bfloat16).astype(np.float32)).all()


def test_float16_rounding_matches_numpy():
    x = _edge_f32_bits()
    got = np.empty(x.shape, np.uint16)
    _map_f32(1, x, got)
    with np.errstate(invalid="ignore", over="ignore"):
        want = x.astype(np.float16).view(np.uint16)
    nan = np.isnan(x)
    np.testing.assert_array_equal(got[~nan], want[~nan])
    assert np.isnan(got[nan].view(np.float16)).all()


@njit
def _units(w, out32, out32o, w64, out64, out64o):
    for i in range(w.shape[0]):
        out32[i] = floats.unit_f32(w[i])
        out32o[i] = floats.open_unit_f32(w[i])
    for i in range(w64.shape[0]):
        out64[i] = floats.unit_f64(w64[i])
        out64o[i] = floats.open_unit_f64(w64[i])


def test_unit_interval_conversions_are_exact_and_in_range():
    w = np.array([0, 1, 255, 256, 511, 512, 2**31, 2**32 - 257, 2**32 - 256, 2**32 - 1], np.uint32)
    w64 = np.array([0, 1, 2**11, 2**12 - 1, 2**63, 2**64 - 2**12, 2**64 - 1], np.uint64)
    o32, o32o = np.empty(w.shape, np.float32), np.empty(w.shape, np.float32)
    o64, o64o = np.empty(w64.shape), np.empty(w64.shape)
    _units(w, o32, o32o, w64, o64, o64o)
    for wi, a, b in zip(w.tolist(), o32.tolist(), o32o.tolist()):
        assert a == (wi >> 8) * 2.0**-24
        assert b == ((wi >> 9) + 0.5) * 2.0**-23
        assert 0.0 <= a < 1.0
        assert 0.0 < b < 1.0
    for wi, a, b in zip(w64.tolist(), o64.tolist(), o64o.tolist()):
        assert a == (wi >> 11) * 2.0**-53
        assert b == ((wi >> 12) + 0.5) * 2.0**-52
        assert 0.0 <= a < 1.0
        assert 0.0 < b < 1.0


@njit
def _apply(fn_id, x, out):
    for i in range(x.shape[0]):
        if fn_id == 0:
            out[i] = special.log32(np.float32(x[i]))
        elif fn_id == 1:
            out[i] = special.log64(np.float64(x[i]))
        elif fn_id == 2:
            out[i] = special.ndtri32(np.float32(x[i]))
        else:
            out[i] = special.ndtri64(np.float64(x[i]))


def _run(fn_id, x):
    out = np.empty_like(x)
    _apply(fn_id, x, out)
    return out


def test_log32_within_one_ulp():
    rng = np.random.default_rng(2)
    x = np.exp(rng.uniform(-87, 88, 2_000_000)).astype(np.float32)
    x = x[(x > 0) & np.isfinite(x)]
    ref = np.log(x.astype(np.float64))
    err = np.abs(_run(0, x) - ref) / np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
    assert err.max() <= 1.0


def test_log64_within_one_ulp_including_subnormals():
    rng = np.random.default_rng(3)
    x = np.concatenate([np.exp(rng.uniform(-744, 709, 2_000_000)), [5e-324, 1e-310, 1.0, 2.0, 0.5]])
    ref = np.log(x)
    err = np.abs(_run(1, x) - ref) / np.spacing(np.abs(ref))
    err[ref == 0] = 0
    assert err.max() <= 1.0


# Stated accuracy (docs/stream-contract.md): float32 ndtri within 5e-7 relative
# for p in [1e-20, 1 - 1e-7]; float64 within 4e-15 relative for p in [1e-300, 1 - 1e-16].
@pytest.mark.parametrize(("lo", "hi"), [(1e-20, 1e-8), (1e-8, 0.0017), (0.0017, 0.5)])
def test_ndtri32_accuracy(lo, hi):
    rng = np.random.default_rng(4)
    q = np.exp(rng.uniform(math.log(lo), math.log(hi), 500_000)).astype(np.float32)
    p = np.concatenate([q, (1 - q.astype(np.float64)).astype(np.float32)])
    p = p[(p > 0) & (p < 1)]
    ref = sc.ndtri(p.astype(np.float64))
    got = _run(2, p).astype(np.float64)
    rel = np.abs(got - ref) / np.maximum(np.abs(ref), 1e-3)
    assert rel.max() < 5e-7


@pytest.mark.parametrize(("lo", "hi"), [(1e-300, 1e-100), (1e-100, 1e-16), (1e-16, 0.001), (0.001, 0.5)])
def test_ndtri64_accuracy(lo, hi):
    rng = np.random.default_rng(5)
    q = np.exp(rng.uniform(math.log(lo), math.log(hi), 500_000))
    p = np.concatenate([q, 1 - q[q > 1e-16]])
    ref = sc.ndtri(p)
    got = _run(3, p)
    rel = np.abs(got - ref) / np.maximum(np.abs(ref), 1e-12)
    assert rel.max() < 4e-15


def test_ndtri_is_monotone_and_finite_at_the_ends():
    p32 = np.array([0.0, 1e-38, 1e-30, 1e-20, 0.5, 1 - 2**-24, 1.0], np.float32)
    z32 = _run(2, p32)
    assert np.isfinite(z32).all()
    assert (np.diff(z32) >= 0).all()
    p64 = np.array([0.0, 5e-324, 1e-300, 0.5, 1 - 2**-53, 1.0])
    z64 = _run(3, p64)
    assert np.isfinite(z64).all()
    assert (np.diff(z64) >= 0).all()
    assert z64[3] == 0.0
    assert z32[4] == 0.0


@njit
def _ndtri32_both_forms(q, split_out, select_out, w_out):
    for i in range(q.shape[0]):
        split_out[i] = special._ndtri_lower32(q[i], True)
        select_out[i] = special._ndtri_lower32(q[i], False)
        # the w both forms branch on, in the same float32 operations
        w_out[i] = -special.log32(np.float32(4.0) * (q[i] * (np.float32(1.0) - q[i])))


def test_ndtri32_early_return_form_gives_the_same_floats():
    """CUDA's form (central branch returns early) == the CPU's branch-free form, bit for bit."""
    rng = np.random.default_rng(6)
    # every float32 around w = 5, where the central branch ends: 4 q (1 - q) = exp(-5)
    edge = np.float32((1 - math.sqrt(1 - math.exp(-5))) / 2)
    around = edge + np.arange(-4000, 4000, dtype=np.float32) * np.spacing(edge)
    q_rand = np.exp(rng.uniform(math.log(1e-30), 0.0, 1_000_000)).astype(np.float32)
    q_rand = q_rand[q_rand < 1]
    q = np.concatenate([around, np.float32(1) - around, q_rand, [np.float32(0.5), np.float32(2.0**-33)]])
    split, select, w = np.empty_like(q), np.empty_like(q), np.empty_like(q)
    _ndtri32_both_forms(q, split, select, w)
    edge_w = w[: 2 * around.size]
    assert (edge_w < 5).sum() > 1000  # the probes straddle the boundary
    assert (edge_w >= 5).sum() > 1000
    assert (w >= 16).any()  # and the far branch is exercised
    np.testing.assert_array_equal(split.view(np.uint32), select.view(np.uint32))


@njit
def _log1p_all(x, out):
    for i in range(x.shape[0]):
        out[i] = samplers.log1p64(x[i])


def test_log1p64_within_two_ulps():
    rng = np.random.default_rng(7)
    x = np.concatenate(
        [-(10.0 ** rng.uniform(-300, 0, 200_000)) * 0.999999, 10.0 ** rng.uniform(-300, 3, 200_000), [0.0, -0.5, 1e-17]]
    )
    out = np.empty_like(x)
    _log1p_all(x, out)
    ref = np.log1p(x)
    err = np.abs(out - ref) / np.spacing(np.abs(ref))
    err[ref == 0] = 0
    assert err.max() <= 2.0


@njit
def _local_all(w, p, out):
    for i in range(w.shape[0]):
        out[i] = samplers.truncnorm_local64(
            w[i], p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11]
        )


@pytest.mark.parametrize(("a", "b"), [(35.0, 36.0), (1e3, np.inf), (0.5, 0.5005), (-2.0005, -2.0)])
def test_truncnorm_local_inverts_the_tail_cdf(a, b):
    """The local sampler's value for u equals the exact quantile (mpmath) to a few ulps."""
    from arrayinit._kernels.abi import TRUNCNORM_LOCAL
    from arrayinit._plan import truncnorm_params

    dist, _, p = truncnorm_params(0.0, 1.0, a, b, a, b, "float64")
    assert dist == TRUNCNORM_LOCAL
    w = np.array([1, 2**40, 2**62, 2**63, 2**64 - 2**12, 12345678901234567], np.uint64)
    out = np.empty(len(w))
    _local_all(w, tuple(np.float64(v) for v in p), out)
    for wi, x in zip(w.tolist(), out.tolist()):
        _check_quantile(wi, x, a, b)


def _check_quantile(wi, x, a, b):
    import mpmath

    with mpmath.workdps(60):
        u = mpmath.mpf((wi >> 12) * 2 + 1) / 2**53
        qa = mpmath.erfc(mpmath.mpf(a) / mpmath.sqrt(2))
        qb = mpmath.erfc(mpmath.mpf(b) / mpmath.sqrt(2)) if np.isfinite(b) else 0
        if a + b < 0:  # mirrored: the sampler runs from b downwards
            qa, qb = mpmath.erfc(-mpmath.mpf(b) / mpmath.sqrt(2)), mpmath.erfc(-mpmath.mpf(a) / mpmath.sqrt(2))
            target = qa - u * (qa - qb)
            ref = -mpmath.findroot(lambda z, tg=target: mpmath.log(mpmath.erfc(z / mpmath.sqrt(2)) / tg), -b)
        else:
            target = qa - u * (qa - qb)
            ref = mpmath.findroot(lambda z, tg=target: mpmath.log(mpmath.erfc(z / mpmath.sqrt(2)) / tg), a)
        assert abs(x - float(ref)) <= 4 * np.spacing(abs(float(ref))), (wi, x, ref)


@njit
def _window_all(q, out):
    for i in range(q.shape[0]):
        out[i] = special.ndtri_window32(q[i])


def test_ndtri_window32_accuracy_and_symmetry():
    """Stated accuracy (docs/stream-contract.md): within 6 float32 ulps of ndtri(1/2 + q), |q| <= 0.4775."""
    rng = np.random.default_rng(8)
    qm = special.Q_WINDOW
    q = np.concatenate([rng.uniform(-qm, qm, 2_000_000), np.linspace(-qm, qm, 100_001), [0.0, 1e-30, -1e-30]])
    q = q.astype(np.float32)
    z = np.empty_like(q)
    _window_all(q, z)
    q64 = q.astype(np.float64)
    ref = np.where(np.abs(q64) < 1e-9, q64 * math.sqrt(2 * math.pi), sc.ndtri(0.5 + q64))
    ulps = np.abs(z - ref) / np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
    ulps[ref == 0] = 0
    assert ulps.max() <= 6.0
    assert (np.abs(z - ref) <= 4e-7 * np.abs(ref)).all()
    neg = np.empty_like(q)
    _window_all(-q, neg)
    np.testing.assert_array_equal(neg, -z)  # odd: -q gives exactly -z
    zs = z[np.argsort(q, kind="stable")]
    drops = np.maximum.accumulate(zs) - zs  # monotone up to its rounding errors
    assert (drops <= 6 * np.spacing(np.abs(zs))).all()


@njit
def _recip_all(d, out):
    for i in range(d.shape[0]):
        out[i] = special.recip32(d[i])


def test_recip32_within_two_ulps():
    d = np.concatenate([np.geomspace(0.5, 300.0, 1_000_000), [1.0, 2.0, 222.75]]).astype(np.float32)
    out = np.empty_like(d)
    _recip_all(d, out)
    ref = 1.0 / d.astype(np.float64)
    assert (np.abs(out - ref) / np.spacing(ref.astype(np.float32)).astype(np.float64)).max() <= 2.0


@njit
def _normal_scalar(w, out):
    for i in range(w.shape[0]):
        out[i] = samplers.normal32(w[i], np.float32(0.0), np.float32(1.0))


def test_normal32_passes_equal_the_per_element_sampler():
    """The CPU target's passes (central window for all words, tail words again) equal normal32 word by word."""
    import arrayinit.random as ar

    w = ar.bits((200_003,), seed=9)
    ref = np.empty(len(w), np.float32)
    _normal_scalar(w, ref)
    got = ar.normal((200_003,), seed=9)
    np.testing.assert_array_equal(got.view(np.uint32), ref.view(np.uint32))
    # runs that start inside a Philox block and end with groups of fewer than 8 words
    block = {"full_shape": (7, 4200), "offset": (1, 3)}
    w2 = ar.bits((5, 4099), seed=9, **block).reshape(-1)
    ref2 = np.empty(len(w2), np.float32)
    _normal_scalar(w2, ref2)
    got2 = ar.normal((5, 4099), seed=9, **block).reshape(-1)
    np.testing.assert_array_equal(got2.view(np.uint32), ref2.view(np.uint32))
    tail = (w & 0x7FFFFFFF) < int(samplers.R_CENTRAL)
    assert 0.04 < tail.mean() < 0.05
    assert (np.abs(ref[tail]) >= 2.0).all()
    assert (np.abs(ref[~tail]) <= 2.0048).all()


# --- float64: the log-free window, the normal's words, both forms of ndtri64 (docs/stream-contract.md) ------

ULPS64 = 6.0  # stated accuracy of ndtri_window64 and of the float64 normal's values


def _ulps64(got: float, ref) -> float:
    """|got - ref| in float64 ulps of ``ref`` (an mpmath number)."""
    import mpmath

    if ref == 0:
        return 0.0 if got == 0 else math.inf
    return float(abs(mpmath.mpf(got) - ref) / mpmath.mpf(float(np.spacing(abs(float(ref))))))


@njit
def _window64_all(q, out):
    for i in range(q.shape[0]):
        out[i] = special.ndtri_window64(q[i])


def test_ndtri_window64_within_six_ulps_of_mpmath():
    """The float64 window against mpmath: uniform points, both ends of the window, tiny arguments."""
    import mpmath

    qm = special.Q_WINDOW
    rng = np.random.default_rng(40)
    ends = qm - np.geomspace(1e-15, 0.05, 1000)
    small = np.geomspace(1e-300, 0.01, 500)
    q = np.concatenate([rng.uniform(-qm, qm, 4000), ends, -ends, small, -small, [qm, -qm, 0.0]])
    z = np.empty_like(q)
    _window64_all(q, z)
    with mpmath.workdps(40):
        worst = max(_ulps64(zi, mpmath.sqrt(2) * mpmath.erfinv(2 * mpmath.mpf(qi))) for qi, zi in zip(q.tolist(), z))
    assert worst <= ULPS64
    assert z[-1] == 0.0


def test_ndtri_window64_is_odd_and_monotone():
    qm = special.Q_WINDOW
    q = np.concatenate([np.linspace(-qm, qm, 1_000_001), np.random.default_rng(41).uniform(-qm, qm, 1_000_000)])
    z, neg = np.empty_like(q), np.empty_like(q)
    _window64_all(q, z)
    _window64_all(-q, neg)
    np.testing.assert_array_equal(neg.view(np.uint64), (-z).view(np.uint64))  # odd: -q gives exactly -z
    zs = z[np.argsort(q, kind="stable")]
    drops = np.maximum.accumulate(zs) - zs  # monotone up to its rounding errors
    assert (drops <= ULPS64 * np.spacing(np.abs(zs))).all()
    assert np.abs(z).max() <= 2.0047  # ndtri(1/2 + 0.4775) = 2.00465


def _normal64_probe_words() -> np.ndarray:
    """64-bit words of every branch of the float64 normal: random ones, high words at the window's and
    the deep tail's edges (both signs, random low words), the extreme tail probabilities."""
    rng = np.random.default_rng(42)
    edges = [int(samplers.R_CENTRAL), int(samplers.R_DEEP)]
    his = [rng.integers(0, 2**32, 3000, dtype=np.uint64)]
    for e in edges:
        r = np.arange(e - 40, e + 40, dtype=np.uint64)
        his += [r, r | np.uint64(2**31)]
    # log-uniform tail probabilities down to the deepest words
    his.append(np.exp(rng.uniform(0.0, math.log(float(samplers.R_CENTRAL)), 1500)).astype(np.uint64))
    his.append(np.array([0, 1, 2, 2**31, 2**31 + 1, 2**31 - 1, 2**32 - 1], np.uint64))
    hi = np.concatenate(his)
    lo = rng.integers(0, 2**32, hi.size, dtype=np.uint64)
    lo[-7:] = [0, 0, 2**32 - 1, 0, 2**32 - 1, 2**32 - 1, 2**32 - 1]
    return (hi << np.uint64(32)) | lo


@njit
def _normal64_forms(w, out, tail, near):
    for i in range(w.shape[0]):
        out[i] = samplers.std_normal64(w[i])
        tail[i] = samplers.std_normal64_tail(w[i])
        near[i] = samplers.std_normal64_near(w[i])


def test_normal64_values_within_six_ulps_of_mpmath():
    """Each float64 normal value against the exact quantile of its word: sign bit, q = (2 r + 1) 2**-65."""
    import mpmath

    w = _normal64_probe_words()
    z, tail, near = np.empty(w.size), np.empty(w.size), np.empty(w.size)
    _normal64_forms(w, z, tail, near)
    hi = (w >> np.uint64(32)).astype(np.uint32)
    is_tail = (hi & np.uint32(0x7FFFFFFF)) < samplers.R_CENTRAL
    deep = (hi & np.uint32(0x7FFFFFFF)) < samplers.R_DEEP
    assert 0.03 < is_tail[:3000].mean() < 0.06
    assert deep.sum() > 100
    np.testing.assert_array_equal(z[is_tail].view(np.uint64), tail[is_tail].view(np.uint64))
    # Giles' central polynomial alone gives the same floats wherever the sampler uses it
    np.testing.assert_array_equal(near[is_tail & ~deep].view(np.uint64), tail[is_tail & ~deep].view(np.uint64))
    worst = 0.0
    with mpmath.workdps(60):
        for wi, zi in zip(w.tolist(), z.tolist()):
            q = mpmath.mpf(2 * (wi & (2**63 - 1)) + 1) / mpmath.mpf(2) ** 65
            ref = mpmath.sqrt(2) * mpmath.erfinv(2 * q - 1)
            worst = max(worst, _ulps64(zi, -ref if wi >> 63 else ref))
    assert worst <= ULPS64
    assert np.abs(z[is_tail]).min() >= 2.0
    assert np.abs(z[~is_tail]).max() <= 2.0048
    assert np.abs(z).max() < 9.2


def _plan_bits(shape, full, off, seed, stream):
    from arrayinit import _engine
    from arrayinit._kernels.abi import BITS
    from arrayinit._plan import FillPlan

    out = np.empty(math.prod(shape), np.uint32)
    _engine.run_cpu(FillPlan(shape, full, off, BITS, "uint32", seed, stream), out)
    return out.astype(np.uint64)


@njit
def _sample64_all(w, dist, p, out):
    for i in range(w.shape[0]):
        if dist == 0:
            out[i] = samplers.normal64(w[i], p[4], p[5])
        elif dist == 1:
            out[i] = samplers.truncnorm64_window(w[i], p[0], p[1], p[4], p[5], p[6], p[7])
        elif dist == 2:
            out[i] = samplers.truncnorm64_central(w[i], p[0], p[1], p[2], p[4], p[5], p[6], p[7])
        else:
            out[i] = samplers.truncnorm64(w[i], p[0], p[1], p[2], p[4], p[5], p[6], p[7])


@pytest.mark.parametrize(
    ("kind", "kw"),
    [
        ("normal", {"mean": 0.5, "stddev": 3.0}),
        ("truncated_normal", {"stddev": 0.05}),  # Keras: the window
        ("truncated_normal", {"lower": -3.0, "upper": 3.0}),  # Giles' central polynomial
        ("truncated_normal", {"lower": -4.0, "upper": 3.0}),  # every polynomial, selected per element
        ("truncated_normal", {"lower": -9.0, "upper": -3.0}),
    ],
)
def test_float64_passes_equal_the_per_element_sampler(kind, kw):
    """The CPU target's loops (the normal's passes over central and tail words, the selected forms) equal
    the per-element samplers, whose branches CUDA takes, word by word; blocks starting inside a Philox
    block and rows ending with fewer than 8 words included."""
    import arrayinit.random as ar
    from arrayinit import _plan

    cases = [((200_003,), (200_003,), (0,)), ((5, 4099), (7, 4200), (1, 3))]
    for shape, full, off in cases:
        got = getattr(ar, kind)(shape, seed=9, dtype="float64", full_shape=full, offset=off, **kw).reshape(-1)
        hi = _plan_bits(shape, full, off, 9, 0)
        lo = _plan_bits(shape, full, off, 9, 2**63)
        w = (hi << np.uint64(32)) | lo
        if kind == "normal":
            dist, c64, p = _plan.normal_params(kw["mean"], kw["stddev"], "float64")
            which = 0
        else:
            lo_b, hi_b = kw.get("lower", -2.0), kw.get("upper", 2.0)
            sd = kw.get("stddev", 1.0)
            dist, c64, p = _plan.truncnorm_params(0.0, sd, lo_b, hi_b, lo_b * sd, hi_b * sd, "float64")
            which = {abi.TRUNCNORM_WINDOW: 1, abi.TRUNCNORM_CENTRAL: 2, abi.TRUNCNORM: 3}[dist]
        assert c64
        ref = np.empty(w.size)
        _sample64_all(w, which, tuple(np.float64(v) for v in p), ref)
        np.testing.assert_array_equal(got.view(np.uint64), ref.view(np.uint64))


def _tail_patterns():
    """Words (high words for float64) with every count of tail words a group of 8 can hold: none, all,
    alternating, one per group at each lane, random half, for lengths that end inside a group."""
    rng = np.random.default_rng(5)
    tail = rng.integers(0, int(samplers.R_CENTRAL), 64, dtype=np.uint32) | (
        rng.integers(0, 2, 64, dtype=np.uint32) << 31
    )
    central = rng.integers(int(samplers.R_CENTRAL), 2**31, 64, dtype=np.uint32)
    central |= rng.integers(0, 2, 64, dtype=np.uint32) << 31
    patterns = [np.zeros(64, bool), np.ones(64, bool), np.arange(64) % 2 == 0, rng.random(64) < 0.5]
    patterns += [np.arange(64) % 8 == lane for lane in range(8)]
    for n in (0, 1, 7, 8, 9, 16, 23, 64):
        for is_tail in patterns:
            yield np.where(is_tail[:n], tail[:n], central[:n])


def test_normal_tail_words_found_for_every_mask_of_a_group():
    """The normal's passes (central window for every word, tail words found eight at a time by a table,
    transformed and put back) equal the per-element samplers for groups of every kind, float32 and float64."""
    from arrayinit._targets import cpu

    rng = np.random.default_rng(6)
    for words in _tail_patterns():
        n = len(words)
        buf = dict(where=np.full(n + 8, -7, np.int32), tail_vals=np.zeros(n + 8))
        got32, ref32 = np.empty(n, np.float32), np.empty(n, np.float32)
        p32 = np.zeros(12, np.float32)
        p32[5] = 1.0
        tail_words = np.zeros(n + 8, np.uint32)
        cpu._transform32(
            got32, words, abi.NORMAL, p32, buf["where"][:n], tail_words[:n], buf["tail_vals"][:n].astype(np.float32)
        )
        _normal_scalar(words, ref32)
        np.testing.assert_array_equal(got32.view(np.uint32), ref32.view(np.uint32))
        lo = rng.integers(0, 2**32, n, dtype=np.uint32)
        got64, ref64 = np.empty(n), np.empty(n)
        p64 = np.zeros(12)
        p64[5] = 1.0
        tail_hi, tail_lo = np.zeros(n, np.uint32), np.zeros(n, np.uint32)
        cpu._transform64(got64, words, lo, abi.NORMAL, p64, buf["where"][:n], tail_hi, tail_lo, buf["tail_vals"][:n])
        _sample64_all((words.astype(np.uint64) << np.uint64(32)) | lo, 0, tuple(np.float64(v) for v in p64), ref64)
        np.testing.assert_array_equal(got64.view(np.uint64), ref64.view(np.uint64))
        assert (buf["where"][n:] == -7).all()  # nothing stored past the words' own slots


@njit
def _ndtri64_forms(q, branches, selected, central):
    for i in range(q.shape[0]):
        branches[i] = special._ndtri_lower64(q[i], True)
        selected[i] = special._ndtri_lower64(q[i], False)
        central[i] = special.ndtri_lower64_central(q[i])


def test_ndtri64_selected_form_gives_the_same_floats_as_the_branches():
    """CUDA's form (one branch per range of w) == the CPU's selected form, bit for bit, around every end
    of a range (w = 6.25, 16, 36, 100, 300) and on random probabilities; Giles' central polynomial alone
    equals both where w < 6.25."""
    rng = np.random.default_rng(43)
    probes = []
    for w_end in (6.25, 16.0, 36.0, 100.0, 300.0):
        # 4 q (1 - q) = exp(-w) near q = exp(-w) / 4
        edge = -math.expm1(math.log1p(-math.exp(-w_end)) / 2) / 2 if w_end < 30 else math.exp(-w_end) / 4
        probes.append(edge + np.arange(-3000, 3000) * np.spacing(edge))
    q_rand = np.exp(rng.uniform(math.log(1e-300), math.log(0.5), 1_000_000))
    q = np.concatenate([*probes, q_rand, 1 - q_rand[q_rand > 1e-12], [0.5, 5e-324, 1e-310]])
    branches, selected, central = np.empty_like(q), np.empty_like(q), np.empty_like(q)
    _ndtri64_forms(q, branches, selected, central)
    np.testing.assert_array_equal(branches.view(np.uint64), selected.view(np.uint64))
    w = -np.log(4 * q * (1 - q))
    inside = (q >= 0.000484) & (q <= 1 - 0.000484)
    assert (w[: 2 * 3000] < 6.25).sum() > 1000  # the probes straddle the first end
    np.testing.assert_array_equal(central[inside].view(np.uint64), branches[inside].view(np.uint64))


@pytest.mark.parametrize(("a", "b"), [(-2.0, 2.0), (0.3, 1.7), (-2.0, -1.99), (-0.001, 0.002)])
def test_truncnorm64_window_against_mpmath(a, b):
    """Values of the float64 window against the exact quantile ``ndtri(Phi(a) + u (Phi(b) - Phi(a)))``,
    ``u = ((w64 >> 12) + 1/2) 2**-52``: within a few ulps plus the rounding of ``Phi(a) - 1/2`` and of
    ``(Phi(b) - Phi(a)) 2**-52`` (about 2e-16 in q), scaled by the slope of the inverse CDF."""
    import mpmath

    from arrayinit._kernels.abi import TRUNCNORM_WINDOW
    from arrayinit._plan import truncnorm_params

    dist, c64, p = truncnorm_params(0.0, 1.0, a, b, a, b, "float64")
    assert (dist, c64) == (TRUNCNORM_WINDOW, True)
    rng = np.random.default_rng(44)
    edge = np.array([0, 2**12 - 1, 2**64 - 1, 2**63], np.uint64)
    w = np.concatenate([rng.integers(0, 2**64 - 1, 2000, dtype=np.uint64, endpoint=True), edge])
    z = np.empty(w.size)
    _sample64_all(w, 1, tuple(np.float64(v) for v in p), z)
    assert (z >= a).all()
    assert (z <= b).all()
    with mpmath.workdps(40):
        pa, pb = mpmath.ncdf(a), mpmath.ncdf(b)
        for wi, zi in zip(w.tolist(), z.tolist()):
            u = (mpmath.mpf(wi >> 12) + mpmath.mpf(0.5)) / mpmath.mpf(2) ** 52
            ref = mpmath.sqrt(2) * mpmath.erfinv(2 * (pa + u * (pb - pa)) - 1)
            slope = math.sqrt(2 * math.pi) * math.exp(float(ref) ** 2 / 2)
            assert abs(zi - float(ref)) <= ULPS64 * np.spacing(abs(float(ref))) + 3e-16 * slope, (wi, zi, ref)
