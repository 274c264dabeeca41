"""A plan for a jax key, as a jax array: eagerly on the host (zero-copy), under ``jax.jit`` as the XLA op.

``generate(key, template, seed_of, out_sharding)``: ``template`` is the plan of
the whole tensor (any seed), ``seed_of`` the surface's rule from a key's words
to a seed.

- Concrete key, no sharding: the plan reseeded and realised like
  ``xp=jax.numpy`` (64-byte aligned host storage handed to jax without a copy;
  on a GPU device with cupy, the CUDA target into a device buffer); under
  ``jax.set_mesh``, replicated over the mesh as jax's own eager results are.
- Concrete key and ``out_sharding``: ``jax.make_array_from_callback``, one block
  per distinct shard, each from its offset.
- Traced key (``jax.jit``, ``vmap``, flax's ``init`` under jit): the XLA op
  (``arrayinit._xla.op``), constrained to ``out_sharding`` when one is given:
  each device generates its own tile into XLA's buffer.
"""

from __future__ import annotations

import math
import sys

import jax
import jax.numpy as jnp
import numpy as np

from arrayinit import _dtypes, _frontend
from arrayinit._xla import callback as _cb
from arrayinit._xla import op as _op

__all__ = ["generate", "key_words", "named_sharding"]


def key_words(key):
    """The uint32 words of a jax key (typed keys through ``jax.random.key_data``), traced or concrete."""
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return jax.random.key_data(key)
    return key if key.dtype == jnp.uint32 else key.astype(jnp.uint32)


def named_sharding(out_sharding, traced: bool):
    """``out_sharding`` as a ``jax.sharding.Sharding`` (a PartitionSpec takes the mesh of ``jax.set_mesh``), or None."""
    if out_sharding is None:
        return None
    if isinstance(out_sharding, jax.sharding.PartitionSpec):
        mesh = jax.sharding.get_abstract_mesh() if traced else jax.sharding.get_mesh()
        if mesh.empty:
            raise ValueError(
                "A PartitionSpec `out_sharding` needs a mesh: pass a NamedSharding, or set the mesh with "
                f"jax.set_mesh(mesh). Received: out_sharding={out_sharding!r}"
            )
        out_sharding = jax.sharding.NamedSharding(mesh, out_sharding)
    if not isinstance(out_sharding, jax.sharding.Sharding):
        raise TypeError(
            "Argument `out_sharding` must be a jax.sharding.NamedSharding, a PartitionSpec or None. "
            f"Received: out_sharding of type {type(out_sharding).__name__}"
        )
    return out_sharding


def _constrain(out, sharding):
    """``out`` (traced) given ``sharding``: a sharding constraint, which the op's partitioning follows.

    On a mesh of explicit axes a constraint only asserts: inside ``jax.set_mesh`` the sharding is set with
    ``reshard``; outside it (no mesh to type the program with), the constraint is given on the same devices
    and axes taken as automatic.
    """
    mesh = getattr(sharding, "mesh", None)
    explicit = jax.sharding.AxisType.Explicit in tuple(getattr(mesh, "axis_types", ()))
    if not explicit:
        return jax.lax.with_sharding_constraint(out, sharding)
    if not jax.sharding.get_abstract_mesh().empty:
        return jax.sharding.reshard(out, sharding)
    auto = (jax.sharding.AxisType.Auto,) * len(mesh.axis_names)
    same = jax.sharding.Mesh(mesh.devices, mesh.axis_names, axis_types=auto)
    return jax.lax.with_sharding_constraint(out, jax.sharding.NamedSharding(same, sharding.spec))


def generate(key, template, seed_of, out_sharding=None) -> jax.Array:
    """The values of ``template`` (the whole tensor's plan) for the jax ``key``; see the module docstring."""
    shape = tuple(template.full_shape)
    dtype = _dtypes.numpy_dtype(template.dtype)
    traced = isinstance(key, jax.core.Tracer)
    sharding = named_sharding(out_sharding, traced)
    if math.prod(shape) == 0:
        zeros = jnp.zeros(shape, dtype)
        return zeros if sharding is None else jax.device_put(zeros, sharding)
    words = key_words(key)
    if traced:
        spec = _cb.Spec(template, seed_of, int(words.shape[-1]), tuple(words.shape[:-1]))
        if spec.batch:  # a batch of keys under jit without vmap is not a key: as jax's initializers, refuse
            raise ValueError(f"Argument `key` must be a single key. Received: key of shape {tuple(key.shape)}")
        out = _op.generate(words, spec)
        if sharding is None:
            return out
        return _constrain(out, sharding)
    plan = _cb.with_seed(template, seed_of(np.asarray(words).reshape(-1)))
    if sharding is None:
        arr = _frontend.realise(plan, _frontend.resolve(shape, template.dtype, xp=sys.modules["jax.numpy"]))
        mesh = jax.sharding.get_mesh()
        if mesh.empty:
            return arr
        # under jax.set_mesh, jax's eager results are replicated over the mesh (flax then constrains them)
        return jax.device_put(arr, jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec()))

    def shard(index):  # a tuple of slices: this device's block
        bounds = [sl.indices(d)[:2] for sl, d in zip(index, shape)]
        block = plan.block(tuple(b - a for a, b in bounds), tuple(a for a, _ in bounds))
        return _frontend.host_array(block)

    return jax.make_array_from_callback(shape, sharding, shard)
