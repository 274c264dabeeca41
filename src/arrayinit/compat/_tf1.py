"""TF1 initializers: the classes behind ``arrayinit.compat.v1`` and its two namespaces.

TensorFlow has two TF1 initializer namespaces that share names with different
defaults and configs:

- ``tf.compat.v1.initializers`` (TensorFlow's ``init_ops``): ``random_normal``
  and ``truncated_normal`` with ``stddev=1.0``, ``random_uniform`` on
  ``[0, 1)``, ``he_normal`` and the other He/LeCun names as functions returning
  a ``VarianceScaling`` (config of five keys), ``uniform_unit_scaling``;
- ``tf.compat.v1.keras.initializers`` (TF 2.4; ``tf_keras``'s
  ``initializers_v1``): ``RandomNormal``/``TruncatedNormal`` with
  ``stddev=0.05``, ``RandomUniform`` on ``[-0.05, 0.05)``, ``he_normal`` and
  the He/LeCun names as classes whose config is ``{'seed': ...}``. Its
  ``Zeros``, ``Ones``, ``Constant``, ``VarianceScaling``, ``Orthogonal``,
  ``Identity``, ``glorot_uniform`` and ``glorot_normal`` are the ``init_ops``
  classes.

Every class here follows the TF1 call protocol ``init(shape, dtype=None,
partition_info=None)``; shapes, dtypes and partition infos are duck-typed, so
TensorFlow's own ``TensorShape``, ``DType`` and ``PartitionInfo`` work without
arrayinit importing TensorFlow. Names, aliases and presets come from the
catalogue (``arrayinit._catalogue``); fans and variance scaling from
``arrayinit._variance`` (its ``TF1`` dialect); values from
``arrayinit.random`` and the core classes.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from arrayinit import _dtypes, _frontend, _variance
from arrayinit import _initializers as _core
from arrayinit import random as _random
from arrayinit._catalogue import CATALOGUE, Row, preset, rows
from arrayinit._errors import check_float, check_seed, check_shape, received
from arrayinit._plan import resolve_block
from arrayinit._seeds import fresh_seed

#: the class of each catalogue row in ``tf.compat.v1.initializers`` (TensorFlow's ``init_ops``)
_INIT_OPS: dict[str, type[Initializer]] = {}
#: the class of a row in ``tf.compat.v1.keras.initializers`` where it is not the ``init_ops`` one
_KERAS_ONLY: dict[str, type[Initializer]] = {}


# --- duck-typed TensorFlow arguments ------------------------------------------------------


class PartitionInfo:
    """Where a partitioned variable's block lies: ``full_shape`` and ``var_offset`` (TF1).

    TensorFlow's own ``PartitionInfo`` objects (what ``tf.compat.v1.get_variable``
    passes with a ``partitioner``) work as well: any object with ``full_shape``
    and ``var_offset`` attributes does.

    Parameters
    ----------
    full_shape : sequence of int
        Shape of the whole variable.
    var_offset : sequence of int
        Offset of this partition in the whole variable.

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

    def single_offset(self, shape) -> int:
        """The offset along the first axis where ``shape`` differs from the full shape (TF1's helper)."""
        for i, (s, f) in enumerate(zip(shape, self.full_shape)):
            if s != f:
                return self.var_offset[i]
        return 0

    def __repr__(self) -> str:
        return f"PartitionInfo(full_shape={self.full_shape}, var_offset={self.var_offset})"


def _plain_shape(name: str, shape) -> tuple[int, ...]:
    """A shape from a tuple, list, TensorShape (``as_list()``) or anything ``check_shape`` takes."""
    as_list = getattr(shape, "as_list", None)
    if callable(as_list):  # TensorShape; unknown rank raises inside TensorFlow
        shape = as_list()
    if isinstance(shape, (list, tuple)) and any(d is None for d in shape):
        raise ValueError(f"Argument `{name}` must be fully defined (no unknown dimensions). {received(name, shape)}")
    return check_shape(name, shape)


def _block(shape, partition_info) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """``(shape, full_shape, offset)`` of a call: the whole tensor, or the partition described by ``partition_info``."""
    shape = _plain_shape("shape", shape)
    if partition_info is None:
        return resolve_block(shape, None, None)
    try:
        full, offset = partition_info.full_shape, partition_info.var_offset
    except AttributeError:
        raise TypeError(
            "Argument `partition_info` must have `full_shape` and `var_offset` attributes (a TF1 PartitionInfo). "
            f"{received('partition_info', partition_info)}"
        ) from None
    return resolve_block(shape, _plain_shape("full_shape", full), _plain_shape("offset", offset))


