"""The XLA op: a plan as an operation of a jax program, partitioned per shard.

``generate(keys, spec)`` binds the ``arrayinit_fill`` primitive: keys (uint32
words, ``batch + (words,)``) in, the array ``batch + shape`` out. Its lowering:

- on CPU and CUDA devices, the custom call of ``jax.experimental.buffer_callback``
  (``xla_buffer_python_cpu_callback`` / ``..._gpu_callback``), whose host callback
  (``callback.on_cpu`` / ``callback.on_gpu``) writes into XLA's own output
  buffer, wrapped in ``custom_partitioning``'s ``CustomSPMDPartitioning`` call:
  whatever sharding XLA chooses for the result (``out_shardings``,
  ``with_sharding_constraint``, flax partition specs), ``_partition`` gives each
  device the op of its own tile, with the tile's offset (a constant table indexed
  by the partition id) as an operand; keys stay replicated (a Shardy rule whose
  key factors need replication, result factors free);
- elsewhere (TPU, ROCm, several platforms, a GPU without numba-cuda): a
  ``jax.pure_callback`` that generates the whole array on the host.

Why not ``buffer_callback`` inside ``custom_partitioning``'s ``partition``: the
per-shard function is lowered into a temporary module whose host callbacks are
dropped (jax-ml/jax#23620, a use-after-free). So the lowering here registers the
host callback in the program's own module first and the per-shard function
emits the custom call with that callback's index (``jax.ffi.ffi_call``).

The vmap rule adds a batch axis (one op for all keys, each key's block from its
own seed). Where this jax lacks any piece used here (``available()`` is False),
``deliver`` falls back to ``pure_callback``.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from arrayinit import _dtypes
from arrayinit._xla import callback as _cb

__all__ = ["available", "generate", "host_generate"]

_TARGETS = {"cpu": "xla_buffer_python_cpu_callback", "cuda": "xla_buffer_python_gpu_callback"}
_AXIS = "arrayinit_partition"

try:  # the pieces of jax this op is made of (jax 0.10); any missing one: the pure_callback fallback
    from jax._src import core as _core
    from jax._src import dispatch as _dispatch
    from jax._src import tree_util as _tree
    from jax._src.custom_partitioning import _custom_partitioning_lowering_rule as _cp_lowering
    from jax._src.custom_partitioning_sharding_rule import str_to_sdy_sharding_rule as _sdy_rule
    from jax._src.interpreters import batching as _batching
    from jax._src.interpreters import mlir as _mlir
    from jax._src.sharding_impls import GSPMDSharding as _GSPMDSharding
    from jax.experimental import buffer_callback as _buffer_callback  # noqa: F401  (its custom-call targets)

    _MISSING = None
except ImportError as e:  # pragma: no cover - older or newer jax
    _MISSING = f"{type(e).__name__}: {e}"


def available() -> bool:
    """Whether this jax has everything the op needs (else initializers under jit use ``pure_callback``)."""
    return _MISSING is None


# --- the host fallback (pure_callback) ----------------------------------------------------------------


def host_generate(spec: _cb.Spec, keys: np.ndarray) -> np.ndarray:
    """The whole array ``batch + shape`` on the host (the pure_callback fallback and its vmap)."""
    out = _dtypes.aligned_empty(spec.full, _dtypes.storage_dtype(spec.dtype))
    _cb.fill_host(spec, np.asarray(keys), _cb.where_words((0,) * len(spec.full), None), out)
    return out.view(_dtypes.numpy_dtype(spec.dtype))


def _fallback(keys, *, spec: _cb.Spec):
    result = jax.ShapeDtypeStruct(spec.full, _dtypes.numpy_dtype(spec.dtype))
    return jax.pure_callback(functools.partial(host_generate, spec), result, keys, vmap_method="sequential")


# --- partitioning: each device's tile and its offset ------------------------------------------------


def tiles(hlo, full: tuple[int, ...], n: int) -> tuple[tuple[int, ...], list[tuple[int, ...]]]:
    """The tile shape of ``hlo`` (an ``HloSharding``) for an array ``full`` and each partition's tile offset.

    XLA tiles an axis cut in ``k`` into ``ceil(d / k)``-long pieces (the last ones padded); the tile
    assignment names, for each tile position, the partition that holds it (axes after the array's are
    replicated or subgroup axes). Replicated and maximal shardings: the whole array everywhere.
    """
    nd = len(full)
    if hlo.is_replicated() or hlo.is_maximal() or not nd:
        return full, [(0,) * nd] * n
    if not hlo.is_tiled():
        raise NotImplementedError(f"arrayinit's XLA op cannot be partitioned by the sharding {hlo}")
    dims = list(hlo.tile_assignment_dimensions())
    grid = np.asarray(hlo.tile_assignment_devices()).reshape(dims)
    tile = tuple(-(-d // k) for d, k in zip(full, dims))
    starts: list[tuple[int, ...] | None] = [None] * n
    for pos in np.ndindex(*dims):
        starts[int(grid[pos])] = tuple(p * t for p, t in zip(pos[:nd], tile))
    if any(s is None for s in starts):
        raise NotImplementedError(f"arrayinit's XLA op: the sharding {hlo} leaves a partition without a tile")
    return tile, starts  # type: ignore[return-value]


def _ordinal(device) -> int | None:
    """The CUDA ordinal of a jax GPU device (None on other platforms)."""
    if getattr(device, "platform", None) != "gpu":
        return None
    hw = getattr(device, "local_hardware_id", None)
    return device.id if hw is None else int(hw)


class _Lowered:
    """What a partition callback needs of one lowering: the spec, the custom-call target, the callback index."""

    def __init__(self, spec: _cb.Spec, target: str, index: int):
        self.spec, self.target, self.index = spec, target, index

    def call(self, keys, where, tile: tuple[int, ...]):
        """The custom call of one tile (or of the whole array)."""
        result = jax.ShapeDtypeStruct(tile, _dtypes.numpy_dtype(self.spec.dtype))
        return jax.ffi.ffi_call(self.target, result)(keys, where, index=np.uint64(self.index))


def _partition(lowered: _Lowered, mesh, arg_shapes, result_shape):
    sharding = result_shape.sharding
    devices = tuple(sharding._device_assignment)
    full = lowered.spec.full
    tile, starts = tiles(sharding._to_xla_hlo_sharding(len(full)), full, len(devices))
    table = np.stack([_cb.where_words(s, _ordinal(d)) for s, d in zip(starts, devices)])
    own = jax.sharding.Mesh(np.array(devices, dtype=object), (_AXIS,))  # one axis: its index is the partition id

    def lower_fn(keys):
        where = jnp.asarray(table)[jax.lax.axis_index(_AXIS)]
        return lowered.call(keys, where, tile)

    keys_sharding = jax.sharding.NamedSharding(own, jax.sharding.PartitionSpec())
    return own, lower_fn, sharding, (keys_sharding,)


def _infer_from_operands(lowered: _Lowered, mesh, arg_shapes, result_shape):
    """GSPMD propagation (Shardy off): nothing to learn from the keys; the users' sharding decides."""
    devices = tuple(arg_shapes[0].sharding._device_assignment)
    return _GSPMDSharding.get_replicated(devices)


