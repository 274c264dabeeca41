"""arrayinit.keras under the jax, torch and numpy Keras backends (one subprocess per backend)."""

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import arrayinit as ai

if importlib.util.find_spec("keras") is None:
    pytest.skip("keras is installed by the tests_xp session", allow_module_level=True)

BACKENDS = {"jax": "jax", "torch": "torch", "numpy": None}


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_keras_model_builds_runs_saves_reloads(backend, tmp_path):
    lib = BACKENDS[backend]
    if lib and importlib.util.find_spec(lib) is None:
        pytest.skip(f"the {backend} Keras backend needs {lib}")
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu"}
    worker = Path(__file__).parent / "workers" / "keras_worker.py"
    res = subprocess.run(
        [sys.executable, str(worker), str(tmp_path)], env=env, capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, res.stderr[-4000:]
    report = json.loads(res.stdout.strip().splitlines()[-1])
    assert report["backend"] == backend
    assert report["conv_equal_arrayinit"]
    assert report["bias"] == [0.25] * 5
    assert report["predict_shape"] == [2, 5]
    assert report["reload_equal"]
    # an arrayinit initializer with a Keras counterpart comes back as the Keras-native class
    assert report["reloaded_initializer"] == "HeNormal"
    assert report["reloaded_values_equal"]
    assert report["bf16"] == "bfloat16"
    # integer and bool variables from the constant initializers, as Keras' own make them
    assert report["int_variables"] == {"zeros/int32": [0, 0], "ones/bool": [True, True], "constant/uint8": [3, 3]}
    assert report["int_random_refused"]
    assert report["seed_generator"] == [True, True]
    assert report["native"] == {
        "weights_equal_after_load": True,
        "seeded_weights_equal_after_rebuild": True,
        "einsum_equals_arrayinit": True,
        "reloaded_class": "arrayinit.keras.LecunNormal",
        "reloaded_is_keras_lecun": True,
    }


# --- in process, under the backend of the tests_xp session (KERAS_BACKEND=jax) ----------------------------------

needs_backend = pytest.mark.skipif(
    "KERAS_BACKEND" not in os.environ, reason="keras needs KERAS_BACKEND; the tests_xp nox session sets it"
)


@pytest.fixture(scope="module")
def ks():
    if "KERAS_BACKEND" not in os.environ:
        pytest.skip("keras needs KERAS_BACKEND; the tests_xp nox session sets it")
    import keras

    import arrayinit.keras as aik

    return keras, aik


CATALOGUE = [
    "Constant",
    "Identity",
    "Ones",
    "STFT",
    "Zeros",
    "GlorotNormal",
    "GlorotUniform",
    "HeNormal",
    "HeUniform",
    "LecunNormal",
    "LecunUniform",
    "Orthogonal",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
]
SEEDED = {
    "GlorotNormal": {},
    "GlorotUniform": {},
    "HeNormal": {},
    "HeUniform": {},
    "LecunNormal": {},
    "LecunUniform": {},
    "Orthogonal": {"gain": 1.5},
    "RandomNormal": {"mean": 0.5, "stddev": 2.0},
    "RandomUniform": {"minval": -0.5, "maxval": 2.0},
    "TruncatedNormal": {"mean": -1.0, "stddev": 0.5},
    "VarianceScaling": {"scale": 3.0, "mode": "fan_avg", "distribution": "untruncated_normal"},
}


@needs_backend
@pytest.mark.parametrize("name", CATALOGUE)
def test_catalogue_classes_are_keras_subclasses_with_keras_configs(ks, name):
    keras, aik = ks
    cls = getattr(aik, name)
    theirs_cls = getattr(keras.initializers, name)
    assert issubclass(cls, theirs_cls)
    assert keras.saving.get_registered_name(cls) == f"arrayinit>{name}"
    kwargs = {**SEEDED[name], "seed": 7} if name in SEEDED else {}
    ours, theirs = cls(**kwargs), theirs_cls(**kwargs)
    assert ours.get_config() == theirs.get_config()
    again = keras.initializers.deserialize(json.loads(json.dumps(keras.initializers.serialize(ours))))
    assert type(again) is cls
    assert again.get_config() == ours.get_config()
    assert aik.get(name).__class__ is cls
    assert aik.get(keras.initializers.serialize(theirs)).__class__ is cls  # a Keras-written config reads as ours


@needs_backend
@pytest.mark.parametrize("name", sorted(SEEDED))
def test_seeded_values_are_arrayinit_values(ks, name):
    _keras, aik = ks
    shape = (6, 5, 16, 12)
    ours = getattr(aik, name)(**SEEDED[name], seed=11)
    core = getattr(ai, name)(**SEEDED[name], seed=11)
    for dtype in ("float32", "bfloat16"):
        a, b = ours(shape, dtype), core(shape, dtype)
        assert str(a.dtype) == dtype
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ours(shape), ours(shape))  # an int seed: the same values on every call
    assert isinstance(ours(shape), np.ndarray)


def _ks_truncnorm(x, stddev):
    from scipy import stats

    return stats.kstest(np.ravel(x).astype(np.float64), stats.truncnorm(-2.0, 2.0, scale=stddev).cdf).pvalue


