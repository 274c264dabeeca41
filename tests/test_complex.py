"""Complex dtypes: parts from the real stream elements 2g and 2g + 1, jax's complex variance scaling."""

import math

import numpy as np
import pytest

import arrayinit as ai
import arrayinit.random as ar
from arrayinit import _complex, _dtypes

stats = pytest.importorskip("scipy.stats", reason="scipy is installed by the tests session")

NAMES = ["complex64", "complex128"]
PART = {"complex64": np.float32, "complex128": np.float64}


def _vs(distribution, seed=3):
    return ai.VarianceScaling(2.0, "fan_in", distribution, seed=seed)


@pytest.mark.parametrize("name", NAMES)
def test_normal_is_the_real_stream_of_shape_s_2(name):
    """The stream contract: element g's parts are real elements 2g and 2g + 1 drawn with stddev * sqrt(1/2)."""
    z = ar.normal((5, 7), seed=11, stddev=3.0, dtype=name)
    parts = ar.normal((5, 7, 2), seed=11, stddev=3.0 * math.sqrt(0.5), dtype=PART[name])
    assert z.dtype == np.dtype(name)
    assert z.shape == (5, 7)
    np.testing.assert_array_equal(z.real, parts[..., 0])
    np.testing.assert_array_equal(z.imag, parts[..., 1])
    u = ar.uniform((5, 7), seed=11, minval=-1.0, maxval=2.0, dtype=name)
    up = ar.uniform((5, 7, 2), seed=11, minval=-1.0, maxval=2.0, dtype=PART[name])
    np.testing.assert_array_equal(u.view(PART[name]).reshape(5, 7, 2), up)


GENERATORS = {
    "normal": lambda shape, name, **kw: ar.normal(shape, seed=5, dtype=name, **kw),
    "uniform": lambda shape, name, **kw: ar.uniform(shape, seed=5, minval=-2.0, maxval=1.0, dtype=name, **kw),
    "vs_uniform": lambda shape, name, **kw: _vs("uniform")(shape, name, **kw),
    "vs_truncated_normal": lambda shape, name, **kw: _vs("truncated_normal")(shape, name, **kw),
    "vs_untruncated_normal": lambda shape, name, **kw: _vs("untruncated_normal")(shape, name, **kw),
    "he_normal": lambda shape, name, **kw: ai.HeNormal(seed=2)(shape, name, **kw),
    "glorot_uniform": lambda shape, name, **kw: ai.GlorotUniform(seed=2)(shape, name, **kw),
}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("gen", sorted(GENERATORS))
def test_blocks_are_slices_of_the_whole(gen, name):
    make = GENERATORS[gen]
    whole = make((12, 10), name)
    assert whole.shape == (12, 10)
    assert whole.dtype == np.dtype(name)
    block = make((5, 7), name, full_shape=(12, 10), offset=(3, 2))  # fans come from full_shape
    np.testing.assert_array_equal(block, whole[3:8, 2:9])
    np.testing.assert_array_equal(make((), name), make((1,), name).reshape(()))
    assert make((), name).shape == ()


@pytest.mark.parametrize("name", NAMES)
def test_bit_equal_across_libraries(name):
    ref = _vs("truncated_normal")((6, 5), name)
    torch = pytest.importorskip("torch", reason="torch is installed by the tests_xp session")
    t = _vs("truncated_normal")((6, 5), getattr(torch, name), xp=torch)
    assert t.dtype == getattr(torch, name)
    np.testing.assert_array_equal(t.numpy(), ref)
    aas = pytest.importorskip("array_api_strict", reason="array_api_strict is installed by the tests session")
    np.testing.assert_array_equal(
        np.asarray(ar.normal((6, 5), seed=1, dtype=name, xp=aas)), ar.normal((6, 5), seed=1, dtype=name)
    )


def test_jax_and_dask_outputs():
    jnp = pytest.importorskip("jax.numpy", reason="jax is installed by the tests_xp session")
    ref = ai.LecunUniform(seed=4)((8, 6), "complex64")
    j = ai.LecunUniform(seed=4)((8, 6), "complex64", xp=jnp)
    assert j.dtype == jnp.complex64
    np.testing.assert_array_equal(np.asarray(j), ref)
    da = pytest.importorskip("dask.array", reason="dask is installed by the tests_xp session")
    d = ai.LecunUniform(seed=4)((8, 6), "complex64", xp=da, chunks=(3, 4))
    assert d.dtype == np.complex64
    np.testing.assert_array_equal(d.compute(), ref)


