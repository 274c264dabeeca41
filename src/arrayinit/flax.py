"""JAX / Flax integration: ``(key, shape, dtype)`` initializers drawing from the arrayinit stream.

The factories have the signatures of ``jax.nn.initializers`` (argument names,
order and defaults, ``dtype`` included) and its semantics: the same fans,
scales, bounds and shapes; only the random values differ (they come from the
arrayinit stream, not from ``jax.random``).

The seed comes from the JAX key (``seed_from_key``): ``jax.random.key(s)`` gives
arrayinit seed ``s``; split and folded keys give the seed their two words spell.
Flax folds each parameter's path into its key, so every parameter gets its own
stream.

Eagerly the values are generated on the host and handed to jax without a
copy (as ``xp=jax.numpy``); under ``jax.jit`` the initializer is an op of the
program that writes into XLA's own buffer, partitioned like jax's RNG: whatever
sharding XLA gives the result, each device generates only its own shard, from
its offset (``arrayinit._xla``). Every path gives the same values, equal to the
unsharded array's.

The dtype of the result is the ``dtype`` given to the initializer, else the
factory's ``dtype``, else jax's default float dtype (float32; float64 with
``jax_enable_x64``). float32, float64, bfloat16, float16, complex64 and
complex128 (``normal``, ``uniform`` and variance scaling; see ``arrayinit._complex``)
are supported; a 64-bit dtype without ``jax_enable_x64`` is an error, never a
silent downcast.

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
from collections.abc import Callable, Sequence
from typing import Any, Literal

import jax
import numpy as np

from arrayinit import _complex, _dtypes, _plans, _variance
from arrayinit import _initializers as _core
from arrayinit._catalogue import preset
from arrayinit._errors import check_float, check_int, check_shape, received
from arrayinit._registry import get
from arrayinit._values import DrawnPlan
from arrayinit._xla import deliver as _deliver

__all__ = [
    "constant",
    "delta_orthogonal",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "initializer",
    "kaiming_normal",
    "kaiming_uniform",
    "lecun_normal",
    "lecun_uniform",
    "normal",
    "ones",
    "ones_init",
    "orthogonal",
    "seed_from_key",
    "truncated_normal",
    "uniform",
    "variance_scaling",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
    "zeros_init",
]

Axes = int | Sequence[int]
Mode = Literal["fan_in", "fan_out", "fan_avg", "fan_geo_avg"]
Distribution = Literal["truncated_normal", "normal", "uniform"]
DTypeLike = Any
#: ``init(key, shape, dtype=None) -> jax.Array``, as ``jax.nn.initializers.Initializer``.
Initializer = Callable[..., jax.Array]

# The plan of the whole tensor of a shape in a dtype, for any seed (the key's replaces it): ``plan_of(shape, name)``
_PlanOf = Callable[[tuple[int, ...], str], Any]
# Host values of a block: ``draw(seed, dtype_name, block_shape, offset)`` -> the numpy block
# ``[offset, offset + block_shape)`` of the tensor (orthogonal matrices: a property of the whole)
_Draw = Callable[[int, str, tuple[int, ...], tuple[int, ...]], np.ndarray]


def seed_from_key(key_data) -> int:
    """The arrayinit seed of a JAX key's data (uint32 words).

    A two-word key (jax's default ``threefry2x32``) ``[w0, w1]`` gives ``(w0 << 32) | w1``:
    ``jax.random.key(s)`` gives seed ``s``, and a key from ``jax.random.split`` or
    ``jax.random.fold_in`` gives the seed its two words spell, so each split or
    folded key has its own stream. Keys of other sizes are hashed (BLAKE2b, 8 bytes).

    Examples
    --------
    >>> import jax, arrayinit.flax as aif
    >>> aif.seed_from_key(jax.random.key_data(jax.random.key(7)))
    7
    """
    words = np.asarray(key_data).astype(np.uint32).reshape(-1)
    if words.size == 2:
        return (int(words[0]) << 32) | int(words[1])
    return int.from_bytes(hashlib.blake2b(words.tobytes(), digest_size=8).digest(), "little")


def _scalar(name: str, value: object) -> object:
    """A 0-d array argument (numpy or a concrete jax array) as a Python number, as jax accepts it; else unchanged."""
    if isinstance(value, jax.core.Tracer):
        raise TypeError(
            f"Argument `{name}` must be concrete (a number or a 0-d array), not a traced value: build the "
            f"initializer outside jax.jit. Received: {name} of type {type(value).__name__}"
        )
    if isinstance(value, (np.ndarray, np.generic, jax.Array)):
        if np.shape(value) != ():
            raise ValueError(f"Argument `{name}` must be a scalar. Received: {name} of shape {np.shape(value)}")
        return np.asarray(value).item()
    return value


def _dtype_name(dtype: DTypeLike) -> str:
    return _dtypes.complex_name(dtype) or _dtypes.dtype_name(dtype)


def _check_dtype(dtype: DTypeLike) -> DTypeLike:
    """A factory's default ``dtype``: None, a float or a complex dtype (64-bit is checked at call time)."""
    if dtype is not None:
        _dtype_name(dtype)
    return dtype


def _whole(shape: tuple[int, ...], dname: str):
    """The checked block of the whole tensor (complex tensors: fewer than 2**62 elements)."""
    return _complex.call_block(shape, None, None, dname in _dtypes.COMPLEX_PARTS)


def _drawn(shape: tuple[int, ...], dname: str, draw: _Draw) -> DrawnPlan:
    """The host-value plan of the whole tensor whose blocks ``draw`` computes."""
    return DrawnPlan(shape, shape, (0,) * len(shape), dname, 0, draw)


def _make(
    plan_of: _PlanOf,
    dtype: DTypeLike,
    name: str,
    complex_values: bool = True,
) -> Initializer:
    """``init(key, shape, dtype=dtype, out_sharding=None)`` from ``plan_of(shape, dtype_name)``.

    ``plan_of`` checks the shape and the parameters and builds the plan of the
    whole tensor when the initializer is called (at trace time under jit, so
    errors are raised there); ``arrayinit._xla.deliver`` runs it for the key's
    seed: eagerly on the host, under jit as an XLA op, one block per shard.
    """

    def init_fn(key, shape, dtype: DTypeLike = dtype, out_sharding=None) -> jax.Array:
        shape = check_shape("shape", shape)
        if dtype is None:
            dtype = jax.dtypes.canonicalize_dtype(float)  # jax's default float dtype
        dname = _dtype_name(dtype)
        if dname in ("float64", "complex128") and not jax.config.read("jax_enable_x64"):
            raise ValueError(
                f"{dname} needs jax_enable_x64 (jax.config.update('jax_enable_x64', True)); arrayinit does not "
                f"downcast silently. Received: dtype={dname}"
            )
        if dname in _dtypes.COMPLEX_PARTS and not complex_values:
            _complex.refuse(name, dname)
        return _deliver.generate(key, plan_of(shape, dname), seed_from_key, out_sharding)

    init_fn.__name__ = f"arrayinit_{name}"
    return init_fn


def initializer(init, dtype: DTypeLike = None) -> Initializer:
    """A ``(key, shape, dtype=dtype) -> jax.Array`` function from an arrayinit initializer or name.

    Parameters
    ----------
    init : arrayinit initializer, name, config dict or class
        Anything ``arrayinit.get`` takes; its seed is replaced by the key's.
    dtype : dtype, optional
        Default dtype of the result (default: jax's default float dtype).

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> import arrayinit as ai, arrayinit.flax as aif
    >>> w = aif.initializer("glorot_uniform", jnp.bfloat16)(jax.random.key(0), (4, 3))
    >>> w.dtype, bool((w.astype(jnp.float32) == ai.GlorotUniform(seed=0)((4, 3), "bfloat16").astype("f4")).all())
    (dtype(bfloat16), True)
    """
    base = get(init)
    dtype = _check_dtype(dtype)

    core = type(base) in _core.CORE.values()  # arrayinit's own classes: their plan, reseeded per key

    def plan_of(shape: tuple[int, ...], dname: str):
        complex_values = dname in _dtypes.COMPLEX_PARTS
        if complex_values and not base.complex_values:
            _complex.refuse(type(base).__name__, dname)
        shape, full, off = _whole(shape, dname)
        if core:
            return base._plan(shape, full, off, dname)  # (the initializer's own checks: rank, fans, dtype range)
        # any other initializer: its values from its own calls, with the key's seed
        if complex_values:  # the empty block at the origin (a scalar's one value) checks a complex call
            base(shape if not shape else (0,) * len(shape), dname, full_shape=shape)
        else:
            base._check(shape, dname)
        return _drawn(
            shape,
            dname,
            lambda seed, name, bshape, o: _core.reseeded(base, seed)(bshape, name, full_shape=shape, offset=o),
        )

    return _make(plan_of, dtype, type(base).__name__)


def variance_scaling(
    scale: float,
    mode: Mode,
    distribution: Distribution,
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    dtype: DTypeLike = None,
) -> Initializer:
    """Scale adapted to the fans of the shape (``jax.nn.initializers.variance_scaling``).

    Parameters
    ----------
    scale : float
        Positive scaling factor.
    mode : {"fan_in", "fan_out", "fan_avg", "fan_geo_avg"}
    distribution : {"truncated_normal", "normal", "uniform"}
        ``"normal"`` is the *untruncated* normal, as in jax (arrayinit's
        ``"untruncated_normal"`` is accepted too).
    in_axis : int or sequence of int
        Axes of the input units; the axes that are not input, output or batch
        axes form the receptive field, by jax's rule (see Notes).
    out_axis : int or sequence of int
        Axes of the output units.
    batch_axis : int or sequence of int
        Batch axes (ignored by the fans).
    dtype : dtype, optional
        Default dtype of the result (default: jax's default float dtype).

    Notes
    -----
    ``fan_in = in_size * r``, ``fan_out = out_size * r`` with ``r = prod(shape) /
    (in_size * out_size * batch_size)``, exactly as jax computes them, overlapping
    axes included (no clamp at 1). With ``n`` the fan of ``mode``:

    - ``"truncated_normal"``: cut at two standard deviations, ``stddev =
      sqrt(scale / n) / 0.87962566103423978`` before the cut (so ``sqrt(scale /
      n)`` after);
    - ``"normal"``: ``stddev = sqrt(scale / n)``;
    - ``"uniform"``: ``[-limit, limit)`` with ``limit = sqrt(3 * scale / n)``.

    Examples
    --------
    >>> import jax, arrayinit.flax as aif
    >>> init = aif.variance_scaling(1.0, "fan_in", "normal", in_axis=1, out_axis=0)  # (out, in, *k)
    >>> init(jax.random.key(0), (8, 4, 3, 3)).shape
    (8, 4, 3, 3)
    """
    scale, mode_name, kind = _variance.JAX.check(_scalar("scale", scale), mode, distribution)
    ins = _variance.check_axes("in_axis", in_axis)
    outs = _variance.check_axes("out_axis", out_axis)
    batch = _variance.check_axes("batch_axis", batch_axis)
    dtype = _check_dtype(dtype)

    def plan_of(shape: tuple[int, ...], dname: str):
        shape, full, off = _whole(shape, dname)
        fan_in, fan_out = _variance.jax_fans(shape, ins, outs, batch)
        if 0 in shape:  # jax divides by n itself (no clamp at 1): n may be 0 for an empty shape, with no value
            return _plans.uniform_plan(shape, full, off, dname, 0, 0, 0.0, 0.0)
        return _variance.JAX.sampling(scale, mode_name, kind, fan_in, fan_out).plan(shape, full, off, dname, 0)

    return _make(plan_of, dtype, "variance_scaling")


def _preset(name: str, in_axis: Axes, out_axis: Axes, batch_axis: Axes, dtype: DTypeLike) -> Initializer:
    """``variance_scaling`` with the preset of the catalogue row ``name`` (He, Glorot, LeCun)."""
    scale, mode, distribution = preset(name)  # Keras' names: "truncated_normal" and "uniform" mean the same in jax
    return variance_scaling(scale, mode, distribution, in_axis, out_axis, batch_axis, dtype)


def glorot_uniform(
    in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: DTypeLike = None
) -> Initializer:
    """Glorot uniform: ``variance_scaling`` with the preset scale 1, ``fan_avg``, uniform.

    Examples
    --------
    >>> import jax, arrayinit.flax as aif
    >>> w = aif.glorot_uniform()(jax.random.key(0), (300, 100))
    >>> bool(abs(w).max() < (6 / 400) ** 0.5)
    True
    """
    return _preset("GlorotUniform", in_axis, out_axis, batch_axis, dtype)


def glorot_normal(
    in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: DTypeLike = None
) -> Initializer:
    """Glorot normal: ``variance_scaling`` with the preset scale 1, ``fan_avg``, truncated normal.

    Examples
    --------
    >>> import jax, jax.numpy as jnp, arrayinit.flax as aif
    >>> aif.glorot_normal(dtype=jnp.bfloat16)(jax.random.key(0), (3, 2)).dtype
    dtype(bfloat16)
    """
    return _preset("GlorotNormal", in_axis, out_axis, batch_axis, dtype)


def he_uniform(in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: DTypeLike = None) -> Initializer:
    """He (Kaiming) uniform: ``variance_scaling`` with the preset scale 2, ``fan_in``, uniform.

    Examples
    --------
    >>> import jax, arrayinit.flax as aif
    >>> w = aif.he_uniform()(jax.random.key(0), (600, 10))
    >>> bool(abs(w).max() < 0.1)
    True
    """
    return _preset("HeUniform", in_axis, out_axis, batch_axis, dtype)


def he_normal(in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: DTypeLike = None) -> Initializer:
    """He (Kaiming) normal: ``variance_scaling`` with the preset scale 2, ``fan_in``, truncated normal.

    Examples
    --------
    >>> import jax, jax.numpy as jnp, arrayinit.flax as aif
    >>> aif.he_normal(dtype=jnp.bfloat16)(jax.random.key(0), (3, 3, 16, 32)).dtype
    dtype(bfloat16)
    """
    return _preset("HeNormal", in_axis, out_axis, batch_axis, dtype)


def lecun_uniform(
    in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: DTypeLike = None
) -> Initializer:
    """LeCun uniform: ``variance_scaling`` with the preset scale 1, ``fan_in``, uniform.

    Examples
    --------
    >>> import jax, arrayinit.flax as aif
    >>> w = aif.lecun_uniform()(jax.random.key(0), (300, 10))
    >>> bool(abs(w).max() < 0.1)
    True
    """
    return _preset("LecunUniform", in_axis, out_axis, batch_axis, dtype)


def lecun_normal(
    in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: DTypeLike = None
) -> Initializer:
    """LeCun normal: ``variance_scaling`` with the preset scale 1, ``fan_in``, truncated normal.

    Examples
    --------
    >>> import jax, arrayinit.flax as aif
    >>> w = aif.lecun_normal()(jax.random.key(0), (400, 100))
    >>> round(float(w.std()), 3)
    0.05
    """
    return _preset("LecunNormal", in_axis, out_axis, batch_axis, dtype)


def normal(stddev: float = 1e-2, dtype: DTypeLike = None) -> Initializer:
    """Normal values with mean 0 and standard deviation ``stddev`` (``jax.nn.initializers.normal``).

    Examples
    --------
    >>> import jax, arrayinit.flax as aif
    >>> w = aif.normal(2.0)(jax.random.key(0), (1000, 100))
    >>> round(float(w.std()), 1)
    2.0
    """
    stddev = check_float("stddev", _scalar("stddev", stddev), nonnegative=True)
    dtype = _check_dtype(dtype)

    def plan_of(shape: tuple[int, ...], dname: str):
        shape, full, off = _whole(shape, dname)
        if dname in _dtypes.COMPLEX_PARTS:
            return _complex.normal_plan(shape, full, off, dname, 0, 0, 0.0, stddev)
        return _plans.normal_plan(shape, full, off, dname, 0, 0, 0.0, stddev)

    return _make(plan_of, dtype, "normal")


def truncated_normal(
    stddev: float = 1e-2, dtype: DTypeLike = None, lower: float = -2.0, upper: float = 2.0
) -> Initializer:
    """``stddev`` times a standard normal truncated to ``[lower, upper]`` (``jax.nn.initializers.truncated_normal``).

    Parameters
    ----------
    stddev : float
        Standard deviation of the normal *before* truncation (positive). As in
        jax, it is not corrected for the truncation: the result's standard
        deviation is smaller (``0.8796 * stddev`` for the default bounds).
    dtype : dtype, optional
        Default dtype of the result (default: jax's default float dtype).
    lower : float
        Lower bound in standard deviations; infinite bounds are allowed.
    upper : float
        Upper bound in standard deviations, ``lower < upper``. The values lie
        in ``[lower * stddev, upper * stddev]``.

    Notes
    -----
    The sampler inverts the truncated CDF (``arrayinit.random.truncated_normal``),
    so bounds far in a tail are exact and nothing is redrawn.

    Examples
    --------
    >>> import jax, jax.numpy as jnp, arrayinit.flax as aif
    >>> w = aif.truncated_normal(0.1, jnp.float32, lower=-1.0, upper=3.0)(jax.random.key(0), (1000,))
    >>> bool(w.min() >= -0.1 and w.max() <= 0.3)
    True
    """
    stddev = check_float("stddev", _scalar("stddev", stddev), positive=True)
    dtype = _check_dtype(dtype)
    lo = check_float("lower", _scalar("lower", lower), finite=False)
    hi = check_float("upper", _scalar("upper", upper), finite=False)
    if not lo < hi:
        raise ValueError(f"Argument `lower` must be smaller than `upper`. Received: lower={lower!r}, upper={upper!r}")

    def plan_of(shape: tuple[int, ...], dname: str):
        shape, full, off = _whole(shape, dname)
        return _plans.truncnorm_plan(shape, full, off, dname, 0, 0, 0.0, stddev, lo, hi, None, None)

    return _make(plan_of, dtype, "truncated_normal", complex_values=False)


def uniform(scale: float = 1e-2, dtype: DTypeLike = None) -> Initializer:
    """Uniform on ``[0, scale)`` (``jax.nn.initializers.uniform``).

    Examples
    --------
    >>> import jax, arrayinit.flax as aif
    >>> w = aif.uniform(10.0)(jax.random.key(0), (1000,))
    >>> bool(w.min() >= 0.0 and w.max() < 10.0)
    True
    """
    scale = check_float("scale", _scalar("scale", scale), nonnegative=True)
    dtype = _check_dtype(dtype)

    def plan_of(shape: tuple[int, ...], dname: str):
        shape, full, off = _whole(shape, dname)
        if dname in _dtypes.COMPLEX_PARTS:
            return _complex.uniform_plan(shape, full, off, dname, 0, 0, 0.0, scale)
        return _plans.uniform_plan(shape, full, off, dname, 0, 0, 0.0, scale)

    return _make(plan_of, dtype, "uniform")


def orthogonal(scale: float = 1.0, column_axis: int = -1, dtype: DTypeLike = None) -> Initializer:
    """``scale`` times a (semi-)orthogonal matrix over ``column_axis`` (``jax.nn.initializers.orthogonal``).

    Parameters
    ----------
    scale : float
        Factor of the result.
    column_axis : int
        The axis of the columns. The shape is seen as a matrix of
        ``prod(other dims)`` rows (in order) by ``shape[column_axis]`` columns;
        its columns are orthonormal if it has at least as many rows as columns,
        else its rows are.
    dtype : dtype, optional
        Default dtype of the result (default: jax's default float dtype).

    Notes
    -----
    As jax: the column axis is moved to the end, the matrix is drawn
    (``arrayinit.Orthogonal``: QR of a normal matrix from the arrayinit
    stream, in float64), reshaped, and the column axis is moved back. With
    ``column_axis=-1`` the values equal ``arrayinit.Orthogonal(gain=scale)``'s.

    Examples
    --------
    >>> import jax, numpy as np, arrayinit.flax as aif
    >>> w = np.asarray(aif.orthogonal(column_axis=0)(jax.random.key(0), (16, 4, 3)))
    >>> m = np.moveaxis(w, 0, -1).reshape(-1, 16)  # 12 x 16: orthonormal rows
    >>> bool(np.allclose(m @ m.T, np.eye(12), atol=1e-5))
    True
    """
    gain = check_float("scale", _scalar("scale", scale))
    column_axis = check_int("column_axis", column_axis)
    dtype = _check_dtype(dtype)
    draw_of = _orthogonal_draw(gain, column_axis)
    return _make(lambda shape, dname: _drawn(shape, dname, draw_of(shape)), dtype, "orthogonal", complex_values=False)


def _orthogonal_draw(gain: float, column_axis: int) -> Callable[[tuple[int, ...]], _Draw]:
    """``draw_of(shape)`` of ``orthogonal`` (checks the shape): the whole matrix is computed (QR), each block
    is a slice of it."""

    def draw_of(shape: tuple[int, ...]) -> _Draw:
        rank = len(shape)
        if rank < 2:
            raise ValueError(f"The orthogonal initializer requires a shape of rank >= 2. Received: shape={shape}")
        if not -rank <= column_axis < rank:
            raise ValueError(
                f"Argument `column_axis` is out of range for a shape of rank {rank}. "
                f"{received('column_axis', column_axis)}, shape={shape}"
            )
        c = column_axis % rank
        moved = shape[:c] + shape[c + 1 :] + (shape[c],)

        def draw(seed: int, dname: str, bshape: tuple[int, ...], off: tuple[int, ...]) -> np.ndarray:
            whole = np.moveaxis(_core.Orthogonal(gain=gain, seed=seed)(moved, dname), -1, c)
            return whole[tuple(slice(o, o + b) for o, b in zip(off, bshape))]

        return draw

    return draw_of


def delta_orthogonal(scale: float = 1.0, column_axis: int = -1, dtype: DTypeLike = None) -> Initializer:
    """Delta-orthogonal convolution kernels (``jax.nn.initializers.delta_orthogonal``).

    Parameters
    ----------
    scale : float
        Factor of the orthogonal matrix.
    column_axis : int
        The axis of the columns of the ``(in, out)`` matrix (``-1``/``1`` or ``-2``/``0``).
    dtype : dtype, optional
        Default dtype of the result (default: jax's default float dtype).

    Notes
    -----
    The shape is ``(*spatial, in, out)`` with 1, 2 or 3 spatial dims and ``in <=
    out``. Every value is zero except the ``(in, out)`` matrix at the centre of
    the spatial dims (index ``(k - 1) // 2`` along each), which is
    ``orthogonal(scale, column_axis)`` of shape ``(in, out)`` for the same key.
    Sharded outputs compute the matrix once per shard and keep their block.

    References
    ----------
    Xiao et al., "Dynamical Isometry and a Mean Field Theory of CNNs" (2018).

    Examples
    --------
    >>> import jax, numpy as np, arrayinit.flax as aif
    >>> w = np.asarray(aif.delta_orthogonal()(jax.random.key(0), (3, 3, 4, 8)))
    >>> m = w[1, 1]
    >>> bool(np.allclose(m @ m.T, np.eye(4), atol=1e-6)), int(np.count_nonzero(w)) == int(np.count_nonzero(m))
    (True, True)
    """
    gain = check_float("scale", _scalar("scale", scale))
    column_axis = check_int("column_axis", column_axis)
    dtype = _check_dtype(dtype)
    matrix = _orthogonal_draw(gain, column_axis)

    def plan_of(shape: tuple[int, ...], dname: str) -> DrawnPlan:
        if len(shape) not in (3, 4, 5):
            raise ValueError(f"The delta orthogonal initializer requires a 3D, 4D or 5D shape. Received: shape={shape}")
        if shape[-1] < shape[-2]:
            raise ValueError(
                f"`fan_in` must be less or equal than `fan_out`: shape[-2] <= shape[-1]. Received: shape={shape}"
            )
        mat = shape[-2:]
        draw_matrix = matrix(mat)
        centre = tuple((k - 1) // 2 for k in shape[:-2])

        def draw(seed: int, dname: str, bshape: tuple[int, ...], off: tuple[int, ...]) -> np.ndarray:
            whole = np.zeros(shape, _dtypes.numpy_dtype(dname))
            whole[centre] = draw_matrix(seed, dname, mat, (0, 0))
            return whole[tuple(slice(o, o + b) for o, b in zip(off, bshape))]

        return _drawn(shape, dname, draw)

    return _make(plan_of, dtype, "delta_orthogonal", complex_values=False)


# --- the names jax and flax give besides the random factories ---------------------------------------

#: jax's own constant initializers (no random values: nothing of arrayinit's to add), under jax's names
zeros = jax.nn.initializers.zeros
ones = jax.nn.initializers.ones
constant = jax.nn.initializers.constant
#: jax's aliases of the presets
xavier_uniform = glorot_uniform
xavier_normal = glorot_normal
kaiming_uniform = he_uniform
kaiming_normal = he_normal


def zeros_init() -> Initializer:
    """flax's ``zeros_init()``: the initializer ``zeros``."""
    return zeros


def ones_init() -> Initializer:
    """flax's ``ones_init()``: the initializer ``ones``."""
    return ones
