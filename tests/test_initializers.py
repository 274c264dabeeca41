"""The initializer catalogue: one table-driven test per property, configs, registry, seeds, compat.v1."""

import hashlib
import json
import math
import warnings

import numpy as np
import pytest

import arrayinit as ai
from arrayinit.compat import v1
from tests.conftest import FLOAT_DTYPES, as_f64

SHAPES = [(), (40_000,), (300, 200), (5, 100, 120), (3, 3, 64, 64), (2, 3, 3, 32, 32)]
TRUNC = 0.87962566103423978


def _vs(scale, mode, dist):
    return {"scale": scale, "mode": mode, "dist": dist}


# class -> (factory, expectation) ; expectation kinds: const, normal, uniform, truncated, vs, orthogonal, identity
CATALOGUE = {
    "Zeros": (lambda: ai.Zeros(), ("const", 0.0)),
    "Ones": (lambda: ai.Ones(), ("const", 1.0)),
    "Constant": (lambda: ai.Constant(0.3), ("const", 0.3)),
    "RandomNormal": (lambda: ai.RandomNormal(mean=0.1, stddev=0.5, seed=1), ("normal", 0.1, 0.5)),
    "RandomUniform": (lambda: ai.RandomUniform(-0.2, 0.6, seed=2), ("uniform", -0.2, 0.6)),
    "TruncatedNormal": (lambda: ai.TruncatedNormal(mean=0.1, stddev=0.5, seed=3), ("truncated", 0.1, 0.5)),
    "VarianceScaling": (
        lambda: ai.VarianceScaling(3.0, "fan_out", "untruncated_normal", seed=4),
        ("vs", _vs(3.0, "fan_out", "untruncated_normal")),
    ),
    "GlorotNormal": (lambda: ai.GlorotNormal(seed=5), ("vs", _vs(1.0, "fan_avg", "truncated_normal"))),
    "GlorotUniform": (lambda: ai.GlorotUniform(seed=6), ("vs", _vs(1.0, "fan_avg", "uniform"))),
    "HeNormal": (lambda: ai.HeNormal(seed=7), ("vs", _vs(2.0, "fan_in", "truncated_normal"))),
    "HeUniform": (lambda: ai.HeUniform(seed=8), ("vs", _vs(2.0, "fan_in", "uniform"))),
    "LecunNormal": (lambda: ai.LecunNormal(seed=9), ("vs", _vs(1.0, "fan_in", "truncated_normal"))),
    "LecunUniform": (lambda: ai.LecunUniform(seed=10), ("vs", _vs(1.0, "fan_in", "uniform"))),
    "Orthogonal": (lambda: ai.Orthogonal(gain=1.5, seed=11), ("orthogonal", 1.5)),
    "Identity": (lambda: ai.Identity(gain=2.0), ("identity", 2.0)),
}

# statistical tolerance (relative, on the std) per dtype, on top of the sampling error
DTYPE_TOL = {"float32": 0.0, "float64": 0.0, "float16": 2e-3, "bfloat16": 8e-3}


