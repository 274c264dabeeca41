"""arrayinit.flax: initializers for JAX and Flax, equal eagerly and under jit."""

import inspect
import math

import numpy as np
import pytest

jax = pytest.importorskip("jax", reason="jax is installed by the tests_xp session")
jnp = pytest.importorskip("jax.numpy", reason="jax is installed by the tests_xp session")
import arrayinit as ai  # noqa: E402
import arrayinit.flax as aif  # noqa: E402


def test_seed_comes_from_the_key():
    for s in (0, 5, 2**32 - 1):  # 64-bit seeds need jax_enable_x64 for jax.random.key
        assert aif.seed_from_key(jax.random.key_data(jax.random.key(s))) == s
    assert aif.seed_from_key(np.array([1, 2], np.uint32)) == 2**32 + 2
    w = aif.he_normal()(jax.random.key(7), (64, 32), jnp.float32)
    np.testing.assert_array_equal(np.asarray(w), ai.HeNormal(seed=7)((64, 32)))


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16, jnp.float16])
def test_eager_equals_jit(dtype):
    key = jax.random.key(3)
    for make in (
        aif.he_normal,
        aif.glorot_uniform,
        aif.lecun_normal,
        lambda: aif.truncated_normal(0.02),
        lambda: aif.truncated_normal(0.02, None, -1.0, 3.0),
        aif.orthogonal,
        lambda: aif.orthogonal(column_axis=0),
        lambda: aif.variance_scaling(1.0, "fan_avg", "normal", in_axis=1),
    ):
        init = make()
        eager = init(key, (48, 40), dtype)
        jitted = jax.jit(init, static_argnums=(1, 2))(key, (48, 40), dtype)
        assert eager.dtype == dtype
        np.testing.assert_array_equal(np.asarray(eager.astype(jnp.float32)), np.asarray(jitted.astype(jnp.float32)))


def test_jax_normal_means_untruncated():
    w = np.asarray(aif.variance_scaling(1.0, "fan_in", "normal")(jax.random.key(1), (4000, 100)))
    assert np.abs(w).max() > 2.5 * np.sqrt(1 / 4000)  # not cut at two standard deviations
    assert abs(w.std() / np.sqrt(1 / 4000) - 1) < 0.01


def test_flax_linen_module_init_eager_and_jit():
    nn = pytest.importorskip("flax.linen", reason="flax is installed by the tests_xp session")

    class MLP(nn.Module):
        @nn.compact
        def __call__(self, x):
            x = nn.Dense(32, kernel_init=aif.he_normal())(x)
            x = nn.relu(x)
            return nn.Dense(4, kernel_init=aif.glorot_uniform(), bias_init=aif.normal(0.1))(x)

    model = MLP()
    x = jnp.ones((2, 16))
    p1 = model.init(jax.random.key(0), x)
    p2 = jax.jit(model.init)(jax.random.key(0), x)
    leaves1, leaves2 = jax.tree.leaves(p1), jax.tree.leaves(p2)
    assert len(leaves1) == 4
    for a, b in zip(leaves1, leaves2):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    k0 = np.asarray(p1["params"]["Dense_0"]["kernel"])
    assert np.abs(k0).max() <= 2 * np.sqrt(2 / 16) / 0.87962566103423978
    assert not np.array_equal(k0[:4, :4], np.asarray(p1["params"]["Dense_1"]["kernel"])[:4, :4])


def test_float64_without_x64_is_an_error():
    if jax.config.read("jax_enable_x64"):
        pytest.skip("x64 is enabled in this process")
    with pytest.raises(ValueError, match="jax_enable_x64"):
        aif.he_normal()(jax.random.key(0), (4, 4), jnp.float64)


# --- parity with jax.nn.initializers ---------------------------------------------------------------

J = jax.nn.initializers
FACTORIES = [
    "variance_scaling",
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "lecun_uniform",
    "lecun_normal",
    "normal",
    "truncated_normal",
    "uniform",
    "orthogonal",
    "delta_orthogonal",
]
# (name, positional args): one row per factory, as jax's nn_test.py INITIALIZER_RECS
RECS = [
    ("glorot_uniform", ()),
    ("glorot_normal", ()),
    ("he_uniform", ()),
    ("he_normal", ()),
    ("lecun_uniform", ()),
    ("lecun_normal", ()),
    ("variance_scaling", (3.0, "fan_geo_avg", "normal")),
    ("normal", (0.5,)),
    ("truncated_normal", (0.5,)),
    ("uniform", (3.0,)),
    ("orthogonal", (2.0,)),
]


