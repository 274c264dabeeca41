"""JAX / Flax integration: ``(key, shape, dtype)`` initializers drawing from the arrayinit stream.

The seed comes from the JAX key: ``seed = (w0 << 32) | w1`` of
``jax.random.key_data(key)`` (so ``jax.random.key(s)`` gives arrayinit seed ``s``:
any ``s < 2**32``, or ``s < 2**64`` with ``jax_enable_x64``; keys of other
implementations are hashed). Flax folds
each parameter's path into its key, so every parameter gets its own stream.

Eagerly the values are generated on the host and handed to jax; under
``jax.jit`` through ``jax.pure_callback``. Both give the same values.

Examples
--------
>>> import jax, jax.numpy as jnp
>>> import arrayinit.flax as aif
>>> init = aif.he_normal()
>>> w = init(jax.random.key(0), (64, 32), jnp.float32)
>>> bool((w == jax.jit(init, static_argnums=(1, 2))(jax.random.key(0), (64, 32), jnp.float32)).all())
True
"""

from __future__ import annotations

import hashlib

import jax
import jax.numpy as jnp
import numpy as np

from arrayinit import _dtypes
from arrayinit import _initializers as _I
from arrayinit._registry import get

__all__ = [
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "initializer",
    "lecun_normal",
    "lecun_uniform",
    "normal",
    "orthogonal",
    "seed_from_key",
    "truncated_normal",
    "uniform",
    "variance_scaling",
]


def seed_from_key(key_data) -> int:
    """The arrayinit seed of a JAX key's data (uint32 words)."""
    words = np.asarray(key_data).astype(np.uint32).reshape(-1)
    if words.size == 2:
        return (int(words[0]) << 32) | int(words[1])
    return int.from_bytes(hashlib.blake2b(words.tobytes(), digest_size=8).digest(), "little")


def initializer(init):
    """A ``(key, shape, dtype=jnp.float32) -> jax.Array`` function from an arrayinit initializer or name."""
    base = get(init)

    def init_fn(key, shape, dtype=jnp.float32):
        shape = tuple(int(d) for d in shape)
        name = _dtypes.dtype_name(dtype)
        if name == "float64" and not jax.config.read("jax_enable_x64"):
            raise ValueError(
                "float64 needs jax_enable_x64 (jax.config.update('jax_enable_x64', True)); arrayinit does not "
                "downcast silently. Received: dtype=float64"
            )
        if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
            key = jax.random.key_data(key)
        np_dtype = _dtypes.numpy_dtype(name)

        def host(kd):
            return np.asarray(_I.reseeded(base, seed_from_key(kd))(shape, name), dtype=np_dtype)

        if isinstance(key, jax.core.Tracer):
            return jax.pure_callback(host, jax.ShapeDtypeStruct(shape, np_dtype), key, vmap_method="sequential")
        return jnp.asarray(host(np.asarray(key)))

    init_fn.__name__ = f"arrayinit_{type(base).__name__}"
    return init_fn


def variance_scaling(scale, mode, distribution, in_axis=-2, out_axis=-1, batch_axis=()):
    """``jax.nn.initializers.variance_scaling`` semantics: ``"normal"`` is the *untruncated* normal here."""
    dist = {"normal": "untruncated_normal"}.get(distribution, distribution)
    return initializer(
        _I.VarianceScaling(scale, mode, dist, seed=0, in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis)
    )


def glorot_uniform(in_axis=-2, out_axis=-1, batch_axis=()):
    return variance_scaling(1.0, "fan_avg", "uniform", in_axis, out_axis, batch_axis)


def glorot_normal(in_axis=-2, out_axis=-1, batch_axis=()):
    return variance_scaling(1.0, "fan_avg", "truncated_normal", in_axis, out_axis, batch_axis)


def he_uniform(in_axis=-2, out_axis=-1, batch_axis=()):
    return variance_scaling(2.0, "fan_in", "uniform", in_axis, out_axis, batch_axis)


def he_normal(in_axis=-2, out_axis=-1, batch_axis=()):
    return variance_scaling(2.0, "fan_in", "truncated_normal", in_axis, out_axis, batch_axis)


def lecun_uniform(in_axis=-2, out_axis=-1, batch_axis=()):
    return variance_scaling(1.0, "fan_in", "uniform", in_axis, out_axis, batch_axis)


def lecun_normal(in_axis=-2, out_axis=-1, batch_axis=()):
    return variance_scaling(1.0, "fan_in", "truncated_normal", in_axis, out_axis, batch_axis)


def normal(stddev=1e-2):
    return initializer(_I.RandomNormal(stddev=stddev, seed=0))


def truncated_normal(stddev=1e-2, lower=-2.0, upper=2.0):
    if (lower, upper) != (-2.0, 2.0):
        raise ValueError(f"Only the Keras bounds (-2, 2) are supported. Received: lower={lower}, upper={upper}")
    return initializer(_I.TruncatedNormal(stddev=stddev, seed=0))


def uniform(scale=1e-2):
    """Uniform on ``[0, scale)`` (jax.nn.initializers.uniform)."""
    return initializer(_I.RandomUniform(0.0, scale, seed=0))


def orthogonal(scale=1.0):
    return initializer(_I.Orthogonal(gain=scale, seed=0))