def test_complex128_in_jax_needs_x64():
    jax = pytest.importorskip("jax", reason="jax is installed by the tests_xp session")
    if jax.config.read("jax_enable_x64"):
        pytest.skip("jax_enable_x64 is on")
    with pytest.raises(ValueError, match="64-bit"):
        ar.normal((2,), seed=0, dtype="complex128", xp=jax.numpy)


@pytest.mark.parametrize("name", NAMES)
def test_normal_distribution(name):
    z = ar.normal((200_000,), seed=7, stddev=2.0, dtype=name).astype(np.complex128)
    for part in (z.real, z.imag):
        assert stats.kstest(part, "norm", args=(0.0, 2.0 * math.sqrt(0.5))).pvalue > 1e-3
    assert abs(np.corrcoef(z.real, z.imag)[0, 1]) < 0.01
    assert abs(np.mean(abs(z) ** 2) / 4.0 - 1) < 0.01


@pytest.mark.parametrize("name", NAMES)
def test_variance_scaling_uniform_is_the_disk(name):
    shape = (400, 500)  # fan_in 400, scale 2: variance 1/200
    z = _vs("uniform")(shape, name).astype(np.complex128).ravel()
    var = 2.0 / 400
    assert stats.kstest(abs(z) ** 2 / (2 * var), "uniform").pvalue > 1e-3  # |z|^2 uniform on [0, 2 var]
    assert stats.kstest((np.angle(z) / (2 * np.pi)) % 1.0, "uniform").pvalue > 1e-3
    assert abs(z).max() <= math.sqrt(2 * var) * (1 + 1e-6)
    assert abs(np.mean(abs(z) ** 2) / var - 1) < 0.01


@pytest.mark.parametrize("name", NAMES)
def test_variance_scaling_truncated_normal_is_jax_circular_form(name):
    shape = (400, 500)
    z = _vs("truncated_normal")(shape, name).astype(np.complex128).ravel()
    var = 2.0 / 400
    sd = math.sqrt(var) / 0.95311164380491208  # jax's constant
    # |z|^2 / sd^2 is an exponential(1) cut at 4 (modulus cut at two standard deviations)
    assert stats.kstest(abs(z) ** 2 / sd**2, stats.truncexpon(b=4.0).cdf).pvalue > 1e-3
    assert stats.kstest((np.angle(z) / (2 * np.pi)) % 1.0, "uniform").pvalue > 1e-3
    assert abs(z).max() <= 2 * sd * (1 + 1e-6)


def test_elementary_functions_are_accurate():
    u = np.random.default_rng(0).random(200_000)
    cos, sin = _complex._cos_sin_turn(u)
    np.testing.assert_allclose(cos, np.cos(2 * np.pi * u), rtol=0, atol=2e-15)
    np.testing.assert_allclose(sin, np.sin(2 * np.pi * u), rtol=0, atol=2e-15)
    t = np.concatenate([u * 0.9816843611112658, [0.0, 1e-300, 2.0**-53, 1e-9, 0.25, np.nextafter(0.25, 1)]])
    np.testing.assert_allclose(_complex._neg_log1m(t), -np.log1p(-t), rtol=2e-15, atol=0)
    # exact quadrant points
    c, s = _complex._cos_sin_turn(np.array([0.0, 0.25, 0.5, 0.75]))
    np.testing.assert_array_equal(c, [1.0, 0.0, -1.0, 0.0])
    np.testing.assert_array_equal(s, [0.0, 1.0, 0.0, -1.0])


def test_disk_matches_its_formula():
    """The disk from the element's uniforms: r = sqrt(2 u_r) * sqrt(variance), angle 2 pi u_t."""
    a = _vs("uniform", seed=0)((2, 2), "complex128")
    u = ar.uniform((2, 2, 2), seed=0, dtype="float64")
    var = 2.0 / 2
    expected = np.sqrt(2 * u[..., 0]) * math.sqrt(var) * np.exp(2j * np.pi * u[..., 1])
    np.testing.assert_allclose(a, expected, rtol=1e-14)