def _f32(x):
    return np.asarray(jnp.asarray(x).astype(jnp.float32))


from arrayinit._variance import jax_fans as jax_fans_of_arrayinit  # noqa: E402


def _jax_compute_fans():
    fans = getattr(pytest.importorskip("jax._src.nn.initializers"), "_compute_fans", None)
    if fans is None:
        pytest.skip("this jax has no _compute_fans")
    return fans


@pytest.mark.parametrize("name", FACTORIES)
def test_signature_matches_jax(name):
    def params(f):
        return [(p.name, p.kind, p.default) for p in inspect.signature(f).parameters.values()]

    assert name in aif.__all__
    assert params(getattr(aif, name)) == params(getattr(J, name))
    # the returned function: (key, shape, dtype=None, out_sharding=None) as jax's
    args = {**dict(RECS), "delta_orthogonal": (2.0,)}.get(name, (1.0, "fan_in", "uniform"))
    assert params(getattr(aif, name)(*args)) == params(getattr(J, name)(*args))
    with pytest.raises(TypeError, match="out_sharding"):
        getattr(aif, name)(*args)(jax.random.key(0), (3, 4, 4), None, object())


def test_initializer_checks_at_trace_time_not_in_the_callback():
    key = jax.random.key(0)
    jitted = jax.jit(aif.initializer("orthogonal"), static_argnums=(1, 2))
    with pytest.raises(ValueError, match="rank >= 2"):
        jitted(key, (5,), jnp.float32)
    with pytest.raises(ValueError, match="rank >= 2"):  # an empty shape is checked too
        aif.initializer("orthogonal")(key, (0,))
    with pytest.raises(ValueError, match="overflows float16"):
        jax.jit(aif.initializer(ai.Constant(1e6)), static_argnums=(1, 2))(key, (2,), jnp.float16)


@pytest.mark.parametrize(("name", "args"), RECS)
def test_factory_dtype_like_jax(name, args):
    key, shape = jax.random.key(11), (24, 16)
    ours, theirs = getattr(aif, name), getattr(J, name)
    default = jax.dtypes.canonicalize_dtype(float)  # jax's default float dtype: float32 unless jax_enable_x64
    assert ours(*args)(key, shape).dtype == theirs(*args)(key, shape).dtype == default
    for dt in (jnp.bfloat16, jnp.float16):
        init = ours(*args, dtype=dt)
        w = init(key, shape)
        assert w.dtype == dt
        if name != "orthogonal":  # jax's orthogonal has no 16-bit QR on the CPU
            assert theirs(*args, dtype=dt)(key, shape).dtype == dt
        # the factory's dtype is the call's default: same values, eagerly and under jit
        np.testing.assert_array_equal(_f32(w), _f32(ours(*args)(key, shape, dt)))
        np.testing.assert_array_equal(_f32(w), _f32(jax.jit(init, static_argnums=1)(key, shape)))
        w32 = init(key, shape, jnp.float32)  # a dtype given at the call wins
        assert w32.dtype == jnp.float32
        np.testing.assert_array_equal(np.asarray(w32), np.asarray(ours(*args)(key, shape, jnp.float32)))
    with jax.enable_x64(True):  # jax's default float dtype follows jax_enable_x64
        assert ours(*args)(key, shape).dtype == theirs(*args)(key, shape).dtype == jnp.float64


def test_factory_dtype_is_checked_when_the_factory_is_made():
    with pytest.raises(ValueError, match="dtype"):
        aif.he_normal(dtype=jnp.int32)
    with pytest.raises(ValueError, match="dtype"):
        aif.normal(0.1, jnp.uint8)
    if not jax.config.read("jax_enable_x64"):
        init = aif.normal(0.1, jnp.float64)  # jax_enable_x64 may be switched on before the call
        with pytest.raises(ValueError, match="jax_enable_x64"):
            init(jax.random.key(0), (2, 2))


@pytest.mark.parametrize(("name", "args"), [r for r in RECS if r[0] != "orthogonal"])
def test_distribution_matches_jax(name, args):
    """Two-sample KS test against jax's values (fixed keys), and the same support."""
    stats = pytest.importorskip("scipy.stats")
    shape = (256, 128)
    ours = _f32(getattr(aif, name)(*args)(jax.random.key(5), shape)).ravel()
    theirs = _f32(getattr(J, name)(*args)(jax.random.key(5), shape)).ravel()
    assert stats.ks_2samp(ours, theirs).pvalue > 1e-3
    assert abs(ours.std() / theirs.std() - 1) < 0.03
    assert abs(ours.mean() - theirs.mean()) < 0.05 * theirs.std()
    if name in ("uniform", "he_uniform", "glorot_uniform", "lecun_uniform", "truncated_normal"):
        # bounded: both reach close to the same bounds
        np.testing.assert_allclose([ours.min(), ours.max()], [theirs.min(), theirs.max()], rtol=0.02, atol=1e-3)