def _expected_vs(spec, shape):
    fan_in, fan_out = ai.compute_fans(shape)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[spec["mode"]]
    var = spec["scale"] / max(1.0, n)
    if spec["dist"] == "uniform":
        lim = math.sqrt(3 * var)
        return math.sqrt(var), -lim, lim
    if spec["dist"] == "truncated_normal":
        pre = math.sqrt(var) / TRUNC
        return math.sqrt(var), -2 * pre, 2 * pre
    return math.sqrt(var), -math.inf, math.inf


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"rank{len(s)}")
@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_catalogue_shapes_dtypes_and_statistics(name, shape, dtype):
    factory, spec = CATALOGUE[name]
    init = factory()
    kind = spec[0]
    if kind == "orthogonal" and len(shape) < 2:
        with pytest.raises(ValueError, match="rank >= 2"):
            init(shape, dtype)
        return
    if kind == "identity" and len(shape) != 2:
        with pytest.raises(ValueError, match="2D"):
            init(shape, dtype)
        return
    x = init(shape, dtype)
    assert x.shape == shape
    assert x.dtype.name == dtype
    xf = as_f64(x)
    n = xf.size
    tol = DTYPE_TOL[dtype]
    if kind == "const":
        np.testing.assert_allclose(xf, spec[1], rtol=4e-3)
        return
    if kind == "identity":
        np.testing.assert_array_equal(xf, spec[1] * np.eye(*shape))
        return
    if kind == "orthogonal":
        m = xf.reshape(-1, shape[-1])
        gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
        atol = {"float64": 1e-10, "float32": 1e-4, "float16": 2e-2, "bfloat16": 0.1}[dtype] * min(m.shape)
        np.testing.assert_allclose(gram, spec[1] ** 2 * np.eye(gram.shape[0]), atol=atol)
        return
    if kind == "normal":
        mean, std, lo, hi = spec[1], spec[2], -math.inf, math.inf
    elif kind == "uniform":
        mean, std, lo, hi = (spec[1] + spec[2]) / 2, (spec[2] - spec[1]) / math.sqrt(12), spec[1], spec[2]
    elif kind == "truncated":
        mean, std, lo, hi = spec[1], spec[2] * TRUNC, spec[1] - 2 * spec[2], spec[1] + 2 * spec[2]
    else:
        std, lo, hi = _expected_vs(spec[1], shape)
        mean = 0.0
    assert xf.min() >= lo
    assert xf.max() <= hi
    if kind == "uniform" or (kind == "vs" and spec[1]["dist"] == "uniform"):
        assert xf.max() < hi
    if n >= 10_000:
        assert abs(xf.mean() - mean) < 6 * std / math.sqrt(n) + tol * std
        assert abs(xf.std() / std - 1) < 6 / math.sqrt(2 * n) + tol


def test_he_normal_worked_case():
    w = ai.HeNormal(seed=0)((256, 128)).astype(np.float64)
    pre = math.sqrt(2 / 256) / TRUNC
    assert abs(pre - 0.10049) < 1e-5
    assert np.abs(w).max() <= 2 * pre
    assert np.abs(w).max() > 0.99 * 2 * pre
    assert abs(w.std() - math.sqrt(2 / 256)) < 0.002


BUILTINS = [
    ai.Zeros,
    ai.Ones,
    ai.Constant,
    ai.RandomNormal,
    ai.RandomUniform,
    ai.TruncatedNormal,
    ai.VarianceScaling,
    ai.GlorotNormal,
    ai.GlorotUniform,
    ai.HeNormal,
    ai.HeUniform,
    ai.LecunNormal,
    ai.LecunUniform,
    ai.Orthogonal,
    ai.Identity,
]


def _seeded(cls):
    try:
        return cls(seed=123)
    except TypeError:
        return cls()


@pytest.mark.parametrize("cls", BUILTINS, ids=lambda c: c.__name__)
def test_serialization_round_trip_is_bit_identical(cls):
    init = _seeded(cls)
    cfg = init.get_config()
    assert json.loads(json.dumps(cfg)) == cfg
    shape = (16, 16)
    x = init(shape)
    for other in (
        cls.from_config(json.loads(json.dumps(cfg))),
        ai.deserialize(json.loads(json.dumps(ai.serialize(init)))),
        init.clone(),
        ai.get(ai.serialize(init)),
    ):
        assert type(other) is cls
        assert other.get_config() == cfg
        np.testing.assert_array_equal(other(shape), x)


