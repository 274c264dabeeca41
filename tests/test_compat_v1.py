"""arrayinit.compat.v1 without TensorFlow: the two TF1 namespaces, their defaults, configs and call protocol.

The expected configs are TensorFlow 2.21's (``tf.compat.v1.initializers`` and, with ``tf-keras`` and
``TF_USE_LEGACY_KERAS=1``, ``tf.compat.v1.keras.initializers``), read from ``get_config()`` of
each name constructed with no arguments. tests/test_tf.py compares them with TensorFlow itself.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from arrayinit.compat import v1
from arrayinit.compat.v1 import initializers as I
from arrayinit.compat.v1.keras import initializers as K

F32 = "float32"
VS = {"scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal", "seed": None, "dtype": F32}

KERAS_DEFAULT_CONFIGS = {
    "Constant": {"value": 0, "dtype": F32},
    "constant": {"value": 0, "dtype": F32},
    "Identity": {"gain": 1.0, "dtype": F32},
    "identity": {"gain": 1.0, "dtype": F32},
    "Ones": {"dtype": F32},
    "ones": {"dtype": F32},
    "Zeros": {"dtype": F32},
    "zeros": {"dtype": F32},
    "Orthogonal": {"gain": 1.0, "seed": None, "dtype": F32},
    "orthogonal": {"gain": 1.0, "seed": None, "dtype": F32},
    "RandomNormal": {"mean": 0.0, "stddev": 0.05, "seed": None, "dtype": F32},
    "random_normal": {"mean": 0.0, "stddev": 0.05, "seed": None, "dtype": F32},
    "normal": {"mean": 0.0, "stddev": 0.05, "seed": None, "dtype": F32},
    "RandomUniform": {"minval": -0.05, "maxval": 0.05, "seed": None, "dtype": F32},
    "random_uniform": {"minval": -0.05, "maxval": 0.05, "seed": None, "dtype": F32},
    "uniform": {"minval": -0.05, "maxval": 0.05, "seed": None, "dtype": F32},
    "TruncatedNormal": {"mean": 0.0, "stddev": 0.05, "seed": None, "dtype": F32},
    "truncated_normal": {"mean": 0.0, "stddev": 0.05, "seed": None, "dtype": F32},
    "VarianceScaling": VS,
    "glorot_normal": {"seed": None, "dtype": F32},
    "glorot_uniform": {"seed": None, "dtype": F32},
    "he_normal": {"seed": None},
    "he_uniform": {"seed": None},
    "lecun_normal": {"seed": None},
    "lecun_uniform": {"seed": None},
}

INITIALIZERS_DEFAULT_CONFIGS = {
    "constant": {"value": 0, "dtype": F32},
    "glorot_normal": {"seed": None, "dtype": F32},
    "glorot_uniform": {"seed": None, "dtype": F32},
    "he_normal": {**VS, "scale": 2.0},
    "he_uniform": {**VS, "scale": 2.0, "distribution": "uniform"},
    "identity": {"gain": 1.0, "dtype": F32},
    "lecun_normal": VS,
    "lecun_uniform": {**VS, "distribution": "uniform"},
    "ones": {"dtype": F32},
    "orthogonal": {"gain": 1.0, "seed": None, "dtype": F32},
    "random_normal": {"mean": 0.0, "stddev": 1.0, "seed": None, "dtype": F32},
    "random_uniform": {"minval": 0.0, "maxval": None, "seed": None, "dtype": F32},
    "truncated_normal": {"mean": 0.0, "stddev": 1.0, "seed": None, "dtype": F32},
    "uniform_unit_scaling": {"factor": 1.0, "seed": None, "dtype": F32},
    "variance_scaling": VS,
    "zeros": {"dtype": F32},
}

RANDOM = {"seed"}


@pytest.mark.parametrize(
    ("ns", "table"), [(K, KERAS_DEFAULT_CONFIGS), (I, INITIALIZERS_DEFAULT_CONFIGS)], ids=["keras", "initializers"]
)
def test_every_name_exists_with_tf_default_config(ns, table):
    initializer_names = {n for n in ns.__all__ if n not in ("Initializer", "get", "serialize", "deserialize")}
    assert initializer_names == set(table)
    for name, expected in table.items():
        assert getattr(ns, name)().get_config() == expected, name


def _each(table, ns):
    for name, cfg in table.items():
        yield pytest.param(getattr(ns, name), cfg, id=f"{ns.__name__.rsplit('.', 2)[-2]}.{name}")


ALL = list(_each(KERAS_DEFAULT_CONFIGS, K)) + list(_each(INITIALIZERS_DEFAULT_CONFIGS, I))


def _seeded(make, cfg, seed=5):
    return make(seed=seed) if "seed" in cfg else make()


def _cls(init):
    return type(init)


@pytest.mark.parametrize(("make", "cfg"), ALL)
def test_config_round_trip_gives_the_same_values(make, cfg):
    init = _seeded(make, cfg)
    again = _cls(init).from_config(init.get_config())
    assert again.get_config() == init.get_config()
    np.testing.assert_array_equal(again((6, 4)), init((6, 4)))


@pytest.mark.parametrize(("make", "cfg"), ALL)
def test_partition_is_the_block_of_the_whole(make, cfg):
    init = _seeded(make, cfg)
    whole = init((10, 6))
    for start, stop in ((0, 4), (4, 7), (7, 10)):
        info = v1.PartitionInfo(full_shape=[10, 6], var_offset=[start, 0])
        np.testing.assert_array_equal(init([stop - start, 6], partition_info=info), whole[start:stop])


@pytest.mark.parametrize(("make", "cfg"), [p for p in ALL if "seed" in p.values[1]])
def test_unseeded_gives_new_values_each_call_and_seeded_repeats(make, cfg):
    u = make()
    assert (u((32, 32)) != u((32, 32))).mean() > 0.9
    s = make(seed=11)
    np.testing.assert_array_equal(s((32, 32)), s((32, 32)))
    assert s.get_config()["seed"] == 11


class FakeDType:
    """Looks like tf.DType: ``name``, ``base_dtype`` and ``as_numpy_dtype``."""

    def __init__(self, name, ref=False):
        self.name = name + ("_ref" if ref else "")
        self._base = name
        self.as_numpy_dtype = object

    @property
    def base_dtype(self):
        return FakeDType(self._base) if self.name.endswith("_ref") else self


class FakeTensorShape:
    def __init__(self, dims):
        self._dims = dims

    def as_list(self):
        return list(self._dims)


class FakePartitionInfo:
    def __init__(self, full_shape, var_offset):
        self.full_shape, self.var_offset = full_shape, var_offset


def test_tensorflow_objects_are_duck_typed():
    init = K.he_uniform(seed=2)
    whole = init((8, 3))
    part = init(FakeTensorShape([3, 3]), FakeDType("float32"), FakePartitionInfo([8, 3], [5, 0]))
    np.testing.assert_array_equal(part, whole[5:8])
    assert init((2, 2), dtype=FakeDType("float64", ref=True)).dtype == np.float64
    with pytest.raises(ValueError, match="fully defined"):
        init(FakeTensorShape([None, 3]))
    with pytest.raises(ValueError, match="expected to be floating point"):
        init((2, 2), dtype=FakeDType("int32"))
    assert K.Zeros(dtype=FakeDType("int32")).get_config() == {"dtype": "int32"}
    with pytest.raises(TypeError, match="partition_info"):
        init((2, 2), partition_info=object())


def test_integer_and_bool_constants():
    assert K.Zeros(dtype="int32")((2,)).dtype == np.int32
    assert K.Ones(dtype="bool")((2,)).tolist() == [True, True]
    c = K.Constant(3, dtype="int64")
    assert c((2, 2)).tolist() == [[3, 3], [3, 3]]
    assert c.get_config() == {"value": 3, "dtype": "int64"}
    assert K.Zeros()((2,), dtype="int8").dtype == np.int8
    with pytest.raises(ValueError, match="expected to be floating point"):
        K.RandomNormal(dtype="int32")
    with pytest.raises(ValueError, match="does not draw integers"):
        K.RandomUniform(dtype="int32")


def test_constant_sequences_follow_tf1_graph_semantics():
    c = I.constant([1.0, 2.0])
    np.testing.assert_array_equal(c((2, 3)), [[1, 2, 2], [2, 2, 2]])
    info = v1.PartitionInfo(full_shape=(2, 3), var_offset=(1, 0))
    np.testing.assert_array_equal(c((1, 3), partition_info=info), [[2, 2, 2]])
    with pytest.raises(ValueError, match="Too many elements"):
        I.constant([1, 2, 3])((2,))
    with pytest.raises(TypeError, match="shape"):
        I.constant([1, 2], verify_shape=True)((3,))
    np.testing.assert_array_equal(I.constant(np.arange(4.0))((2, 2)), [[0, 1], [2, 3]])
    assert I.constant([1, 2]).get_config() == {"value": [1, 2], "dtype": "float32"}
    with pytest.raises(TypeError, match="value"):
        I.constant({"a": 1})
    with pytest.raises(ValueError, match="overflows"):
        I.constant([1e6])((2,), dtype="float16")


def test_tf_written_configs_read_back_as_the_same_initializer():
    # configs as TF 2.21 writes them (get_config of the same initializer)
    glorot = K.glorot_uniform.from_config({"seed": 1, "dtype": "float32"})
    expected = v1.VarianceScaling(1.0, "fan_avg", "uniform", seed=1)
    np.testing.assert_array_equal(glorot((30, 20)), expected((30, 20)))
    he = K.he_normal.from_config({"seed": 4})
    np.testing.assert_array_equal(he((30, 20)), v1.VarianceScaling(2.0, "fan_in", "truncated_normal", 4)((30, 20)))
    serialized = {
        "module": "keras.initializers",
        "class_name": "glorot_uniform",
        "config": {"seed": 1, "dtype": "float32"},
        "registered_name": None,
    }
    assert K.serialize(glorot) == serialized
    np.testing.assert_array_equal(K.deserialize(serialized)((30, 20)), expected((30, 20)))
    assert K.deserialize({"class_name": "GlorotUniform", "config": {"seed": 1}}) == glorot
    with pytest.raises(ValueError, match="missing: scale, mode, distribution"):
        K.VarianceScaling.from_config({"seed": 1, "dtype": "float32"})  # a Glorot config, not silently fan_in
    with pytest.raises(ValueError, match="Unknown initializer"):
        K.deserialize({"class_name": "os.system", "config": {}})
    with pytest.raises(ValueError, match="Unknown key"):
        K.he_normal.from_config({"seed": 1, "dtype": "float32"})
    assert K.get(None) is None
    assert K.get("uniform").get_config()["maxval"] == 0.05
    assert isinstance(K.get({"class_name": "he_normal", "config": {"seed": 1}}), K.he_normal)


def test_top_level_aliases():
    assert v1.he_normal is I.he_normal
    assert v1.glorot_uniform is I.glorot_uniform
    assert v1.glorot_uniform_initializer is I.glorot_uniform
    assert v1.random_normal_initializer is I.random_normal
    assert v1.zeros_initializer is K.Zeros is I.zeros
    assert v1.variance_scaling_initializer is K.VarianceScaling
    assert v1.truncated_normal_initializer().get_config()["stddev"] == 1.0
    assert K.TruncatedNormal is not I.truncated_normal


N = 200_000


@pytest.mark.parametrize(
    ("make", "dist", "shape"),
    [
        (lambda: K.RandomNormal(seed=1), stats.norm(0, 0.05), (N,)),
        (lambda: I.random_normal(seed=1), stats.norm(0, 1.0), (N,)),
        (lambda: K.TruncatedNormal(seed=1), stats.truncnorm(-2, 2, scale=0.05), (N,)),
        (lambda: I.truncated_normal(mean=1.0, seed=1), stats.truncnorm(-2, 2, loc=1.0), (N,)),
        (lambda: K.RandomUniform(seed=1), stats.uniform(-0.05, 0.1), (N,)),
        (lambda: I.random_uniform(seed=1), stats.uniform(0, 1), (N,)),
        (lambda: I.random_uniform(maxval=3.0, seed=1), stats.uniform(0, 3), (N,)),
        (lambda: I.uniform_unit_scaling(factor=1.5, seed=1), stats.uniform(-1.5 * 0.1, 3 * 0.1), (300, N // 300)),
        (
            lambda: K.he_normal(seed=1),
            stats.truncnorm(-2, 2, scale=math.sqrt(2 / 400) / 0.87962566103423978),
            (400, 500),
        ),
        (lambda: K.he_uniform(seed=1), stats.uniform(-math.sqrt(6 / 400), 2 * math.sqrt(6 / 400)), (400, 500)),
        (lambda: K.lecun_uniform(seed=1), stats.uniform(-math.sqrt(3 / 400), 2 * math.sqrt(3 / 400)), (400, 500)),
        (
            lambda: K.glorot_normal(seed=1),
            stats.truncnorm(-2, 2, scale=math.sqrt(1 / 450) / 0.87962566103423978),
            (400, 500),
        ),
        (lambda: K.glorot_uniform(seed=1), stats.uniform(-math.sqrt(3 / 450), 2 * math.sqrt(3 / 450)), (400, 500)),
        (
            lambda: I.variance_scaling(3.0, "fan_out", "untruncated_normal", 1),
            stats.norm(0, math.sqrt(3 / 500)),
            (400, 500),
        ),
    ],
)
def test_distributions_ks(make, dist, shape):
    x = make()(shape, dtype="float64").ravel()
    assert stats.kstest(x, dist.cdf).pvalue > 1e-3
    lo, hi = dist.support()
    assert x.min() >= lo
    assert x.max() <= hi


def test_orthogonal_and_identity():
    q = K.Orthogonal(gain=2.0, seed=3)((6, 4), dtype="float64")
    np.testing.assert_allclose(q.T @ q, 4 * np.eye(4), atol=1e-12)
    with pytest.raises(ValueError, match="at least two-dimensional"):
        K.Orthogonal(seed=1)((3,))
    with pytest.raises(ValueError, match="2D matrices"):
        K.Identity()((2, 2, 2))
    np.testing.assert_array_equal(K.Identity(gain=3.0)((2, 3)), [[3, 0, 0], [0, 3, 0]])


def test_validation_errors_name_the_argument():
    with pytest.raises(ValueError, match="`scale` must be positive"):
        K.VarianceScaling(scale=0)
    with pytest.raises(ValueError, match="Invalid `mode`"):
        K.VarianceScaling(mode="fan_geo_avg")
    with pytest.raises(ValueError, match="Invalid `distribution`"):
        I.variance_scaling(distribution="laplace")
    with pytest.raises(ValueError, match="seed"):
        K.he_normal(seed=-1)
    with pytest.raises(ValueError, match="stddev"):
        K.RandomNormal(stddev=-1.0)
    with pytest.raises(TypeError, match="gain"):
        K.Identity(gain="1")


@pytest.mark.parametrize(
    ("exc", "match", "call"),
    [
        # numpy reads a dict as a structured dtype, and cannot encode a lone surrogate
        (TypeError, "`dtype`", lambda: I.zeros()((2,), {"dtype": 1})),
        (TypeError, "`dtype`", lambda: I.ones()((2,), "\ud800")),
        # TensorFlow has no float128
        (ValueError, "`dtype`", lambda: I.constant(1.0)((2,), "float128")),
        # integers that do not fit the dtype (no silent wrap-around)
        (ValueError, "`value` does not fit in int32", lambda: I.constant(2147483648.0)((), "int32")),
        (ValueError, "`value` does not fit in uint8", lambda: I.constant(-1)((2,), "uint8")),
        (ValueError, "`value` does not fit in int64", lambda: I.constant(2.0**63)((1,), "int64")),
        (ValueError, "`value` does not fit in int64", lambda: I.constant(math.nan)((1,), "int64")),
        (ValueError, "`value` does not fit in uint8", lambda: I.constant(256.0)((0,), "uint8")),
        (ValueError, "Received: value=\\[1, 2, 3\\]", lambda: I.constant([1, 2, 3])((2,), "int32")),
        (TypeError, "Received: value=0", lambda: I.constant(0, verify_shape=True)((2,))),
    ],
)
def test_constant_and_dtype_errors_name_the_argument(exc, match, call):
    with pytest.raises(exc, match=match):
        call()


def test_one_element_constant_into_a_scalar_shape_is_an_array():
    x = I.constant(np.array([1.0]))((), "float64")
    assert isinstance(x, np.ndarray)
    assert x.shape == ()
    assert x == 1.0


def test_scalar_integer_constant_fills_empty_shapes():
    assert I.constant(3)((0, 2), "int32").shape == (0, 2)
    assert I.constant(3)((2,), "int32").tolist() == [3, 3]
    assert I.constant(2**63 - 1)((1,), "int64").tolist() == [2**63 - 1]