def _dtype_key(dtype) -> str:
    """A dtype's name: TensorFlow DTypes (reference types too) by their base type's ``name``."""
    base = getattr(dtype, "base_dtype", None)
    if base is not None and hasattr(base, "as_numpy_dtype"):  # tf.DType, without importing TensorFlow
        return str(base.name)
    if hasattr(dtype, "as_numpy_dtype") and isinstance(getattr(dtype, "name", None), str):
        return dtype.name
    return dtype


def _float_dtype(dtype) -> str:
    """A float dtype's canonical name, or TF's ValueError for a dtype that is not floating point."""
    key = _dtype_key(dtype)
    try:
        return _dtypes.dtype_name(key)
    except ValueError:
        raise ValueError(
            f"Argument `dtype` is expected to be floating point ({', '.join(_dtypes.FLOAT_NAMES)}). "
            f"{received('dtype', dtype)}"
        ) from None


def _any_dtype(dtype) -> str:
    """Any numeric or bool dtype's name (Zeros, Ones and Constant take integers too)."""
    key = _dtype_key(dtype)
    try:
        return _dtypes.dtype_name(key)
    except (TypeError, ValueError):
        pass
    try:
        np_dtype = np.dtype(key)
    except (TypeError, ValueError):  # ValueError: dicts and lists read as structured dtypes, unencodable names
        raise TypeError(f"Argument `dtype` must be a dtype. {received('dtype', dtype)}") from None
    if np_dtype.kind not in "biuf" or (np_dtype.kind == "f" and np_dtype.itemsize > 8):  # no float128 in TF
        raise ValueError(
            f"Argument `dtype` must be a boolean, integer or floating point type. {received('dtype', dtype)}"
        )
    return np_dtype.name


# --- the base class ------------------------------------------------------------------


class Initializer:
    """Base of the TF1 initializers: ``init(shape, dtype=None, partition_info=None)`` returns a numpy array.

    Subclasses implement ``_generate(shape, full_shape, offset, dtype)`` and
    ``get_config``; ``from_config(config)`` is ``cls(**config)``. A class of
    the catalogue names its row: ``class Zeros(Initializer, row="Zeros")``,
    and with ``keras_namespace=True`` it is the row's class in
    ``tf.compat.v1.keras.initializers`` only (whose constructor has that
    namespace's defaults, the row's ``defaults["tf1_keras"]``).
    """

    dtype = "float32"
    row: Row | None = None

    def __init_subclass__(cls, row: str | None = None, keras_namespace: bool = False, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if row is None:
            return
        cls.row = CATALOGUE[row]
        (_KERAS_ONLY if keras_namespace else _INIT_OPS)[row] = cls

    def __call__(self, shape, dtype=None, partition_info=None):
        """The values of a tensor of ``shape``, or of one partition of a larger tensor.

        Parameters
        ----------
        shape : sequence of int or TensorShape
            Shape of the tensor (of the partition, with ``partition_info``).
        dtype : str or dtype, optional
            Output dtype (a numpy, ml_dtypes or TensorFlow dtype, or its name);
            default: the initializer's ``dtype``.
        partition_info : PartitionInfo, optional
            ``full_shape`` and ``var_offset`` of the whole variable: the result
            is exactly that block of the whole tensor, with fans from the full
            shape.

        Returns
        -------
        numpy.ndarray
        """
        shape, full, off = _block(shape, partition_info)
        name = self.dtype if dtype is None else self._check_dtype(dtype)
        return self._generate(shape, full, off, name)

    @staticmethod
    def _check_dtype(dtype) -> str:
        return _float_dtype(dtype)

    def _generate(self, shape, full_shape, offset, dtype):  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """The configuration, with TensorFlow's keys."""
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]):
        """``cls(**config)``, with a ValueError naming a key the constructor does not take."""
        if not isinstance(config, dict):
            raise TypeError(f"Argument `config` must be a dict. {received('config', config)}")
        config = dict(config)
        config.pop("partition_info", None)  # some TF1 configs carry it
        try:
            return cls(**config)
        except TypeError as e:
            if "unexpected keyword argument" in str(e):
                raise ValueError(
                    f"Unknown key in the config of {cls.__name__}: {e}. Received: config={config!r}"
                ) from None
            raise

    def __repr__(self) -> str:
        return f"{type(self).__name__}(" + ", ".join(f"{k}={v!r}" for k, v in self.get_config().items()) + ")"

    def __eq__(self, other) -> bool:
        if type(self) is not type(other):
            return NotImplemented
        a, b = self.get_config(), other.get_config()
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by config


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(a, b))
    return bool(a == b)