def test_get_config_is_exactly_the_constructor_arguments():
    # Keras 3.15 configs: the fixed-variance classes keep seed and the axis arguments
    assert ai.HeNormal(seed=3).get_config() == {"seed": 3, "input_axes": None, "output_axes": None}
    assert ai.GlorotUniform().get_config() == {"seed": None, "input_axes": None, "output_axes": None}
    assert ai.VarianceScaling(2.0, "fan_avg", "uniform", seed=1).get_config() == {
        "scale": 2.0,
        "mode": "fan_avg",
        "distribution": "uniform",
        "seed": 1,
        "input_axes": None,
        "output_axes": None,
    }
    assert ai.TruncatedNormal(stddev=0.02).get_config() == {"mean": 0.0, "stddev": 0.02, "seed": None}
    assert ai.Identity(gain=2.0).get_config() == {"gain": 2.0}
    assert ai.VarianceScaling(distribution="normal").get_config()["distribution"] == "truncated_normal"
    cfg = ai.VarianceScaling(in_axis=1, out_axis=0, batch_axis=(2,)).get_config()
    assert cfg["in_axis"] == 1
    assert cfg["batch_axis"] == [2]
    assert ai.VarianceScaling.from_config(cfg).get_config() == cfg


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("he_normal", ai.HeNormal),
        ("HeNormal", ai.HeNormal),
        ("glorot_uniform", ai.GlorotUniform),
        ("variance_scaling", ai.VarianceScaling),
        ("truncated_normal", ai.TruncatedNormal),
        ("normal", ai.RandomNormal),
        ("uniform", ai.RandomUniform),
        ("zero", ai.Zeros),
        ("one", ai.Ones),
        ("zeros", ai.Zeros),
        ("orthogonal", ai.Orthogonal),
        ("identity", ai.Identity),
        ("lecun_uniform", ai.LecunUniform),
    ],
)
def test_registry_names_and_aliases(name, cls):
    assert type(ai.get(name)) is cls
    assert type(ai.deserialize({"class_name": name, "config": {}})) is cls


def test_get_passes_instances_and_callables_through():
    init = ai.HeNormal(seed=1)
    assert ai.get(init) is init
    assert ai.get(None) is None
    assert type(ai.get(ai.HeUniform)) is ai.HeUniform

    def fn(shape, dtype=None):
        return np.zeros(shape)

    assert ai.get(fn) is fn


def test_deserialize_never_imports_or_evaluates():
    for cfg in (
        {"class_name": "os.system", "config": {}},
        {"class_name": "builtins.eval", "config": {}},
        {"module": "os", "class_name": "system", "config": {}},
        {"class_name": "__import__", "config": {}},
    ):
        with pytest.raises(ValueError, match="Unknown initializer"):
            ai.deserialize(cfg)
    with pytest.raises(ValueError, match="Unknown keys"):
        ai.deserialize({"class_name": "HeNormal", "config": {}, "exec": "print(1)"})
    with pytest.raises(ValueError, match="Unknown key in the config of HeNormal"):
        ai.deserialize({"class_name": "HeNormal", "config": {"seed": 1, "scale": 3.0}})
    with pytest.raises(ValueError, match="Unknown initializer"):
        ai.get("not_an_initializer")


def test_register_refuses_duplicates_and_non_initializers():
    with pytest.raises(ValueError, match="already registered"):

        @ai.register(name="HeNormal")
        class Clash(ai.Initializer):
            pass

    with pytest.raises(TypeError, match="Only subclasses"):
        ai.register(dict)


def test_seed_semantics():
    a = ai.HeNormal(seed=5)
    np.testing.assert_array_equal(a((64, 32)), a((64, 32)))
    np.testing.assert_array_equal(a((64, 32)), ai.HeNormal(seed=5)((64, 32)))
    u = ai.HeNormal()
    assert u.get_config() == {"seed": None, "input_axes": None, "output_axes": None}
    np.testing.assert_array_equal(u((64, 32)), u((64, 32)))  # drawn once, at construction
    assert (u((64, 32)) != ai.HeNormal()((64, 32))).mean() > 0.99
    assert (ai.HeNormal(seed=5)((64, 32)) != ai.HeNormal(seed=6)((64, 32))).mean() > 0.99
    big = ai.HeNormal(seed=2**64 - 1)((4, 4))
    assert big.shape == (4, 4)


def test_derive_seed_is_documented_formula():
    want = int.from_bytes(
        hashlib.blake2b(
            b"arrayinit-seed-v1" + (42).to_bytes(8, "little") + b"encoder/layer_3/kernel", digest_size=8
        ).digest(),
        "little",
    )
    assert ai.derive_seed(42, "encoder/layer_3/kernel") == want
    names = [f"layer_{i}/kernel" for i in range(1000)]
    assert len({ai.derive_seed(0, n) for n in names}) == 1000
    with pytest.raises(TypeError, match="name"):
        ai.derive_seed(0, 3)


def test_blocks_use_fans_of_the_full_shape():
    init = ai.HeNormal(seed=9)
    full = init((512, 256))
    block = init((128, 256), full_shape=(512, 256), offset=(384, 0))
    np.testing.assert_array_equal(block, full[384:])
    for cls in (ai.Orthogonal, ai.Identity, ai.Ones):
        i = _seeded(cls)
        np.testing.assert_array_equal(i((3, 5), full_shape=(10, 8), offset=(4, 2)), i((10, 8))[4:7, 2:7])