def test_core_initializers_and_refusals():
    z = ai.RandomNormal(mean=1.5, stddev=0.5, seed=0)((10_000,), "complex64")
    assert abs(z.real.mean() - 1.5) < 0.02
    assert abs(z.imag.mean()) < 0.02
    np.testing.assert_array_equal(ai.Ones()((3,), "complex64"), np.ones(3, np.complex64))
    out = np.zeros((4, 3), np.complex128)
    assert ai.HeUniform(seed=1).fill_(out) is out
    np.testing.assert_array_equal(out, ai.HeUniform(seed=1)((4, 3), "complex128"))
    for init in (ai.TruncatedNormal(seed=0), ai.Orthogonal(seed=0), ai.Identity()):
        with pytest.raises(ValueError, match="complex"):
            init((3, 3), "complex64")
    with pytest.raises(ValueError, match="complex"):
        ar.truncated_normal((3,), seed=0, dtype="complex64")
    with pytest.raises(ValueError, match="float"):  # integer dtypes stay refused
        ar.normal((3,), seed=0, dtype="int32")


def test_complex_names():
    assert _dtypes.complex_name(np.complex64) == "complex64"
    assert _dtypes.complex_name("complex128") == "complex128"
    assert _dtypes.complex_name(np.dtype("c8")) == "complex64"
    assert _dtypes.complex_name("float32") is None
    assert _dtypes.complex_name(np.float64) is None


def test_fill_complex_arrays_of_any_library():
    ref = ai.GlorotNormal(seed=1)((4, 3), "complex64")
    x = np.zeros((4, 6), np.complex64)[:, ::2]  # not contiguous
    assert ai.GlorotNormal(seed=1).fill_(x) is x
    np.testing.assert_array_equal(x, ref)
    torch = pytest.importorskip("torch", reason="torch is installed by the tests_xp session")
    t = torch.zeros(4, 3, dtype=torch.complex64, requires_grad=True)
    version = t._version
    assert ai.GlorotNormal(seed=1).fill_(t) is t
    np.testing.assert_array_equal(t.detach().numpy(), ref)
    assert t._version > version  # counted as an in-place update, as real fills are
    with pytest.raises(ValueError, match="complex64 array of shape"):
        ar.normal((4, 3), seed=0, dtype="complex64", out=np.zeros((4, 3), np.complex128))


BIG = 2**62  # complex tensors index real elements 2g and 2g + 1, which must stay below 2**63
HUGE = 2**50  # 8 PiB of complex64: more than any machine allocates


@pytest.mark.parametrize(
    "call",
    [
        lambda: ar.normal((BIG,), seed=0, dtype="complex64"),
        lambda: ai.HeNormal(seed=0)((BIG // 2, 2), "complex128"),
        lambda: ai.RandomUniform(seed=0)((BIG,), "complex64"),
    ],
)
def test_too_many_complex_elements_name_the_users_shape(call):
    with pytest.raises(ValueError, match=r"^Argument `shape` has 4611686018427387904 complex elements") as info:
        call()
    assert str(info.value).endswith(
        ("Received: shape=(4611686018427387904,)", "Received: shape=(2305843009213693952, 2)")
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda: ar.uniform((3,), seed=0, dtype="complex64", full_shape=(BIG,), offset=(5,)),
        lambda: ai.GlorotUniform(seed=0)((3, 4), "complex64", full_shape=(BIG // 4, 4), offset=(0, 0)),
    ],
)
def test_complex_full_shape_errors_show_the_users_full_shape(call):
    with pytest.raises(ValueError, match=r"^Argument `full_shape` has 4611686018427387904 complex elements") as info:
        call()
    assert str(info.value).endswith(("full_shape=(4611686018427387904,)", "full_shape=(1152921504606846976, 4)"))


@pytest.mark.parametrize(
    "init",
    [ai.RandomNormal(seed=0), ai.RandomUniform(seed=0), ai.HeUniform(seed=0), ai.LecunNormal(seed=0), ai.Ones()],
    ids=lambda i: type(i).__name__,
)
def test_complex_tensors_too_large_to_allocate_name_the_users_shape(init):
    # the message counts complex values (8 bytes for complex64), not the real stream's (n, 2) floats
    expected = (
        rf"^Argument `shape` asks for [\d,.]+ [KMGTP]iB \({HUGE} values of 8 bytes\), .* Received: shape=\({HUGE},\)$"
    )
    with pytest.raises(ValueError, match=expected):
        init((HUGE,), "complex64")


def test_complex_blocks_still_match_the_whole_after_the_checks():
    whole = ai.HeUniform(seed=2)((6, 5), "complex64")
    block = ai.HeUniform(seed=2)((2, 5), "complex64", full_shape=(6, 5), offset=(3, 0))
    np.testing.assert_array_equal(block, whole[3:5])
    assert ar.normal((), seed=4, dtype="complex128") == ar.normal((1,), seed=4, dtype="complex128")[0]