class _Random(Initializer):
    """A random initializer: ``seed=None`` gives new values on every call (TF1)."""

    seed: int | None = None

    def _set_seed(self, seed) -> None:
        self.seed = None if seed is None else check_seed(seed, none_ok=True)

    def _call_seed(self) -> int:
        return fresh_seed() if self.seed is None else self.seed


# --- constants -----------------------------------------------------------------------


def _fill(values: np.ndarray, dtype: str) -> np.ndarray:
    """float64/int/bool numpy values in ``dtype`` (16-bit floats rounded from float32, as the kernels do)."""
    if dtype in ("float16", "bfloat16"):
        return values.astype(np.float32).astype(_dtypes.numpy_dtype(dtype))
    return values.astype(_dtypes.numpy_dtype(dtype) if dtype in _dtypes.FLOAT_NAMES else np.dtype(dtype))


class Zeros(Initializer, row="Zeros"):
    """``tf.compat.v1.zeros_initializer``: all zeros.

    Parameters
    ----------
    dtype : str or dtype
        Default output dtype (booleans and integers too).

    Examples
    --------
    >>> from arrayinit.compat.v1 import keras
    >>> init = keras.initializers.Zeros(dtype="int32")
    >>> init((2,)).tolist(), init.get_config()
    ([0, 0], {'dtype': 'int32'})
    """

    _value = 0.0
    _core_class: type[_core.Initializer] = _core.Zeros

    def __init__(self, dtype="float32"):
        self.dtype = _any_dtype(dtype)

    @staticmethod
    def _check_dtype(dtype) -> str:
        return _any_dtype(dtype)

    def _generate(self, shape, full_shape, offset, dtype):
        if dtype in _dtypes.FLOAT_NAMES:
            return self._core_class()(shape, dtype, full_shape=full_shape, offset=offset)
        return np.full(shape, self._value, np.float64).astype(dtype)

    def get_config(self):
        return {"dtype": self.dtype}


class Ones(Zeros, row="Ones"):
    """``tf.compat.v1.ones_initializer``: all ones.

    Examples
    --------
    >>> from arrayinit.compat.v1 import initializers
    >>> initializers.ones()((3,)).tolist()
    [1.0, 1.0, 1.0]
    """

    _value = 1.0
    _core_class = _core.Ones


class Constant(Initializer, row="Constant"):
    """``tf.compat.v1.constant_initializer``: a scalar, or a list/array of values.

    Parameters
    ----------
    value : scalar, list, tuple or numpy.ndarray
        The value. A sequence fills the tensor in C order; a shorter one is
        continued with its last element (TF1 graph semantics); a longer one is
        a ValueError.
    dtype : str or dtype
        Default output dtype (booleans and integers too).
    verify_shape : bool
        Refuse a ``value`` whose shape differs from the requested shape.

    Notes
    -----
    With ``partition_info`` the result is that block of the whole tensor (a
    sequence fills the whole tensor, not each partition from its start).

    Examples
    --------
    >>> from arrayinit.compat import v1
    >>> v1.initializers.constant([1.0, 2.0])((2, 3)).tolist()
    [[1.0, 2.0, 2.0], [2.0, 2.0, 2.0]]
    """

    def __init__(self, value=0, dtype="float32", verify_shape=False):
        if not (np.isscalar(value) or isinstance(value, (list, tuple, np.ndarray))):
            raise TypeError(
                "Argument `value` must be a Python scalar, a list or tuple of values, or a numpy.ndarray. "
                f"{received('value', value)}"
            )
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"Argument `value` must be numeric. {received('value', value)}")
        if arr.size == 0:
            raise ValueError(f"Argument `value` must have at least one element. {received('value', value)}")
        self.value = value
        self._array = arr
        self.dtype = _any_dtype(dtype)
        self._verify_shape = bool(verify_shape)

    @staticmethod
    def _check_dtype(dtype) -> str:
        return _any_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None, verify_shape=None):
        """As ``Initializer.__call__``; ``verify_shape`` overrides the constructor's."""
        verify = self._verify_shape if verify_shape is None else bool(verify_shape)
        if verify:
            expected = _plain_shape("shape", shape if partition_info is None else partition_info.full_shape)
            if self._array.shape != expected:
                raise TypeError(
                    f"Expected Tensor's shape: {expected}, but got {self._array.shape}. {received('value', self.value)}"
                )
        return super().__call__(shape, dtype, partition_info)

    def _generate(self, shape, full_shape, offset, dtype):
        arr = self._array
        if arr.ndim == 0 and dtype in _dtypes.FLOAT_NAMES:
            return _core.Constant(arr.item())(shape, dtype, full_shape=full_shape, offset=offset)
        if arr.ndim == 0:  # a scalar fills any shape, empty ones included
            block = np.full(shape, arr)
        else:
            size = math.prod(full_shape)
            flat = arr.reshape(-1)
            if flat.size > size:
                raise ValueError(
                    f"Too many elements provided. Needed at most {size}, but received {flat.size}. "
                    f"{received('value', self.value)}"
                )
            if flat.size < size:
                flat = np.concatenate([flat, np.full(size - flat.size, flat[-1], flat.dtype)])
            whole = flat.reshape(full_shape)
            block = np.asarray(whole[tuple(slice(o, o + s) for o, s in zip(offset, shape))])  # 0-d stays an array
        if dtype in _dtypes.FLOAT_NAMES:
            values = block.astype(np.float64)
            if values.size and _dtypes.overflows(float(np.max(np.abs(values))), dtype):
                raise ValueError(f"Argument `value` overflows {dtype}. {received('value', self.value)}")
            return _fill(values, dtype)
        if np.dtype(dtype).kind in "iu":  # every value given, whichever block is asked for
            limits = np.iinfo(dtype)
            if not (np.isfinite(arr).all() and limits.min <= arr.min() and arr.max() < limits.max + 1):
                raise ValueError(f"Argument `value` does not fit in {dtype}. {received('value', self.value)}")
        return block.astype(dtype)

    def get_config(self):
        return {"value": self.value, "dtype": self.dtype}