FAN_CASES = [
    ((6, 4), 1, -1, ()),  # the review's case: in and out overlap, jax gives fan_in = fan_out = 6
    ((3, 5), -1, 1, ()),  # the same axis, one negative
    ((3, 3, 64, 128), -2, -1, ()),  # HWIO
    ((128, 64, 3, 3), 1, 0, ()),  # OIHW
    ((2, 3, 5, 7), (0, 1), -1, ()),
    ((4, 6, 5), -2, -1, 0),  # batch axis
    ((3, 5, 7), (0, 1), 1, ()),  # partial overlap: (21, 7)
    ((4, 6), 0, 0, 0),  # fractional fans: (1.5, 1.5)
    ((5,), 0, 0, ()),  # rank 1 with an explicit in_axis
    ((2, 3, 4), [0, 2], (1,), [0]),  # lists and tuples
]


@pytest.mark.parametrize(("shape", "in_axis", "out_axis", "batch_axis"), FAN_CASES)
def test_fans_match_jax(shape, in_axis, out_axis, batch_axis):
    jax_fans = _jax_compute_fans()
    fans = jax_fans(shape, in_axis, out_axis, batch_axis)
    assert jax_fans_of_arrayinit(shape, in_axis, out_axis, batch_axis) == fans
    # end to end: the uniform limit is sqrt(3 * scale / fan_in) with jax's fan_in, for the given key
    w = aif.variance_scaling(2.0, "fan_in", "uniform", in_axis, out_axis, batch_axis)(jax.random.key(9), shape)
    limit = np.sqrt(3 * 2.0 / fans[0])
    np.testing.assert_array_equal(np.asarray(w), ai.random.uniform(shape, seed=9, minval=-limit, maxval=limit))


def test_overlapping_axes_scale_like_jax():
    """For (512, 64) with in_axis=1, jax's fan_in is 512 (not 64 * 512): the same standard deviation here."""
    key, shape = jax.random.key(4), (512, 64)
    for mode in ("fan_in", "fan_out", "fan_avg", "fan_geo_avg"):
        ours = _f32(aif.variance_scaling(1.0, mode, "normal", in_axis=1)(key, shape))
        theirs = _f32(J.variance_scaling(1.0, mode, "normal", in_axis=1)(key, shape))
        assert abs(ours.std() / np.sqrt(1 / 512) - 1) < 0.02
        assert abs(ours.std() / theirs.std() - 1) < 0.03


def test_variance_scaling_errors():
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="default in_axis"):
        aif.he_normal()(key, (8,))  # as jax
    with pytest.raises(ValueError, match="in_axis"):
        aif.he_normal(in_axis=2)(key, (8, 4))
    with pytest.raises(ValueError, match="batch_axis"):
        aif.variance_scaling(1.0, "fan_in", "normal", batch_axis=(0, -3))(key, (8, 4))
    with pytest.raises(TypeError, match="out_axis"):
        aif.he_normal(out_axis=1.5)
    with pytest.raises(ValueError, match="mode"):
        aif.variance_scaling(1.0, "fan_max", "normal")
    with pytest.raises(ValueError, match="distribution"):
        aif.variance_scaling(1.0, "fan_in", "cauchy")
    with pytest.raises(ValueError, match="scale"):
        aif.variance_scaling(-1.0, "fan_in", "normal")


def test_empty_shapes():
    key = jax.random.key(0)
    for init in (aif.he_normal(), aif.variance_scaling(1.0, "fan_out", "uniform", in_axis=0), aif.orthogonal()):
        for f in (init, jax.jit(init, static_argnums=(1, 2))):
            w = f(key, (0, 4), jnp.bfloat16)
            assert w.shape == (0, 4)
            assert w.dtype == jnp.bfloat16
    assert aif.orthogonal()(key, (3, 0)).shape == J.orthogonal()(key, (3, 0)).shape == (3, 0)


