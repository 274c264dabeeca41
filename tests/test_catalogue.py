"""The catalogue is the one table every surface takes its names, aliases and presets from."""

import importlib.util
import inspect
import math
import os

import numpy as np
import pytest

import arrayinit as ai
from arrayinit import _catalogue, _variance
from arrayinit.compat import v1

PRESETS = [row for row in _catalogue.CATALOGUE.values() if row.preset is not None]


def test_every_keras_row_has_a_core_class_registered_under_its_names():
    for row in _catalogue.rows("keras"):
        cls = getattr(ai, row.name)
        assert cls.row is row
        for name in row.names:
            assert type(ai.get(name)) is cls
    names = {name for row in _catalogue.rows("keras") for name in row.names}
    assert names == set(ai.registered_names())


@pytest.mark.parametrize("row", PRESETS, ids=lambda r: r.name)
def test_core_and_tf1_presets_are_the_rows(row):
    scale, mode, distribution = row.preset
    core = getattr(ai, row.name)(seed=1)
    assert (core.scale, core.mode, core.distribution) == (scale, mode, distribution)
    tf1 = getattr(v1.initializers, row.tf1)(seed=1)
    assert (tf1.scale, tf1.mode, tf1.distribution) == (scale, mode, distribution)
    tf1_keras = v1.keras.initializers.get(row.tf1_keras)
    assert (tf1_keras.scale, tf1_keras.mode, tf1_keras.distribution) == (scale, mode, distribution)
    # the same values as the variance scaling they name, in every dialect that clamps the fan at 1
    shape = (3, 5, 7)
    vs = ai.VarianceScaling(scale, mode, distribution, seed=1)
    np.testing.assert_array_equal(core(shape), vs(shape))
    np.testing.assert_array_equal(tf1(shape), vs(shape))


def test_tf1_keras_namespace_resolves_and_writes_the_rows_names():
    keras_ns = v1.keras.initializers
    for row in _catalogue.rows("tf1_keras"):
        # a VarianceScaling config names its arguments (one of a preset's would read as another initializer)
        config = {"scale": 1.0, "mode": "fan_in", "distribution": "uniform"} if row.name == "VarianceScaling" else {}
        for name in row.tf1_keras_names:
            init = keras_ns.deserialize({"class_name": name, "config": config})
            assert keras_ns.serialize(init)["class_name"] == row.tf1_keras


DEFAULTS = [row for row in _catalogue.CATALOGUE.values() if row.defaults]


def _surface(dialect: str, row):
    """The constructor or function of ``row`` in a dialect's surface, or None where its library is missing."""
    if dialect == "keras":
        return getattr(ai, row.name)
    if dialect == "tf1":
        return getattr(v1.initializers, row.tf1)
    if dialect == "tf1_keras":
        return getattr(v1.keras.initializers, row.tf1_keras)
    module = {"jax": "jax", "torch": "torch"}[dialect]
    if importlib.util.find_spec(module) is None:
        return None
    import arrayinit.flax as aif
    import arrayinit.torch as ait

    return getattr(aif if dialect == "jax" else ait, getattr(row, dialect))


@pytest.mark.parametrize("row", DEFAULTS, ids=lambda r: r.name)
def test_every_surface_has_the_defaults_of_its_dialect(row):
    for dialect, defaults in row.defaults.items():
        surface = _surface(dialect, row)
        if surface is None:
            continue
        params = inspect.signature(surface).parameters
        assert {name: params[name].default for name in defaults} == dict(defaults), (dialect, surface)


def test_dialects_differ_only_where_the_frameworks_do():
    fans = (0.5, 0.5)  # a fan below 1: Keras and TF1 divide by 1, jax by the fan
    for dialect in (_variance.KERAS, _variance.TF1):
        assert dialect.sampling(2.0, "fan_in", "uniform", *fans).limit == math.sqrt(6.0)
    assert _variance.JAX.sampling(2.0, "fan_in", "uniform", *fans).limit == math.sqrt(12.0)
    assert _variance.KERAS.check(1.0, "fan_in", "normal")[2] == "truncated_normal"  # Keras' legacy name
    assert _variance.JAX.check(1.0, "fan_in", "normal")[2] == "normal"  # jax: untruncated
    with pytest.raises(ValueError, match="Invalid `mode` argument"):
        _variance.TF1.check(1.0, "fan_geo_avg", "uniform")


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is installed by the tests_xp session")
@pytest.mark.parametrize("row", PRESETS, ids=lambda r: r.name)
def test_flax_factories_take_the_rows_presets(row):
    import jax

    import arrayinit.flax as aif

    key = jax.random.key(3)
    scale, mode, distribution = row.preset
    ours = getattr(aif, row.jax)()(key, (6, 5), "float32")
    np.testing.assert_array_equal(ours, aif.variance_scaling(scale, mode, distribution)(key, (6, 5), "float32"))


@pytest.mark.skipif(
    importlib.util.find_spec("keras") is None or "KERAS_BACKEND" not in os.environ,
    reason="keras (with KERAS_BACKEND) is installed by the tests_xp session",
)
def test_keras_classes_keep_one_core_initializer():
    import arrayinit.keras as aik

    for row in _catalogue.rows("keras"):
        assert type(aik.get(row.name)).__name__ == row.name
    init = aik.HeNormal(seed=0)
    first = init((16, 16))
    core = init._core()
    np.testing.assert_array_equal(init((16, 16)), first)
    assert init._core() is core  # the plan of (16, 16) is kept by that core initializer
    init.seed = 1  # an assigned attribute: a new core initializer of the new arguments
    np.testing.assert_array_equal(init((16, 16)), ai.HeNormal(seed=1)((16, 16)))