# --- random values -------------------------------------------------------------------


class RandomNormal(_Random, row="RandomNormal"):
    """``tf.compat.v1.random_normal_initializer``: normal values (``stddev=1.0`` by default).

    Parameters
    ----------
    mean : float
        Mean.
    stddev : float
        Standard deviation.
    seed : int or None
        ``None``: new values on every call (TF1).
    dtype : str or dtype
        Default output dtype; floating point only.

    Examples
    --------
    >>> from arrayinit.compat import v1
    >>> v1.initializers.random_normal(seed=0).get_config()
    {'mean': 0.0, 'stddev': 1.0, 'seed': 0, 'dtype': 'float32'}
    """

    def __init__(self, mean=0.0, stddev=1.0, seed=None, dtype="float32"):
        check_float("mean", mean)
        check_float("stddev", stddev, nonnegative=True)
        self.mean, self.stddev = mean, stddev
        self._set_seed(seed)
        self.dtype = _float_dtype(dtype)

    def _generate(self, shape, full_shape, offset, dtype):
        return _random.normal(
            shape,
            seed=self._call_seed(),
            mean=self.mean,
            stddev=self.stddev,
            dtype=dtype,
            full_shape=full_shape,
            offset=offset,
        )

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed, "dtype": self.dtype}


class TruncatedNormal(RandomNormal, row="TruncatedNormal"):
    """``tf.compat.v1.truncated_normal_initializer``: normal values cut at two standard deviations.

    Examples
    --------
    >>> from arrayinit.compat import v1
    >>> x = v1.initializers.truncated_normal(stddev=0.5, seed=0)((1000,))
    >>> bool(abs(x).max() <= 1.0)
    True
    """

    def _generate(self, shape, full_shape, offset, dtype):
        return _random.truncated_normal(
            shape,
            seed=self._call_seed(),
            mean=self.mean,
            stddev=self.stddev,
            lower=-2.0,
            upper=2.0,
            dtype=dtype,
            full_shape=full_shape,
            offset=offset,
        )


