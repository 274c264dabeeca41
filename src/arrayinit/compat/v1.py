"""The ``tf.compat.v1`` initializer surface.

TF1 semantics: ``__call__(shape, dtype=None, partition_info=None)``; configs
include ``dtype``; an unseeded initializer gives new values on every call; a
``partition_info`` (``full_shape`` and ``var_offset``) returns exactly that
partition of the full tensor, with fans computed from the full shape.
"""

from __future__ import annotations

import warnings

from arrayinit import _dtypes
from arrayinit import _variance as _V
from arrayinit._errors import check_seed
from arrayinit._plan import resolve_block
from arrayinit._seeds import fresh_seed

__all__ = [
    "PartitionInfo",
    "VarianceScaling",
    "glorot_normal",
    "glorot_normal_initializer",
    "glorot_uniform",
    "glorot_uniform_initializer",
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "lecun_uniform",
]


class PartitionInfo:
    """Where a partitioned variable's block lies: ``full_shape`` and ``var_offset`` (TF1).

    Examples
    --------
    >>> from arrayinit.compat import v1
    >>> init = v1.he_normal(seed=1)
    >>> whole = init((8, 4))
    >>> part = init((2, 4), partition_info=v1.PartitionInfo(full_shape=(8, 4), var_offset=(4, 0)))
    >>> bool((part == whole[4:6]).all())
    True
    """

    def __init__(self, full_shape, var_offset):
        self.full_shape = tuple(full_shape)
        self.var_offset = tuple(var_offset)

    def single_offset(self, shape):
        """The offset along the first axis that differs from the full shape (TF1's helper)."""
        for i, (s, f) in enumerate(zip(shape, self.full_shape)):
            if s != f:
                return self.var_offset[i]
        return 0

    def __repr__(self) -> str:
        return f"PartitionInfo(full_shape={self.full_shape}, var_offset={self.var_offset})"


_V1_MODES = ("fan_in", "fan_out", "fan_avg")
_V1_DISTRIBUTIONS = {
    "normal": "truncated_normal",
    "uniform": "uniform",
    "truncated_normal": "truncated_normal",
    "untruncated_normal": "normal",
}


class VarianceScaling:
    """``tf.compat.v1.initializers.variance_scaling``.

    Parameters
    ----------
    scale : float
        Positive scaling factor.
    mode : {"fan_in", "fan_out", "fan_avg"}
    distribution : {"truncated_normal", "untruncated_normal", "uniform", "normal"}
        ``"normal"`` is deprecated (a DeprecationWarning): it means
        ``"truncated_normal"`` and is kept as given in the config.
    seed : int or None
        ``None``: new values on every call (TF1 graph semantics for unseeded ops).
    dtype : str or dtype
        Default output dtype; only floating point types are supported.

    Examples
    --------
    >>> from arrayinit.compat import v1
    >>> init = v1.VarianceScaling(scale=2.0, seed=0)
    >>> init.get_config()
    {'scale': 2.0, 'mode': 'fan_in', 'distribution': 'truncated_normal', 'seed': 0, 'dtype': 'float32'}
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None, dtype="float32"):
        self.scale = _V.check_scale(scale)
        self.mode = _V.check_mode(mode, _V1_MODES)
        self._kind = _V.check_distribution(distribution, _V1_DISTRIBUTIONS)
        if distribution.lower() == "normal":
            warnings.warn(
                "`normal` is a deprecated alias for `truncated_normal`",
                DeprecationWarning,
                stacklevel=2,
            )
        self.distribution = distribution.lower()
        self.seed = None if seed is None else check_seed(seed, none_ok=True)
        self.dtype = _dtypes.dtype_name(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        name = self.dtype if dtype is None else _dtypes.dtype_name(dtype)
        if partition_info is None:
            shape, full, off = resolve_block(shape, None, None)
        else:
            shape, full, off = resolve_block(shape, partition_info.full_shape, partition_info.var_offset)
        fan_in, fan_out = _V.keras_fans(full)
        seed = fresh_seed() if self.seed is None else self.seed
        sampling = _V.variance_scaling(self.scale, self.mode, self._kind, fan_in, fan_out)
        return sampling.draw(shape, seed=seed, dtype=name, full_shape=full, offset=off)

    def get_config(self):
        return {
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            "seed": self.seed,
            "dtype": self.dtype,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("partition_info", None)  # TF1 configs may carry it
        return cls(**config)

    def __repr__(self) -> str:
        return "VarianceScaling(" + ", ".join(f"{k}={v!r}" for k, v in self.get_config().items()) + ")"


def _factory(scale, mode, distribution, doc):
    def make(seed=None):
        return VarianceScaling(scale=scale, mode=mode, distribution=distribution, seed=seed)

    make.__doc__ = doc
    return make


he_normal = _factory(
    2.0, "fan_in", "truncated_normal", "He normal: ``VarianceScaling(2.0, 'fan_in', 'truncated_normal')``."
)
he_uniform = _factory(2.0, "fan_in", "uniform", "He uniform: ``VarianceScaling(2.0, 'fan_in', 'uniform')``.")
lecun_normal = _factory(
    1.0, "fan_in", "truncated_normal", "LeCun normal: ``VarianceScaling(1.0, 'fan_in', 'truncated_normal')``."
)
lecun_uniform = _factory(1.0, "fan_in", "uniform", "LeCun uniform: ``VarianceScaling(1.0, 'fan_in', 'uniform')``.")
glorot_normal = _factory(
    1.0, "fan_avg", "truncated_normal", "Glorot normal: ``VarianceScaling(1.0, 'fan_avg', 'truncated_normal')``."
)
glorot_uniform = _factory(1.0, "fan_avg", "uniform", "Glorot uniform: ``VarianceScaling(1.0, 'fan_avg', 'uniform')``.")


def glorot_uniform_initializer(seed=None, dtype="float32"):
    """``tf.compat.v1.glorot_uniform_initializer(seed=None, dtype=tf.float32)``."""
    return VarianceScaling(1.0, "fan_avg", "uniform", seed, dtype)


def glorot_normal_initializer(seed=None, dtype="float32"):
    """``tf.compat.v1.glorot_normal_initializer(seed=None, dtype=tf.float32)``."""
    return VarianceScaling(1.0, "fan_avg", "truncated_normal", seed, dtype)