def test_jax_axes_and_fan_geo_avg():
    keras_layout = ai.VarianceScaling(2.0, seed=1)((3, 3, 64, 128))
    torch_layout = ai.VarianceScaling(2.0, seed=1, in_axis=1, out_axis=0)((128, 64, 3, 3))
    assert abs(keras_layout.std() - torch_layout.std()) < 2e-3 * keras_layout.std() + 1e-4
    assert ai.compute_fans((128, 64, 3, 3), in_axis=1, out_axis=0) == (576, 1152)
    assert ai.compute_fans((8, 3, 3, 64, 128), batch_axis=0) == (576, 1152)
    # Keras 3.15: input_axes/output_axes are plain products of those axes, and only count together
    assert ai.compute_fans((3, 3, 64, 128), input_axes=[2], output_axes=[3]) == (64, 128)
    assert ai.VarianceScaling(input_axes=[2], output_axes=[3]).fans((3, 3, 64, 128)) == (64, 128)
    assert ai.VarianceScaling(input_axes=[2]).fans((3, 3, 64, 128)) == (576, 1152)
    np.testing.assert_array_equal(
        ai.HeNormal(seed=1, input_axes=[0, 1, 2], output_axes=[3])((3, 3, 64, 128)),
        ai.VarianceScaling(2.0, seed=1, in_axis=(0, 1, 2), out_axis=3, batch_axis=())((3, 3, 64, 128)),
    )
    g = ai.VarianceScaling(1.0, "fan_geo_avg", "untruncated_normal", seed=2)((400, 100)).astype(np.float64)
    assert abs(g.std() - math.sqrt(1 / 200)) < 3e-3 * math.sqrt(1 / 200) * 3
    with pytest.raises(ValueError, match="in_axis"):
        ai.VarianceScaling(seed=1, in_axis=5)((3, 3))


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: ai.VarianceScaling(scale=0.0), ValueError, r"`scale` must be positive float. Received: scale=0.0"),
        (lambda: ai.VarianceScaling(scale=float("inf")), ValueError, "scale"),
        (lambda: ai.VarianceScaling(scale="2"), TypeError, "scale"),
        (lambda: ai.VarianceScaling(scale=-1), ValueError, r"Received: scale=-1"),
        (lambda: ai.VarianceScaling(mode="fan_up"), ValueError, r"Invalid `mode` argument: 'fan_up'"),
        (lambda: ai.VarianceScaling(distribution="cauchy"), ValueError, r"Invalid `distribution` argument: 'cauchy'"),
        (lambda: ai.VarianceScaling(in_axis=1, input_axes=1), ValueError, "not both"),
        (lambda: ai.VarianceScaling(in_axis="a"), TypeError, "in_axis"),
        (lambda: ai.HeNormal(seed=-1), ValueError, r"Received: seed=-1"),
        (lambda: ai.HeNormal(seed=2**64), ValueError, "seed"),
        (lambda: ai.HeNormal(seed="x"), TypeError, "seed"),
        (lambda: ai.RandomNormal(stddev=-0.1), ValueError, r"Received: stddev=-0.1"),
        (lambda: ai.TruncatedNormal(stddev=0.0), ValueError, "stddev"),
        (lambda: ai.RandomUniform(1.0, -1.0), ValueError, "maxval"),
        (lambda: ai.Constant("a"), TypeError, "value"),
        (lambda: ai.Orthogonal(gain="x"), TypeError, "gain"),
        (lambda: ai.HeNormal(seed=1)((3, 3), "int32"), ValueError, "Only floating point"),
        (lambda: ai.HeNormal(seed=1)((-3, 3)), ValueError, "shape"),
        (lambda: ai.HeNormal(seed=1)((3, 3), full_shape=(2, 3)), ValueError, "inside"),
        (lambda: ai.Orthogonal(seed=1)((5,)), ValueError, "rank >= 2"),
        (lambda: ai.Identity()((2, 2, 2)), ValueError, "2D"),
        (lambda: ai.HeNormal.from_config({"seed": 1, "bogus": 2}), ValueError, "Unknown key"),
    ],
)
def test_invalid_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# --- tf.compat.v1 ---------------------------------------------------------------


