"""arrayinit.compat.v1 inside TensorFlow: names, signatures, configs, TF1 graph code and statistics beside TF's own.

Runs in the nox session ``tests_tf`` (tensorflow-cpu and tf-keras, ``TF_USE_LEGACY_KERAS=1``: then
``tf.compat.v1.keras.initializers`` is the TF1 Keras namespace of TF 2.4). Elsewhere it is skipped.
"""

from __future__ import annotations

import inspect
import os
import warnings

import numpy as np
import pytest
from scipy import stats

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

_REASON = "needs tensorflow-cpu and tf-keras: run the nox session tests_tf"
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # TensorFlow's own import-time deprecation warnings
    tf = pytest.importorskip("tensorflow", reason=_REASON)
    pytest.importorskip("tf_keras", reason=_REASON)

from arrayinit.compat import v1  # noqa: E402
from arrayinit.compat.v1 import initializers as I  # noqa: E402
from arrayinit.compat.v1.keras import initializers as K  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:tensorflow", "ignore::UserWarning:tf_keras")

TFK = tf.compat.v1.keras.initializers
TFI = tf.compat.v1.initializers
NOT_INITIALIZERS = {"Initializer", "get", "serialize", "deserialize"}  # TFK helpers
GRAPH_OPS = {"global_variables", "local_variables", "tables_initializer", "variables"}  # TFI ops, not initializers


def _names(ns, skip):
    return sorted(n for n in dir(ns) if not n.startswith("_") and n not in skip)


KERAS_NAMES = _names(TFK, NOT_INITIALIZERS)
INIT_NAMES = _names(TFI, GRAPH_OPS)
PAIRS = [pytest.param(K, TFK, n, id=f"keras.{n}") for n in KERAS_NAMES] + [
    pytest.param(I, TFI, n, id=f"initializers.{n}") for n in INIT_NAMES
]


def test_tf_is_the_tf1_keras_namespace():
    # the premise of the comparison: the legacy Keras namespace of TF 2.4 (HeNormal config {'seed': ...})
    assert TFK.he_normal(seed=1).get_config() == {"seed": 1}
    assert TFK.RandomNormal().get_config()["stddev"] == 0.05


def test_same_names():
    assert set(_names(TFK, set())) == set(K.__all__)
    assert set(INIT_NAMES) == set(I.__all__)


def _params(fn):
    sig = inspect.signature(fn.__init__ if inspect.isclass(fn) else fn)
    out = {}
    for p in sig.parameters.values():
        if p.name == "self" or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        d = p.default
        out[p.name] = getattr(d, "name", d)  # tf.float32 -> "float32"
    return out


@pytest.mark.parametrize(("ours", "theirs", "name"), PAIRS)
def test_signature_and_default_config(ours, theirs, name):
    assert _params(getattr(ours, name)) == _params(getattr(theirs, name))
    assert getattr(ours, name)().get_config() == getattr(theirs, name)().get_config()


def _kwargs(name, params):
    """Non-default constructor arguments for ``name`` (only those it takes)."""
    table = {
        "seed": 7,
        "dtype": "float64",
        "mean": 0.5,
        "stddev": 0.3,
        "minval": -0.2,
        "maxval": 0.4,
        "gain": 1.5,
        "factor": 1.3,
        "value": 0.25,
        "scale": 3.0,
        "mode": "fan_avg",
        "distribution": "uniform",
    }
    kw = {k: v for k, v in table.items() if k in params}
    if name in ("glorot_uniform", "glorot_normal"):
        kw.pop("dtype", None)  # TF ignores it (its config says float32 whatever is given); arrayinit keeps it
    return kw


@pytest.mark.parametrize(("ours", "theirs", "name"), PAIRS)
def test_configs_equal_and_tf_written_configs_read_back(ours, theirs, name):
    kw = _kwargs(name, _params(getattr(theirs, name)))
    tf_cfg = getattr(theirs, name)(**kw).get_config()
    mine = getattr(ours, name)(**kw)
    assert mine.get_config() == tf_cfg
    back = type(mine).from_config(dict(tf_cfg))
    assert back.get_config() == tf_cfg
    np.testing.assert_array_equal(back((5, 4)), mine((5, 4)))