@pytest.mark.parametrize(("lower", "upper"), [(-2.0, 2.0), (-1.0, 3.0), (0.5, 2.5), (-np.inf, 1.0), (-4.0, -3.0)])
def test_truncated_normal_bounds_like_jax(lower, upper):
    """jax: ``stddev * X``, X a standard normal truncated to [lower, upper]; the stddev is not rescaled."""
    stats = pytest.importorskip("scipy.stats")
    sd, key, shape = 0.5, jax.random.key(2), (40000,)  # sd = 0.5: the bounds are exact in float32
    init = aif.truncated_normal(sd, None, lower, upper)
    w = _f32(init(key, shape))
    theirs = _f32(J.truncated_normal(sd, None, lower, upper)(key, shape))
    assert w.min() >= lower * sd
    assert w.max() <= upper * sd
    ref = stats.truncnorm(lower, upper, scale=sd)
    assert stats.kstest(w, ref.cdf).pvalue > 1e-3
    assert stats.ks_2samp(w, theirs).pvalue > 1e-3
    assert abs(w.std() / ref.std() - 1) < 0.02
    assert abs(w.mean() - ref.mean()) < 0.02 * ref.std()
    # deterministic for a key, eager == jit, another key gives other values
    np.testing.assert_array_equal(w, _f32(init(key, shape)))
    np.testing.assert_array_equal(w, _f32(jax.jit(init, static_argnums=(1, 2))(key, shape, jnp.float32)))
    np.testing.assert_array_equal(
        w, ai.random.truncated_normal(shape, seed=2, stddev=sd, lower=lower, upper=upper, dtype="float32")
    )
    assert not np.array_equal(w[:64], _f32(init(jax.random.key(3), shape))[:64])


def test_truncated_normal_positional_dtype_as_jax():
    key = jax.random.key(0)
    w = aif.truncated_normal(0.02, jnp.bfloat16)(key, (64, 64))
    assert w.dtype == J.truncated_normal(0.02, jnp.bfloat16)(key, (64, 64)).dtype == jnp.bfloat16
    assert float(jnp.abs(w).max()) <= 0.04
    # the default bounds are Keras's: the values of arrayinit.TruncatedNormal for the key's seed
    np.testing.assert_array_equal(_f32(w), _f32(ai.TruncatedNormal(stddev=0.02, seed=0)((64, 64), "bfloat16")))
    w2 = aif.truncated_normal(0.02, jnp.float32, lower=0.0)(key, (1000,))
    assert float(w2.min()) >= 0.0
    assert float(w2.max()) <= 0.04
    for lower, upper in ((2.0, 2.0), (3.0, -3.0)):
        with pytest.raises(ValueError, match="lower"):
            aif.truncated_normal(0.02, None, lower, upper)
    with pytest.raises(ValueError, match="stddev"):
        aif.truncated_normal(0.0)


ORTHO_CASES = [((6, 4, 5), 0), ((6, 4, 5), 1), ((6, 4, 5), -1), ((3, 4, 20), 1), ((8, 8), 0), ((4, 10), -2)]