def test_v1_unseeded_gives_new_values_each_call_and_seeded_repeats():
    u = v1.he_normal()
    assert (u((32, 32)) != u((32, 32))).mean() > 0.99
    s = v1.glorot_uniform(seed=3)
    np.testing.assert_array_equal(s((32, 32)), s((32, 32)))
    # v1.glorot_uniform is tf.compat.v1.initializers.glorot_uniform: TF's config keeps seed and dtype only
    assert s.get_config() == {"seed": 3, "dtype": "float32"}
    assert v1.he_normal(seed=3).get_config() == {
        "scale": 2.0,
        "mode": "fan_in",
        "distribution": "truncated_normal",
        "seed": 3,
        "dtype": "float32",
    }


def test_v1_config_round_trip_and_dtype():
    init = v1.VarianceScaling(scale=2.0, mode="fan_out", distribution="untruncated_normal", seed=4, dtype="float64")
    cfg = init.get_config()
    assert cfg["dtype"] == "float64"
    again = v1.VarianceScaling.from_config(cfg)
    np.testing.assert_array_equal(again((8, 8)), init((8, 8)))
    assert init((8, 8)).dtype == np.float64
    assert init((8, 8), dtype="float32").dtype == np.float32


def test_v1_validation():
    with pytest.raises(ValueError, match="`scale` must be positive float"):
        v1.VarianceScaling(scale=0)
    with pytest.raises(ValueError, match="Invalid `mode` argument"):
        v1.VarianceScaling(mode="fan_geo_avg")
    with pytest.raises(ValueError, match="Invalid `distribution` argument"):
        v1.VarianceScaling(distribution="laplace")
    with pytest.raises(ValueError, match="`dtype` is expected to be floating point"):
        v1.VarianceScaling(dtype="int32")
    with pytest.raises(ValueError, match="`dtype` is expected to be floating point"):
        v1.he_normal(seed=1)((3, 3), dtype="int64")


def test_v1_normal_is_deprecated_alias_kept_in_config():
    with pytest.warns(DeprecationWarning, match="normal"):
        init = v1.VarianceScaling(distribution="normal", seed=2)
    assert init.get_config()["distribution"] == "normal"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        again = v1.VarianceScaling.from_config(init.get_config())
    ref = v1.VarianceScaling(distribution="truncated_normal", seed=2)
    np.testing.assert_array_equal(init((16, 16)), ref((16, 16)))
    np.testing.assert_array_equal(again((16, 16)), ref((16, 16)))


def test_v1_partition_info_returns_the_block_with_full_fans():
    init = v1.he_uniform(seed=7)
    full = init((100, 40))
    info = v1.PartitionInfo(full_shape=(100, 40), var_offset=(60, 0))
    part = init((25, 40), partition_info=info)
    np.testing.assert_array_equal(part, full[60:85])
    limit = math.sqrt(6 / 100)
    assert np.abs(part).max() < limit
    assert info.single_offset((25, 40)) == 60
    assert ai.HeUniform(seed=7)((100, 40)).shape == (100, 40)


def test_keras_3_15_configs_deserialize():
    # configs as keras.initializers.serialize writes them (Keras 3.15)
    he = {
        "module": "keras.initializers",
        "class_name": "HeNormal",
        "config": {"seed": 1, "input_axes": None, "output_axes": None},
        "registered_name": None,
    }
    np.testing.assert_array_equal(ai.deserialize(he)((8, 8)), ai.HeNormal(seed=1)((8, 8)))
    vs = {
        "class_name": "VarianceScaling",
        "config": {
            "scale": 2.0,
            "mode": "fan_out",
            "distribution": "uniform",
            "seed": 4,
            "input_axes": [2],
            "output_axes": [3],
        },
    }
    init = ai.deserialize(vs)
    assert init.fans((3, 3, 16, 32)) == (16, 32)
    assert init.get_config() == vs["config"]


def test_constant_config_is_json_safe_for_numpy_scalars():
    assert json.dumps(ai.Constant(np.float32(0.5)).get_config()) == '{"value": 0.5}'
    assert ai.Constant(3).get_config() == {"value": 3}


