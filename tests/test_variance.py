"""The one source of fan rules and variance-scaling parameters, as every surface uses it."""

import math

import pytest

import arrayinit as ai
from arrayinit import _variance as V


def test_core_fans_follow_jax_for_overlapping_axes():
    # jax.nn.initializers._compute_fans((6, 4), in_axis=1, out_axis=-1) == (6.0, 6.0)
    assert ai.compute_fans((6, 4), in_axis=1, out_axis=-1) == (6, 6)
    assert V.jax_fans((6, 4), 1, -1) == (6, 6)
    # fractional where jax's are: (2, 3, 5) with in_axis=(0, 1), out_axis=1 -> receptive 30 / (6 * 3 * 1)
    fi, fo = ai.compute_fans((2, 3, 5), in_axis=(0, 1), out_axis=1)
    assert fi == pytest.approx(6 * 30 / 18)
    assert fo == pytest.approx(3 * 30 / 18)


def test_core_and_flax_give_the_same_scale_for_overlapping_axes():
    init = ai.VarianceScaling(2.0, "fan_in", "uniform", seed=0, in_axis=1, out_axis=-1)
    s = init.sampling((6, 4))
    assert s.kind == "uniform"
    assert s.limit == pytest.approx(math.sqrt(3 * 2.0 / 6))


@pytest.mark.parametrize("shape", [(-1, 3), ("a", 3), (2.5, 3), "ab", {"a": 1}, {1, 2}, None])
def test_fans_refuse_bad_shapes(shape):
    with pytest.raises((TypeError, ValueError), match="shape"):
        ai.compute_fans(shape)


def test_torch_fans():
    assert V.torch_fans((64, 3, 5, 5)) == (75, 1600)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        V.torch_fans((5,))


@pytest.mark.parametrize(
    ("mode", "n"), [("fan_in", 12), ("fan_out", 20), ("fan_avg", 16), ("fan_geo_avg", math.sqrt(240))]
)
def test_variance_scaling_parameters(mode, n):
    t = V.variance_scaling(3.0, mode, "truncated_normal", 12, 20)
    assert t.stddev == pytest.approx(math.sqrt(3.0 / n) / V.TRUNCATION_STD)
    assert V.variance_scaling(3.0, mode, "normal", 12, 20).stddev == pytest.approx(math.sqrt(3.0 / n))
    assert V.variance_scaling(3.0, mode, "uniform", 12, 20).limit == pytest.approx(math.sqrt(9.0 / n))
    # Keras clamps n at 1, jax does not
    assert V.variance_scaling(1.0, mode, "normal", 0.25, 0.25).stddev == 1.0
    assert V.variance_scaling(1.0, mode, "normal", 0.25, 0.25, clamp=False).stddev == pytest.approx(2.0)


def test_one_exception_type_per_kind_of_bad_value():
    for bad in (0, -1.0, float("inf"), float("nan"), 10**400):
        with pytest.raises(ValueError, match="scale"):
            V.check_scale(bad)
    for bad in ("2", None, True):
        with pytest.raises(TypeError, match="scale"):
            V.check_scale(bad)
    with pytest.raises(ValueError, match="Invalid `mode`"):
        V.check_mode("fan_sum")
    with pytest.raises(ValueError, match="Invalid `distribution`"):
        V.check_distribution("gamma")
    with pytest.raises(ValueError, match="Invalid `distribution`"):
        V.check_distribution(3)
    assert V.check_distribution("normal", V.KERAS_DISTRIBUTIONS) == "truncated_normal"
    assert V.check_distribution("normal", V.JAX_DISTRIBUTIONS) == "normal"
    # the same bad value gives the same exception type on every surface
    from arrayinit.compat import v1

    for make in (lambda s: ai.VarianceScaling(s), lambda s: v1.VarianceScaling(s)):
        with pytest.raises(ValueError, match="scale"):
            make(10**400)
        with pytest.raises(TypeError, match="scale"):
            make("1")