@pytest.mark.parametrize(("shape", "column_axis"), ORTHO_CASES)
def test_orthogonal_column_axis_like_jax(shape, column_axis):
    key, scale = jax.random.key(6), 1.5
    init = aif.orthogonal(scale, column_axis)
    w = init(key, shape, jnp.float32)
    theirs = J.orthogonal(scale, column_axis)(key, shape, jnp.float32)
    assert w.shape == theirs.shape == shape
    assert w.dtype == theirs.dtype
    n_cols = shape[column_axis]

    def gram(x):  # over the smaller side of the (rows, columns) matrix, columns along column_axis
        m = np.moveaxis(np.asarray(x, np.float64), column_axis, -1).reshape(-1, n_cols) / scale
        return m.T @ m if m.shape[0] >= n_cols else m @ m.T

    eye = np.eye(min(math.prod(shape) // n_cols, n_cols))
    np.testing.assert_allclose(gram(theirs), eye, atol=1e-5)  # jax's semantics ...
    np.testing.assert_allclose(gram(w), eye, atol=1e-5)  # ... and ours
    # the column axis moved to the end, the matrix drawn, the axis moved back
    moved = (*(d for i, d in enumerate(shape) if i != column_axis % len(shape)), n_cols)
    expect = np.moveaxis(ai.Orthogonal(gain=scale, seed=6)(moved, "float32"), -1, column_axis)
    np.testing.assert_array_equal(np.asarray(w), expect)
    # deterministic: eager == jit
    np.testing.assert_array_equal(
        np.asarray(w), np.asarray(jax.jit(init, static_argnums=(1, 2))(key, shape, jnp.float32))
    )


def test_orthogonal_default_column_axis_keeps_values_and_errors():
    key = jax.random.key(8)
    w = aif.orthogonal()(key, (5, 3, 7))
    np.testing.assert_array_equal(np.asarray(w), ai.Orthogonal(seed=8)((5, 3, 7)))
    np.testing.assert_array_equal(np.asarray(w), np.asarray(aif.orthogonal(1.0, 2)(key, (5, 3, 7))))
    with pytest.raises(ValueError, match="column_axis"):
        aif.orthogonal(column_axis=2)(key, (4, 4))
    with pytest.raises(ValueError, match="rank"):
        aif.orthogonal()(key, (4,))
    with pytest.raises(TypeError, match="column_axis"):
        aif.orthogonal(column_axis=1.0)


# --- scalars, 0-d arguments, delta_orthogonal, complex dtypes, sharded output, Flax NNX ---


@pytest.mark.parametrize(
    "init",
    [
        aif.normal(1.0),
        aif.uniform(2.0),
        aif.truncated_normal(1.0),
        aif.variance_scaling(1.0, "fan_in", "normal", [], []),
    ],
)
def test_scalar_shape_eagerly_and_under_jit(init):
    key = jax.random.key(3)
    eager = init(key, ())
    jitted = jax.jit(init, static_argnums=(1, 2))(key, (), jnp.float32)
    assert eager.shape == jitted.shape == ()
    assert eager.dtype == jitted.dtype == jnp.float32
    np.testing.assert_array_equal(np.asarray(eager), np.asarray(jitted))
    # the scalar is element 0 of the stream: the first value of the (1,) tensor
    np.testing.assert_array_equal(np.asarray(eager), np.asarray(init(key, (1,)))[0])


@pytest.mark.parametrize("wrap", [jnp.array, np.array, np.float32])
def test_zero_d_array_arguments_as_jax(wrap):
    key, shape = jax.random.key(1), (16, 8)
    for factory, kwargs in (
        (aif.normal, {"stddev": 0.5}),
        (aif.uniform, {"scale": 0.5}),
        (aif.truncated_normal, {"stddev": 0.5, "lower": -1.0, "upper": 1.5}),
        (aif.orthogonal, {"scale": 0.5}),
    ):
        wrapped = {k: wrap(v) for k, v in kwargs.items()}
        ours = factory(**wrapped, dtype=jnp.bfloat16)(key, shape)
        assert ours.dtype == jnp.bfloat16  # a float32 0-d argument does not upcast (as jax)
        np.testing.assert_array_equal(_f32(ours), _f32(factory(**kwargs, dtype=jnp.bfloat16)(key, shape)))
    a = aif.variance_scaling(wrap(2.0), "fan_in", "uniform")(key, shape)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(aif.variance_scaling(2.0, "fan_in", "uniform")(key, shape)))
    with pytest.raises(ValueError, match="scalar"):
        aif.normal(jnp.ones(2))
    with pytest.raises(TypeError, match="traced"):
        jax.jit(lambda s: aif.normal(s)(key, shape))(1.0)


@pytest.mark.parametrize(("shape", "column_axis"), [((3, 4, 4), -1), ((3, 5, 4, 6), -1), ((2, 3, 3, 4, 5), 0)])
def test_delta_orthogonal_like_jax(shape, column_axis):
    key = jax.random.key(2)
    init = aif.delta_orthogonal(1.5, column_axis)
    w = np.asarray(init(key, shape))
    theirs = J.delta_orthogonal(1.5, column_axis)(key, shape)
    assert w.shape == theirs.shape
    assert w.dtype == theirs.dtype
    centre = tuple((k - 1) // 2 for k in shape[:-2])
    # zero everywhere but the centre, where it is orthogonal(scale, column_axis) of the (in, out) matrix
    np.testing.assert_array_equal(w[centre], np.asarray(aif.orthogonal(1.5, column_axis)(key, shape[-2:])))
    rest = w.copy()
    rest[centre] = 0
    assert not rest.any()
    np.testing.assert_array_equal((np.asarray(theirs) != 0).any(axis=(-2, -1)), (w != 0).any(axis=(-2, -1)))
    np.testing.assert_array_equal(w, np.asarray(jax.jit(init, static_argnums=1)(key, shape)))


def test_delta_orthogonal_errors_like_jax():
    key = jax.random.key(0)
    for shape in ((4, 4), (1, 1, 1, 1, 4, 4)):
        for f in (aif.delta_orthogonal(), J.delta_orthogonal()):
            with pytest.raises(ValueError, match="3D, 4D or 5D"):
                f(key, shape)
    for f in (aif.delta_orthogonal(), J.delta_orthogonal()):
        with pytest.raises(ValueError, match="fan_in"):
            f(key, (3, 3, 5, 4))
    with pytest.raises(ValueError, match="complex"):
        aif.delta_orthogonal()(key, (3, 3, 4), jnp.complex64)


@pytest.mark.parametrize(
    "name",
    [
        "normal",
        "uniform",
        "he_normal",
        "he_uniform",
        "glorot_normal",
        "glorot_uniform",
        "lecun_normal",
        "lecun_uniform",
    ],
)
def test_complex_dtypes(name):
    key, shape = jax.random.key(9), (300, 200)
    factory = getattr(aif, name)
    init = factory(dtype=jnp.complex64)
    w = init(key, shape)
    assert w.dtype == jnp.complex64
    np.testing.assert_array_equal(np.asarray(w), np.asarray(jax.jit(init, static_argnums=1)(key, shape)))
    # the same values as the core (arrayinit.random / the core initializers) for the key's seed
    seed = aif.seed_from_key(jax.random.key_data(key))
    core = {
        "normal": lambda: ai.random.normal(shape, seed=seed, stddev=1e-2, dtype="complex64"),
        "uniform": lambda: ai.random.uniform(shape, seed=seed, maxval=1e-2, dtype="complex64"),
    }.get(name)
    if core is not None:
        np.testing.assert_array_equal(np.asarray(w), core())
    if name != "uniform":  # jax's uniform has no complex form; the others: E|z|^2 and the support as jax's
        theirs = np.asarray(getattr(J, name)(dtype=jnp.complex64)(key, shape))
        ours = np.asarray(w)
        assert abs(np.mean(abs(ours) ** 2) / np.mean(abs(theirs) ** 2) - 1) < 0.03
        if name.endswith("uniform") or name in ("he_normal", "glorot_normal", "lecun_normal"):
            assert abs(abs(ours).max() / abs(theirs).max() - 1) < 0.01  # the disk / modulus cut
    with pytest.raises(ValueError, match="complex"):
        aif.truncated_normal()(key, shape, jnp.complex64)  # as jax
    with pytest.raises(ValueError, match="complex"):
        aif.orthogonal()(key, (4, 4), jnp.complex64)


# sharded outputs (8 host devices) and the XLA op: tests/test_jax_op.py and tests/workers/jax_sharded.py


def test_flax_nnx_kernel_init():
    nnx = pytest.importorskip("flax.nnx", reason="flax is installed by the tests_xp session")
    layer = nnx.Linear(16, 8, kernel_init=aif.he_normal(), bias_init=aif.normal(0.1), rngs=nnx.Rngs(params=0))
    again = nnx.Linear(16, 8, kernel_init=aif.he_normal(), bias_init=aif.normal(0.1), rngs=nnx.Rngs(params=0))
    kernel = np.asarray(layer.kernel[...])
    assert kernel.shape == (16, 8)
    np.testing.assert_array_equal(kernel, np.asarray(again.kernel[...]))  # reproducible from the same Rngs
    assert not np.array_equal(np.asarray(layer.bias[...]), kernel[0])  # each parameter has its own key
    other = nnx.Linear(16, 8, kernel_init=aif.he_normal(), rngs=nnx.Rngs(params=1))
    assert not np.array_equal(kernel, np.asarray(other.kernel[...]))
    assert abs(kernel.std() / np.sqrt(2 / 16) - 1) < 0.35


def test_every_name_of_jax_nn_initializers_is_there():
    names = [n for n in dir(jax.nn.initializers) if not n.startswith("_") and callable(getattr(jax.nn.initializers, n))]
    missing = [n for n in names if not hasattr(aif, n)]
    assert missing == []
    assert aif.xavier_uniform is aif.glorot_uniform
    assert aif.kaiming_normal is aif.he_normal
    key = jax.random.key(0)
    np.testing.assert_array_equal(np.asarray(aif.zeros_init()(key, (2, 3))), np.zeros((2, 3), np.float32))
    np.testing.assert_array_equal(np.asarray(aif.ones_init()(key, (2, 3), jax.numpy.float16)), np.ones((2, 3)))
    assert aif.constant(-7.0)(key, (2,)).tolist() == [-7.0, -7.0]