@needs_backend
@pytest.mark.parametrize("how", ["native", "wrapper", "native_unseeded"])
def test_einsum_dense_and_mha_get_keras_per_layer_axes(ks, how):
    keras, aik = ks
    keras.utils.set_random_seed(0)  # the unseeded cases draw their seeds from Python's random: fixed here
    init = {
        "native": aik.LecunNormal(seed=0),
        "wrapper": aik.KerasInitializer("lecun_normal"),  # arrayinit's name through the wrapper
        "native_unseeded": aik.LecunNormal(),
    }[how]
    assert isinstance(init, keras.initializers.VarianceScaling)
    layer = keras.layers.EinsumDense("abc,cde->abde", output_shape=(None, 16, 64), kernel_initializer=init)
    layer.build((None, 10, 48))
    kernel = keras.ops.convert_to_numpy(layer.kernel.value)
    assert kernel.shape == (48, 16, 64)
    # fan_in = 48 (the contracted axis), not the default rule's 48 * 16
    assert _ks_truncnorm(kernel, (1 / 48) ** 0.5 / 0.87962566103423978) > 1e-3
    assert abs(kernel.std() / (1 / 48) ** 0.5 - 1) < 0.03
    if how == "native":
        expect = ai.VarianceScaling(seed=0, input_axes=[0], output_axes=[1, 2])((48, 16, 64))
        np.testing.assert_array_equal(kernel, expect)
    mha = keras.layers.MultiHeadAttention(num_heads=8, key_dim=32, kernel_initializer=init)
    mha.build((None, 10, 64), (None, 10, 64))
    q = keras.ops.convert_to_numpy(mha.query_dense.kernel.value)  # (64, 8, 32): fan_in 64
    k = keras.ops.convert_to_numpy(mha.key_dense.kernel.value)
    out = keras.ops.convert_to_numpy(mha.output_dense.kernel.value)  # (8, 32, 64): fan_in 8 * 32
    assert q.shape == (64, 8, 32)
    assert out.shape == (8, 32, 64)
    assert _ks_truncnorm(q, (1 / 64) ** 0.5 / 0.87962566103423978) > 1e-3
    assert _ks_truncnorm(out, (1 / 256) ** 0.5 / 0.87962566103423978) > 1e-3
    assert not np.array_equal(q, k) or how == "native"  # unseeded: each projection its own draw, as Keras


@needs_backend
def test_seed_generator_gives_fresh_values_per_call(ks):
    keras, aik = ks
    gen = keras.random.SeedGenerator(1337)
    init = aik.HeUniform(seed=gen)
    assert init.seed is gen
    a, b = init((64, 32)), init((64, 32))
    assert not np.array_equal(a, b)
    # the generator's states (1337, 0), (1337, 1) are the arrayinit seeds 1337 and 1337 + 2**32
    np.testing.assert_array_equal(a, aik.HeUniform(seed=1337)((64, 32)))
    np.testing.assert_array_equal(b, ai.HeUniform(seed=1337 + 2**32)((64, 32)))
    cfg = init.get_config()
    assert cfg["seed"]["class_name"] == "SeedGenerator"
    again = aik.HeUniform.from_config(json.loads(json.dumps(cfg)))
    assert isinstance(again.seed, keras.random.SeedGenerator)
    np.testing.assert_array_equal(again((64, 32)), a)  # a new generator from the same initial seed


@needs_backend
def test_unseeded_draws_from_python_random_like_keras(ks):
    keras, aik = ks
    keras.utils.set_random_seed(3)
    a = aik.RandomNormal()((100,))
    keras.utils.set_random_seed(3)
    b = aik.RandomNormal()
    np.testing.assert_array_equal(a, b((100,)))
    assert b.get_config()["seed"] is None
    assert not np.array_equal(b((100,)), b.clone()((100,)))  # a clone draws its own seed
    with pytest.raises(ValueError, match="seed"):
        aik.RandomNormal(seed=-1)
    with pytest.raises(ValueError, match="seed"):
        aik.RandomNormal(seed="1")


@needs_backend
def test_argument_errors_are_keras_errors(ks):
    _keras, aik = ks
    with pytest.raises(ValueError, match="Argument `scale` must be positive float"):
        aik.VarianceScaling(scale=-1.0)
    with pytest.raises(ValueError, match="Invalid `mode` argument"):
        aik.HeNormal.__mro__[1](mode="fan_up")
    with pytest.raises(ValueError, match="Invalid `distribution` argument"):
        aik.VarianceScaling(distribution="gamma")
    with pytest.raises(ValueError, match="`maxval`"):
        aik.RandomUniform(1.0, 0.0)
    with pytest.raises(ValueError, match="Only floating point"):
        aik.HeNormal(seed=0)((3, 3), "int32")
    with pytest.raises(ValueError, match="Could not interpret initializer identifier"):
        aik.get("typo")