def test_tf_serialized_configs_deserialize():
    for name in KERAS_NAMES:
        kw = _kwargs(name, _params(getattr(TFK, name)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # tf_keras warns about serializing TF1 objects
            blob = TFK.serialize(getattr(TFK, name)(**kw))
        mine = getattr(K, name)(**kw)
        assert K.serialize(mine) == blob, name
        back = K.deserialize(blob)
        assert type(back) is type(mine), name
        assert back.get_config() == mine.get_config(), name


def test_glorot_config_is_not_read_as_the_default_variance_scaling():
    cfg = TFK.glorot_uniform(seed=3).get_config()
    assert cfg == {"seed": 3, "dtype": "float32"}
    x = K.glorot_uniform.from_config(cfg)((300, 100), dtype="float64")
    limit = np.sqrt(6 / 400)
    assert np.abs(x).max() < limit
    assert stats.kstest(x.ravel(), stats.uniform(-limit, 2 * limit).cdf).pvalue > 1e-3


def test_tensorflow_argument_objects():
    init = K.he_uniform(seed=4)
    whole = init((8, 3))
    np.testing.assert_array_equal(init(tf.TensorShape([8, 3]), tf.float32), whole)
    assert init(tf.TensorShape([8, 3]), tf.float64).dtype == np.float64
    assert init((2, 2), tf.bfloat16).dtype.name == "bfloat16"
    assert K.Zeros(dtype=tf.int32)((2,)).dtype == np.int32
    assert K.Zeros(dtype=tf.int32).get_config() == TFK.Zeros(dtype=tf.int32).get_config()
    with pytest.raises(ValueError, match="floating point"):
        init((2, 2), tf.int32)
    with pytest.raises(ValueError, match="fully defined"):
        init(tf.TensorShape([None, 3]))


# --- TF1 graph code ----------------------------------------------------------------------

GRAPH_CASES = [
    ("keras.he_normal", lambda: K.he_normal(seed=1)),
    ("keras.he_uniform", lambda: K.he_uniform(seed=2)),
    ("keras.lecun_normal", lambda: K.lecun_normal(seed=3)),
    ("keras.lecun_uniform", lambda: K.lecun_uniform(seed=4)),
    ("keras.glorot_normal", lambda: K.glorot_normal(seed=5)),
    ("keras.glorot_uniform", lambda: K.glorot_uniform(seed=6)),
    ("keras.RandomNormal", lambda: K.RandomNormal(seed=7)),
    ("keras.RandomUniform", lambda: K.RandomUniform(seed=8)),
    ("keras.TruncatedNormal", lambda: K.TruncatedNormal(seed=9)),
    ("keras.VarianceScaling", lambda: K.VarianceScaling(2.0, "fan_out", "untruncated_normal", seed=10)),
    ("keras.Orthogonal", lambda: K.Orthogonal(gain=2.0, seed=11)),
    ("keras.Identity", lambda: K.Identity(gain=3.0)),
    ("keras.Constant", lambda: K.Constant([1.0, 2.0, 3.0])),
    ("keras.Ones", lambda: K.Ones()),
    ("initializers.random_normal", lambda: I.random_normal(seed=12)),
    ("initializers.random_uniform", lambda: I.random_uniform(seed=13)),
    ("initializers.truncated_normal", lambda: I.truncated_normal(seed=14)),
    ("initializers.uniform_unit_scaling", lambda: I.uniform_unit_scaling(seed=15)),
    ("initializers.he_normal", lambda: I.he_normal(seed=16)),
    ("v1.glorot_uniform_initializer", lambda: v1.glorot_uniform_initializer(seed=17)),
]


@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize(("label", "make"), GRAPH_CASES, ids=[c[0] for c in GRAPH_CASES])
def test_partitioned_variable_equals_whole_equals_eager(label, make, axis):
    shape = [10, 6]
    graph = tf.compat.v1.Graph()
    with graph.as_default():
        init = make()
        parted = tf.compat.v1.get_variable(
            "parted",
            shape=shape,
            initializer=init,
            partitioner=tf.compat.v1.fixed_size_partitioner(3, axis=axis),
        )
        whole = tf.compat.v1.get_variable("whole", shape=shape, initializer=init)
        parts = list(parted)
        assert len(parts) == 3
        joined = tf.concat(parts, axis=axis)
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            got_parted, got_whole = sess.run([joined, whole])
    eager = make()(shape)
    np.testing.assert_array_equal(got_parted, got_whole)
    np.testing.assert_array_equal(got_whole, eager)


def test_graph_partition_info_is_tensorflows_own():
    seen = []
    ours = K.he_normal(seed=1)

    def spy(shape, dtype=None, partition_info=None):
        seen.append((shape, dtype, partition_info))
        return ours(shape, dtype=dtype, partition_info=partition_info)

    graph = tf.compat.v1.Graph()
    with graph.as_default():
        tf.compat.v1.get_variable(
            "w", shape=[9, 4], initializer=spy, partitioner=tf.compat.v1.fixed_size_partitioner(2)
        )
    assert len(seen) == 2
    assert all(type(p).__module__.startswith("tensorflow") for _, _, p in seen)
    assert all(isinstance(d, tf.DType) for _, d, _ in seen)


# --- statistics beside TF's own ----------------------------------------------------------

STAT_CASES = [
    "keras.RandomNormal",
    "keras.RandomUniform",
    "keras.TruncatedNormal",
    "keras.he_normal",
    "keras.he_uniform",
    "keras.lecun_normal",
    "keras.lecun_uniform",
    "keras.glorot_normal",
    "keras.glorot_uniform",
    "keras.VarianceScaling",
    "keras.Orthogonal",
    "initializers.random_normal",
    "initializers.random_uniform",
    "initializers.truncated_normal",
    "initializers.uniform_unit_scaling",
    "initializers.variance_scaling",
    "initializers.he_normal",
    "initializers.lecun_uniform",
]


UNBOUNDED = {"keras.RandomNormal", "initializers.random_normal", "keras.Orthogonal"}


def _pair(label, seed):
    ns, name = label.split(".")
    ours, theirs = (K, TFK) if ns == "keras" else (I, TFI)
    params = _params(getattr(theirs, name))
    kw = {"seed": seed} if "seed" in params else {}
    return getattr(ours, name)(**kw), getattr(theirs, name)(**kw)


@pytest.mark.parametrize("label", STAT_CASES)
def test_statistics_beside_tensorflow(label):
    tf.random.set_seed(1234)
    mine, theirs = _pair(label, seed=21)
    shape = (400, 300)
    x = mine(shape, dtype="float64").ravel()
    y = theirs(shape, dtype=tf.float64).numpy().ravel()
    assert stats.ks_2samp(x, y).pvalue > 1e-3
    assert abs(x.mean() - y.mean()) < 5 * y.std() / np.sqrt(y.size) * np.sqrt(2)
    assert abs(x.std() / y.std() - 1) < 0.02
    if label not in UNBOUNDED:  # same bounds: TF's sample reaches within 1% of them at this size
        tol = 0.01 * (y.max() - y.min())
        assert y.min() - tol <= x.min() <= y.min() + tol
        assert y.max() - tol <= x.max() <= y.max() + tol


# --- errors and layers -------------------------------------------------------------------

BAD_ARGS = [
    ("VarianceScaling", {"scale": 0}),
    ("VarianceScaling", {"scale": -1.0}),
    ("VarianceScaling", {"mode": "fan_geo_avg"}),
    ("VarianceScaling", {"distribution": "laplace"}),
    ("VarianceScaling", {"dtype": "int32"}),
    ("RandomNormal", {"dtype": "int32"}),
    ("TruncatedNormal", {"dtype": "int64"}),
    ("Orthogonal", {"dtype": "int32"}),
    ("Identity", {"dtype": "int32"}),
]


@pytest.mark.parametrize(("name", "kwargs"), BAD_ARGS, ids=[f"{n}-{next(iter(k))}" for n, k in BAD_ARGS])
def test_bad_values_raise_valueerror_as_in_tensorflow(name, kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        getattr(TFK, name)(**kwargs)
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        getattr(K, name)(**kwargs)


@pytest.mark.parametrize(("name", "shape"), [("Orthogonal", (3,)), ("Identity", (2, 2, 2))])
def test_bad_shapes_raise_valueerror_as_in_tensorflow(name, shape):
    with pytest.raises(ValueError, match="shape"):
        getattr(TFK, name)()(shape)
    with pytest.raises(ValueError, match="shape"):
        getattr(K, name)()(shape)


def test_tf_keras_layers_eager_and_graph():
    import tf_keras

    layer = tf_keras.layers.Dense(4, kernel_initializer=K.he_normal(seed=1), bias_initializer=K.Constant(0.5))
    layer.build((None, 6))
    np.testing.assert_array_equal(layer.kernel.numpy(), K.he_normal(seed=1)((6, 4)))
    np.testing.assert_array_equal(layer.bias.numpy(), np.full(4, 0.5, np.float32))
    graph = tf.compat.v1.Graph()
    with graph.as_default():
        dense = tf_keras.layers.Dense(4, kernel_initializer=K.glorot_uniform(seed=2))
        dense(tf.compat.v1.placeholder(tf.float32, (None, 6)))
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            kernel = sess.run(dense.kernel)
    np.testing.assert_array_equal(kernel, K.glorot_uniform(seed=2)((6, 4)))