def test_v1_initializer_aliases_take_dtype():
    init = v1.glorot_uniform_initializer(seed=1, dtype="float64")
    assert init((4, 4)).dtype == np.float64
    assert v1.glorot_normal_initializer(seed=1)((4, 4)).dtype == np.float32


def test_constant_array_value_broadcasts_and_round_trips():
    value = np.arange(6, dtype=np.float64).reshape(2, 3) / 7
    init = ai.Constant(value)
    np.testing.assert_array_equal(init((2, 3), "float64"), value)
    np.testing.assert_array_equal(init((4, 2, 3), "float64"), np.broadcast_to(value, (4, 2, 3)))
    np.testing.assert_array_equal(init((2, 3)), value.astype(np.float32))
    # a block of the broadcast tensor, and the config as JSON-safe nested lists
    np.testing.assert_array_equal(
        init((2, 2, 3), "float64", full_shape=(4, 2, 3), offset=(1, 0, 0)), np.broadcast_to(value, (2, 2, 3))
    )
    cfg = init.get_config()
    assert cfg == {"value": value.tolist()}
    again = ai.Constant.from_config(json.loads(json.dumps(cfg)))
    np.testing.assert_array_equal(again((2, 3)), init((2, 3)))
    assert again == init
    with pytest.raises(ValueError, match="`value` of shape \\(2, 3\\) cannot be broadcast"):
        init((3, 2))
    with pytest.raises(ValueError, match="`value` must be finite"):
        ai.Constant([1.0, np.nan])
    with pytest.raises(TypeError, match="`value`"):
        ai.Constant(["a", "b"])
    with pytest.raises(ValueError, match="`value` overflows float16"):
        ai.Constant([1.0, 1e6])((2,), "float16")
    assert ai.Constant(np.array(0.5)).get_config() == {"value": 0.5}


def test_get_of_an_array_gives_the_array_back():
    value = np.random.default_rng(0).random((3, 3))
    init = ai.get(value)
    np.testing.assert_array_equal(init((3, 3), "float64"), value)
    np.testing.assert_array_equal(init((3, 3)), value.astype(np.float32))


def test_attributes_set_after_construction_are_used_and_checked():
    h = ai.VarianceScaling(seed=0)
    h((200, 200))
    h.distribution = "uniform"
    assert abs(h((200, 200))).max() < np.sqrt(3 / 200)
    np.testing.assert_array_equal(h((200, 200)), h.clone()((200, 200)))
    h.mode = "FAN_OUT"
    with pytest.raises(ValueError, match="Invalid `mode`"):
        h((3, 5))
    h.mode, h.scale = "fan_in", -1.0
    with pytest.raises(ValueError, match="`scale`"):
        h((3, 5))
    c = ai.Constant(1.0)
    c((2,))
    c.value = 5.0
    assert c((2,)).tolist() == [5.0, 5.0]
    assert c.get_config() == {"value": 5.0}


def test_axes_lists_cannot_be_mutated_behind_a_kept_plan():
    h = ai.VarianceScaling(seed=0, input_axes=[0], output_axes=[1])
    a = h((4, 50, 60))
    h.input_axes.append(1)  # a copy: the initializer and its config are unchanged
    assert h.get_config()["input_axes"] == [0]
    np.testing.assert_array_equal(h((4, 50, 60)), a)
    h.input_axes = [0, 1]  # assigning takes effect
    np.testing.assert_array_equal(h((4, 50, 60)), h.clone()((4, 50, 60)))
    assert h.clone().get_config()["input_axes"] == [0, 1]


def test_kept_plans_do_not_accept_float_or_bool_dims():
    h = ai.HeNormal(seed=0)
    h((2, 3))
    h((1, 3))
    with pytest.raises(TypeError, match="`shape`"):
        h((2.0, 3))
    with pytest.raises(TypeError, match="`shape`"):
        h((True, 3))


def test_like_with_an_integer_dtype_names_like():
    with pytest.raises(ValueError, match=r"like\.dtype"):
        ai.HeNormal(seed=0)((2, 2), like=np.zeros(2, np.int32))


def test_strings_are_not_namespaces():
    with pytest.raises(TypeError, match="Unsupported array library"):
        ai.HeNormal(seed=0)((2, 2), xp="numpy")