@needs_backend
def test_constants_and_identity_take_integer_dtypes(ks):
    keras, aik = ks
    for init, dtype, expect in [
        (aik.Zeros(), "int32", [[0, 0], [0, 0]]),
        (aik.Ones(), "bool", [[True, True], [True, True]]),
        (aik.Constant(3), "uint8", [[3, 3], [3, 3]]),
        (aik.Identity(2), "int16", [[2, 0], [0, 2]]),
    ]:
        v = keras.ops.convert_to_numpy(init((2, 2), dtype))
        assert str(v.dtype) == dtype
        assert v.tolist() == expect
    np.testing.assert_array_equal(aik.Constant(0.25)((3,), "bfloat16"), ai.Constant(0.25)((3,), "bfloat16"))


@needs_backend
def test_get_resolves_keras_names_arrays_and_arrayinit_initializers(ks):
    keras, aik = ks
    assert type(aik.get("glorot_normal")) is aik.GlorotNormal
    assert type(aik.get("IdentityInitializer")) is aik.Identity
    assert type(aik.get("STFTInitializer")) is aik.STFT
    assert type(aik.get("normal")) is aik.RandomNormal
    assert aik.get(None) is None
    assert type(aik.get(ai.HeNormal(seed=1))) is aik.HeNormal
    native = aik.GlorotUniform(seed=2)
    assert aik.KerasInitializer(native) is native
    wrapped = aik.get(ai.VarianceScaling(seed=1, in_axis=1, out_axis=0))  # JAX axes: no Keras counterpart
    assert type(wrapped) is aik.KerasInitializer
    np.testing.assert_array_equal(wrapped((4, 3)), ai.VarianceScaling(seed=1, in_axis=1, out_axis=0)((4, 3)))
    values = np.arange(6, dtype=np.float32).reshape(2, 3)
    fn = aik.get(values)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(fn((2, 3))), values)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(aik.get(keras.ops.ones((2,)))((2,))), [1.0, 1.0])
    with pytest.raises(ValueError, match="Expected `shape`"):
        fn((3, 2))


@needs_backend
def test_stft_matches_keras(ks):
    keras, aik = ks
    shape = (64, 1, 33)
    for args in [("real", None), ("imag", "hann", "density", True), ("real", "hamming", "spectrum"), ("imag", None)]:
        ours = aik.STFT(*args)
        theirs = keras.initializers.STFT(*args)
        assert ours.get_config() == theirs.get_config()
        # Keras computes the phase in float32 (errors up to about 1e-5); ours in float64, rounded once
        np.testing.assert_allclose(ours(shape), keras.ops.convert_to_numpy(theirs(shape)), atol=3e-5)
        np.testing.assert_array_equal(ours(shape), ai.STFT(*args)(shape))


def test_every_name_of_keras_initializers_is_there():
    import keras

    from arrayinit import keras as aik

    names = [n for n in dir(keras.initializers) if not n.startswith("_")]
    assert {"he_normal", "OrthogonalInitializer", "Initializer", "zeros"} <= set(names)
    assert [n for n in names if not hasattr(aik, n)] == []
    assert aik.he_normal is aik.HeNormal
    assert aik.OrthogonalInitializer is aik.Orthogonal
    assert aik.Initializer is keras.initializers.Initializer
    assert set(names) <= set(dir(aik))
    with pytest.raises(AttributeError, match="no_such_name"):
        aik.no_such_name


@pytest.mark.parametrize("name", ["Zeros", "HeNormal", "VarianceScaling", "Orthogonal", "RandomNormal"])
def test_an_instance_has_the_same_attributes_before_and_after_a_call_and_revived(name):
    # Keras' serialization test compares the attributes of an instance and of its revived copy
    from arrayinit import keras as aik

    init = getattr(aik, name)(seed=3) if name != "Zeros" else aik.Zeros()
    before = set(dir(init))
    init((4, 4))
    revived = type(init).from_config(init.get_config())
    assert set(dir(init)) == before == set(dir(revived))


@pytest.mark.parametrize("name", ["HeNormal", "GlorotUniform", "LecunNormal"])
def test_a_preset_reads_its_variance_scaling_attributes_at_call_time_as_keras_does(name):
    import keras

    from arrayinit import keras as aik

    ours, theirs = getattr(aik, name)(seed=5), getattr(keras.initializers, name)(seed=5)
    assert (ours.scale, ours.mode, ours.distribution) == (theirs.scale, theirs.mode, theirs.distribution)
    untouched = np.asarray(ours((64, 32)))
    np.testing.assert_array_equal(untouched, getattr(ai, name)(seed=5)((64, 32)))
    ours.scale, ours.mode, ours.distribution = 8.0, "fan_out", "uniform"
    expected = ai.VarianceScaling(8.0, "fan_out", "uniform", seed=5)((64, 32))
    np.testing.assert_array_equal(np.asarray(ours((64, 32))), expected)
    # the same assignments change Keras' own values the same way: the bound of a uniform of limit sqrt(3 scale / n)
    theirs.scale, theirs.mode, theirs.distribution = 8.0, "fan_out", "uniform"
    limit = math.sqrt(3 * 8.0 / 32)
    assert float(np.abs(np.asarray(theirs((64, 32)))).max()) <= limit
    assert float(np.abs(expected).max()) <= limit
    assert float(np.abs(expected).max()) > 0.9 * limit