class RandomUniform(_Random, row="RandomUniform"):
    """``tf.compat.v1.random_uniform_initializer``: uniform values in ``[minval, maxval)``.

    Parameters
    ----------
    minval : float
    maxval : float or None
        ``None`` means 1.0 (TF1).
    seed : int or None
        ``None``: new values on every call (TF1).
    dtype : str or dtype
        Default output dtype; floating point only (TensorFlow's integer
        uniform is not provided).

    Examples
    --------
    >>> from arrayinit.compat import v1
    >>> x = v1.initializers.random_uniform(seed=0)((1000,))
    >>> bool(x.min() >= 0.0 and x.max() < 1.0)
    True
    """

    def __init__(self, minval=0.0, maxval=None, seed=None, dtype="float32"):
        check_float("minval", minval)
        if maxval is not None:
            check_float("maxval", maxval)
        self.minval, self.maxval = minval, maxval
        self._set_seed(seed)
        self.dtype = self._check_dtype(dtype)

    @staticmethod
    def _check_dtype(dtype) -> str:
        key = _dtype_key(dtype)
        with_int = _any_dtype(key)
        if with_int not in _dtypes.FLOAT_NAMES:
            raise ValueError(
                "Argument `dtype` must be a floating point type: arrayinit's RandomUniform does not draw "
                f"integers. {received('dtype', dtype)}"
            )
        return with_int

    def _generate(self, shape, full_shape, offset, dtype):
        return _random.uniform(
            shape,
            seed=self._call_seed(),
            minval=self.minval,
            maxval=1.0 if self.maxval is None else self.maxval,
            dtype=dtype,
            full_shape=full_shape,
            offset=offset,
        )

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed, "dtype": self.dtype}


def unit_scaling_fans(full_shape: tuple[int, ...]) -> tuple[int, int]:
    """The input size of TF1's ``uniform_unit_scaling`` rule, as ``(fan_in, fan_out)``.

    TF1 divides by the product of all dims but the last (``1`` for a vector),
    at least 1; that is not the Keras fan rule (a vector of ``n`` has fan ``n``
    there), so it is its own rule.
    """
    n = max(1, math.prod(full_shape[:-1]))
    return n, n


class UniformUnitScaling(_Random, row="UniformUnitScaling"):
    """``tf.compat.v1.uniform_unit_scaling_initializer`` (deprecated in TensorFlow).

    Uniform on ``[-limit, limit)`` with ``limit = factor * sqrt(3 / n)``,
    ``n`` the product of all dims but the last (at least 1).

    Parameters
    ----------
    factor : float
        Multiplicative factor (its sign does not matter: the range is symmetric).
    seed : int or None
    dtype : str or dtype

    Examples
    --------
    >>> from arrayinit.compat import v1
    >>> x = v1.initializers.uniform_unit_scaling(seed=0)((300, 10))
    >>> bool(abs(x).max() < 0.1)
    True
    """

    def __init__(self, factor=1.0, seed=None, dtype="float32"):
        check_float("factor", factor)
        self.factor = factor
        self._set_seed(seed)
        self.dtype = _float_dtype(dtype)

    def _generate(self, shape, full_shape, offset, dtype):
        factor = float(self.factor)
        if factor == 0.0:
            sampling = _variance.Sampling("uniform", limit=0.0)
        else:
            fan_in, fan_out = unit_scaling_fans(full_shape)
            sampling = _variance.variance_scaling(factor * factor, "fan_in", "uniform", fan_in, fan_out)
        return _frontend.realise_numpy(sampling.plan(shape, full_shape, offset, dtype, self._call_seed()))

    def get_config(self):
        return {"factor": self.factor, "seed": self.seed, "dtype": self.dtype}