def _propagate_user(lowered: _Lowered, mesh, user_shape):
    return user_shape.sharding


def _sharding_rule(spec: _cb.Spec):
    """Keys replicated (their factors need replication), every axis of the result free."""
    keys = [f"k{i}" for i in range(len(spec.batch) + 1)]
    result = [f"r{i}" for i in range(len(spec.full))]
    return _sdy_rule(f"{' '.join(keys)} -> {' '.join(result)}", need_replication_factors=tuple(keys))


def _devices(ctx) -> tuple | None:
    assignment = getattr(ctx.module_context.axis_context, "device_assignment", None)
    return tuple(assignment) if assignment else None


@functools.lru_cache(maxsize=1)
def _cuda_target_ready() -> bool:
    """Whether the CUDA target can run in this process (numba-cuda and a driver)."""
    try:
        from numba import cuda

        return bool(cuda.is_available())
    except Exception:
        return False


if _MISSING is None:
    fill_p = _core.Primitive("arrayinit_fill")
    _dispatch.prim_requires_devices_during_lowering.add(fill_p)

    @fill_p.def_impl
    def _impl(keys, *, spec):
        return _dispatch.apply_primitive(fill_p, keys, spec=spec)

    @fill_p.def_abstract_eval
    def _abstract_eval(keys, *, spec):
        want = (*spec.batch, spec.key_words)
        if tuple(keys.shape) != want or keys.dtype != np.uint32:
            raise TypeError(f"arrayinit_fill takes uint32 keys of shape {want}. Received: {keys.str_short()}")
        return _core.ShapedArray(spec.full, _dtypes.numpy_dtype(spec.dtype))

    def _batch(args, dims, *, spec):
        (keys,), (d,) = args, dims
        keys = jnp.moveaxis(keys, d, 0)
        return fill_p.bind(keys, spec=spec.batched(keys.shape[0])), 0

    _batching.primitive_batchers[fill_p] = _batch

    def _lowering(ctx, keys, *, spec):
        mc = ctx.module_context
        platform = mc.platforms[0] if len(mc.platforms) == 1 else None
        target = _TARGETS.get(platform or "")
        if target is None or (platform == "cuda" and not _cuda_target_ready()):
            return _mlir.lower_fun(functools.partial(_fallback, spec=spec), multiple_results=False)(ctx, keys)
        body = _cb.on_cpu if platform == "cpu" else _cb.on_gpu
        mc.add_host_callback(functools.partial(body, spec))
        lowered = _Lowered(spec, target, len(mc.host_callbacks) - 1)
        devices = _devices(ctx)
        ordinal = _ordinal(devices[0]) if devices and len(devices) == 1 else None
        where = _cb.where_words((0,) * len(spec.full), ordinal)
        call = jax.make_jaxpr(lambda k: lowered.call(k, jnp.asarray(where), spec.full))(ctx.avals_in[0])
        shardy = jax.config.jax_use_shardy_partitioner
        return _cp_lowering(
            ctx,
            keys,
            call=call,
            in_tree=_tree.tree_structure((0,)),
            out_tree=_tree.tree_structure(0),
            propagate_user_sharding=None if shardy else _propagate_user,
            partition=_partition,
            infer_sharding_from_operands=None if shardy else _infer_from_operands,
            decode_shardings=False,
            sharding_rule=_sharding_rule(spec) if shardy else None,
            static_args=(lowered,),
        )

    _mlir.register_lowering(fill_p, _lowering)


def generate(keys, spec: _cb.Spec):
    """The array ``spec.batch + spec.shape`` for the (traced) uint32 ``keys``: the op, or the fallback."""
    if _MISSING is not None:
        return _fallback(keys, spec=spec)
    return fill_p.bind(keys, spec=spec)
