"""arrayinit.flax: initializers for JAX and Flax, equal eagerly and under jit."""

import numpy as np
import pytest

jax = pytest.importorskip("jax", reason="jax is installed by the tests_frameworks session")
jnp = pytest.importorskip("jax.numpy", reason="jax is installed by the tests_frameworks session")
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
        aif.orthogonal,
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
    nn = pytest.importorskip("flax.linen", reason="flax is installed by the tests_frameworks session")

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