class VarianceScaling(_Random, row="VarianceScaling"):
    """``tf.compat.v1.variance_scaling_initializer``.

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
        Default output dtype; floating point only.

    Notes
    -----
    Fans by the Keras rule from the full shape; ``stddev = sqrt(scale / n) /
    0.87962566103423978`` (truncated at two standard deviations), ``sqrt(scale
    / n)`` (untruncated) or ``limit = sqrt(3 * scale / n)`` (uniform), with
    ``n = max(1, fan)``.

    Examples
    --------
    >>> from arrayinit.compat import v1
    >>> init = v1.VarianceScaling(scale=3.0, seed=0)
    >>> init.get_config()
    {'scale': 3.0, 'mode': 'fan_in', 'distribution': 'truncated_normal', 'seed': 0, 'dtype': 'float32'}
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None, dtype="float32"):
        self.scale, self.mode, _kind = _variance.TF1.check(scale, mode, distribution)
        if distribution.lower() == "normal":
            warnings.warn("`normal` is a deprecated alias for `truncated_normal`", DeprecationWarning, stacklevel=2)
        self.distribution = distribution.lower()
        self._set_seed(seed)
        self.dtype = _float_dtype(dtype)

    def _generate(self, shape, full_shape, offset, dtype):
        sampling = _variance.TF1.sampling(self.scale, self.mode, self.distribution, *_variance.keras_fans(full_shape))
        return _frontend.realise_numpy(sampling.plan(shape, full_shape, offset, dtype, self._call_seed()))

    @classmethod
    def from_config(cls, config: dict[str, Any]):
        """``cls(**config)``; a ``VarianceScaling`` config must name ``scale``, ``mode`` and ``distribution``.

        TensorFlow would fill missing keys with the defaults, so that a Glorot
        config (``{'seed', 'dtype'}``) read here silently became a truncated
        normal with ``fan_in``: such a config is a ValueError naming the class
        to read it with.
        """
        if cls is VarianceScaling and isinstance(config, dict):
            missing = [k for k in ("scale", "mode", "distribution") if k not in config]
            if missing:
                raise ValueError(
                    f"A VarianceScaling config must have the keys 'scale', 'mode' and 'distribution' (missing: "
                    f"{', '.join(missing)}); a config of glorot_uniform, he_normal, ... is read with that class's "
                    f"from_config. Received: config={config!r}"
                )
        return super().from_config(config)

    def get_config(self):
        return {
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            "seed": self.seed,
            "dtype": self.dtype,
        }


class GlorotUniform(VarianceScaling, row="GlorotUniform"):
    """``tf.compat.v1.glorot_uniform_initializer``: the Glorot uniform preset of ``VarianceScaling``.

    Scale 1, mode ``fan_avg``, uniform (``arrayinit._catalogue``).

    The config is ``{'seed', 'dtype'}``, as TensorFlow writes it.

    Notes
    -----
    TensorFlow keeps float32 whatever ``dtype`` the constructor is given (its
    config then says ``'float32'``); arrayinit uses the ``dtype`` given.

    Examples
    --------
    >>> from arrayinit.compat import v1
    >>> v1.glorot_uniform_initializer(seed=1).get_config()
    {'seed': 1, 'dtype': 'float32'}
    """

    row: Row  # GlorotUniform and GlorotNormal name their catalogue rows

    def __init__(self, seed=None, dtype="float32"):
        scale, mode, distribution = preset(self.row.name)
        super().__init__(scale, mode, distribution, seed, dtype)

    def get_config(self):
        return {"seed": self.seed, "dtype": self.dtype}


class GlorotNormal(GlorotUniform, row="GlorotNormal"):
    """``tf.compat.v1.glorot_normal_initializer``: the Glorot normal preset (scale 1, ``fan_avg``, truncated normal).

    Examples
    --------
    >>> from arrayinit.compat import v1
    >>> v1.initializers.glorot_normal(seed=2).get_config()
    {'seed': 2, 'dtype': 'float32'}
    """


class Orthogonal(_Random, row="Orthogonal"):
    """``tf.compat.v1.orthogonal_initializer``: a (semi-)orthogonal matrix times ``gain``.

    Values from ``arrayinit.Orthogonal``; with ``partition_info``, the block
    of the whole matrix (orthogonality is a property of the whole).

    Parameters
    ----------
    gain : float
    seed : int or None
        ``None``: a new matrix on every call (TF1).
    dtype : str or dtype

    Examples
    --------
    >>> import numpy as np
    >>> from arrayinit.compat import v1
    >>> q = v1.initializers.orthogonal(seed=0)((8, 8), dtype="float64")
    >>> bool(np.allclose(q.T @ q, np.eye(8)))
    True
    """

    def __init__(self, gain=1.0, seed=None, dtype="float32"):
        check_float("gain", gain)
        self.gain = gain
        self._set_seed(seed)
        self.dtype = _float_dtype(dtype)

    def _generate(self, shape, full_shape, offset, dtype):
        if len(full_shape) < 2:
            raise ValueError(
                "The tensor to initialize, specified by argument `shape` must be at least two-dimensional. "
                f"Received: shape={full_shape}"
            )
        core = _core.Orthogonal(gain=self.gain, seed=self._call_seed())
        return core(shape, dtype, full_shape=full_shape, offset=offset)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed, "dtype": self.dtype}


class Identity(Initializer, row="Identity"):
    """``tf.compat.v1.initializers.identity``: ``gain`` times the identity matrix (2-D only).

    Examples
    --------
    >>> from arrayinit.compat import v1
    >>> v1.initializers.identity(gain=2.0)((2, 3)).tolist()
    [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]]
    """

    def __init__(self, gain=1.0, dtype="float32"):
        check_float("gain", gain)
        self.gain = gain
        self.dtype = _float_dtype(dtype)

    def _generate(self, shape, full_shape, offset, dtype):
        if len(full_shape) != 2:
            raise ValueError(
                f"Identity matrix initializer can only be used for 2D matrices. Received: shape={full_shape}"
            )
        return _core.Identity(gain=self.gain)(shape, dtype, full_shape=full_shape, offset=offset)

    def get_config(self):
        return {"gain": self.gain, "dtype": self.dtype}


# --- tf.compat.v1.initializers' He and LeCun functions ---------------------------------


def _preset_variance_scaling(name: str, seed) -> VarianceScaling:
    """``VarianceScaling`` with the preset of the catalogue row ``name``."""
    scale, mode, distribution = preset(name)
    return VarianceScaling(scale, mode, distribution, seed)


def he_normal(seed=None) -> VarianceScaling:
    """``tf.compat.v1.initializers.he_normal``: a ``VarianceScaling`` of the He normal preset.

    Scale 2, ``fan_in``, truncated normal (``arrayinit._catalogue``).

    Examples
    --------
    >>> from arrayinit.compat import v1
    >>> v1.initializers.he_normal(seed=0).get_config()["scale"]
    2.0
    """
    return _preset_variance_scaling("HeNormal", seed)


def he_uniform(seed=None) -> VarianceScaling:
    """``tf.compat.v1.initializers.he_uniform``: a ``VarianceScaling`` of the He uniform preset.

    Scale 2, ``fan_in``, uniform (``arrayinit._catalogue``).

    Examples
    --------
    >>> from arrayinit.compat import v1
    >>> x = v1.initializers.he_uniform(seed=0)((200, 10))
    >>> bool(abs(x).max() < (6 / 200) ** 0.5)
    True
    """
    return _preset_variance_scaling("HeUniform", seed)


def lecun_normal(seed=None) -> VarianceScaling:
    """``tf.compat.v1.initializers.lecun_normal``: a ``VarianceScaling`` of the LeCun normal preset.

    Scale 1, ``fan_in``, truncated normal (``arrayinit._catalogue``).

    Examples
    --------
    >>> from arrayinit.compat import v1
    >>> v1.initializers.lecun_normal(seed=0).get_config()["mode"]
    'fan_in'
    """
    return _preset_variance_scaling("LecunNormal", seed)


def lecun_uniform(seed=None) -> VarianceScaling:
    """``tf.compat.v1.initializers.lecun_uniform``: a ``VarianceScaling`` of the LeCun uniform preset.

    Scale 1, ``fan_in``, uniform (``arrayinit._catalogue``).

    Examples
    --------
    >>> from arrayinit.compat import v1
    >>> v1.initializers.lecun_uniform(seed=0).get_config()["distribution"]
    'uniform'
    """
    return _preset_variance_scaling("LecunUniform", seed)


# --- tf.compat.v1.keras.initializers' own classes ---------------------------------------


class KerasRandomNormal(RandomNormal, row="RandomNormal", keras_namespace=True):
    """``tf.compat.v1.keras.initializers.RandomNormal``: as ``random_normal`` with ``stddev=0.05``.

    Examples
    --------
    >>> from arrayinit.compat.v1 import keras
    >>> keras.initializers.RandomNormal(seed=0).get_config()
    {'mean': 0.0, 'stddev': 0.05, 'seed': 0, 'dtype': 'float32'}
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None, dtype="float32"):
        super().__init__(mean, stddev, seed, dtype)


class KerasTruncatedNormal(TruncatedNormal, row="TruncatedNormal", keras_namespace=True):
    """``tf.compat.v1.keras.initializers.TruncatedNormal``: as ``truncated_normal`` with ``stddev=0.05``.

    Examples
    --------
    >>> from arrayinit.compat.v1 import keras
    >>> x = keras.initializers.TruncatedNormal(seed=0)((1000,))
    >>> bool(abs(x).max() <= 0.1)
    True
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None, dtype="float32"):
        super().__init__(mean, stddev, seed, dtype)


class KerasRandomUniform(RandomUniform, row="RandomUniform", keras_namespace=True):
    """``tf.compat.v1.keras.initializers.RandomUniform``: uniform on ``[-0.05, 0.05)`` by default.

    Examples
    --------
    >>> from arrayinit.compat.v1 import keras
    >>> keras.initializers.RandomUniform(seed=0).get_config()
    {'minval': -0.05, 'maxval': 0.05, 'seed': 0, 'dtype': 'float32'}
    """

    def __init__(self, minval=-0.05, maxval=0.05, seed=None, dtype="float32"):
        super().__init__(minval, maxval, seed, dtype)


class _SeedOnly(VarianceScaling):
    """A preset variance scaling whose constructor and config hold the seed only (tf.keras TF1 He/LeCun)."""

    row: Row  # each class names its catalogue row

    def __init__(self, seed=None):
        scale, mode, distribution = preset(self.row.name)
        super().__init__(scale, mode, distribution, seed)

    def get_config(self):
        return {"seed": self.seed}


class LecunNormal(_SeedOnly, row="LecunNormal", keras_namespace=True):
    """``tf.compat.v1.keras.initializers.lecun_normal``: ``VarianceScaling`` with the LeCun normal preset.

    Examples
    --------
    >>> from arrayinit.compat.v1 import keras
    >>> keras.initializers.lecun_normal(seed=3).get_config()
    {'seed': 3}
    """


class LecunUniform(_SeedOnly, row="LecunUniform", keras_namespace=True):
    """``tf.compat.v1.keras.initializers.lecun_uniform``: ``VarianceScaling`` with the LeCun uniform preset.

    Examples
    --------
    >>> from arrayinit.compat.v1 import keras
    >>> x = keras.initializers.lecun_uniform(seed=0)((300, 10))
    >>> bool(abs(x).max() < 0.1)
    True
    """


class HeNormal(_SeedOnly, row="HeNormal", keras_namespace=True):
    """``tf.compat.v1.keras.initializers.he_normal``: ``VarianceScaling`` with the He normal preset.

    Examples
    --------
    >>> from arrayinit.compat.v1 import keras
    >>> keras.initializers.he_normal(seed=3).get_config()
    {'seed': 3}
    """


class HeUniform(_SeedOnly, row="HeUniform", keras_namespace=True):
    """``tf.compat.v1.keras.initializers.he_uniform``: ``VarianceScaling`` with the He uniform preset.

    Examples
    --------
    >>> from arrayinit.compat.v1 import keras
    >>> keras.initializers.he_uniform(seed=0).get_config()
    {'seed': 0}
    """


def _keras_namespace(row: Row) -> type[Initializer]:
    """The class of ``row`` in ``tf.compat.v1.keras.initializers``."""
    return _KERAS_ONLY.get(row.name) or _INIT_OPS[row.name]


# names as tf.compat.v1.keras.initializers.serialize writes them, by class (of either namespace)
_KERAS_SERIAL_NAMES: dict[type, str] = {
    cls: row.tf1_keras
    for row in rows("tf1_keras")
    for cls in (_INIT_OPS.get(row.name), _KERAS_ONLY.get(row.name))
    if cls is not None and row.tf1_keras is not None
}

#: class names accepted by ``deserialize``/``get`` (snake_case and CamelCase, as TF writes either)
KERAS_OBJECTS: dict[str, type[Initializer]] = {
    name: _keras_namespace(row) for row in rows("tf1_keras") for name in row.tf1_keras_names
}


def serialize(initializer: Initializer) -> dict[str, Any]:
    """The dict ``tf.compat.v1.keras.initializers.serialize`` writes for the same initializer.

    Examples
    --------
    >>> from arrayinit.compat.v1 import keras
    >>> keras.initializers.serialize(keras.initializers.he_normal(seed=1))
    {'module': 'keras.initializers', 'class_name': 'he_normal', 'config': {'seed': 1}, 'registered_name': None}
    """
    name = _KERAS_SERIAL_NAMES.get(type(initializer))
    if name is None:
        raise TypeError(
            f"Argument `initializer` must be an arrayinit.compat.v1 initializer. {received('initializer', initializer)}"
        )
    return {
        "module": "keras.initializers",
        "class_name": name,
        "config": initializer.get_config(),
        "registered_name": None,
    }


def deserialize(config: dict[str, Any]) -> Initializer:
    """The initializer of a ``{'class_name': ..., 'config': ...}`` dict, resolved in the TF1 Keras namespace.

    Only the names of this namespace are resolved: a config cannot import or
    run code.

    Examples
    --------
    >>> from arrayinit.compat.v1 import keras
    >>> keras.initializers.deserialize({"class_name": "GlorotUniform", "config": {"seed": 1, "dtype": "float32"}})
    GlorotUniform(seed=1, dtype='float32')
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Argument `config` must be a dict with a 'class_name' key. {received('config', config)}")
    name = config["class_name"]
    cls = KERAS_OBJECTS.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(
            f"Unknown initializer: {name!r}. Please use one of {sorted(KERAS_OBJECTS)}. Received: config={config!r}"
        )
    return cls.from_config(config.get("config") or {})


def get(identifier) -> Any:
    """``tf.compat.v1.keras.initializers.get``: None, a name, a config dict or a callable.

    Examples
    --------
    >>> from arrayinit.compat.v1 import keras
    >>> keras.initializers.get("normal").get_config()["stddev"]
    0.05
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return deserialize({"class_name": identifier, "config": {}})
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret initializer identifier: {identifier!r}")
