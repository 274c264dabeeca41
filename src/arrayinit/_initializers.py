"""The Keras 3 initializer catalogue on top of the arrayinit stream.

Class names, argument names, defaults, configs and error messages follow
``keras.initializers``. A call checks its block and resolves its destination
once (``arrayinit._frontend``), asks the initializer for the plan of the block
(``_plan``: a ``FillPlan`` of the stream, a ``ComplexPlan`` or a host-value
plan) and realises it there, so every initializer also takes
``full_shape``/``offset`` (one block of a larger tensor, with fans computed
from the full shape) and ``out``.
"""

from __future__ import annotations

import contextlib
import numbers
from typing import Any, Literal

import numpy as np

from arrayinit import _complex, _dtypes, _frontend, _plans, _variance
from arrayinit._catalogue import CATALOGUE, Row, preset
from arrayinit._errors import check_float, check_seed, received
from arrayinit._seeds import fresh_seed
from arrayinit._values import ConstantPlan, DiagonalPlan, OrthogonalPlan, ValuesPlan
from arrayinit._values import orthonormal_columns as orthonormal_columns  # used by arrayinit.torch

__all__ = [
    "CORE",
    "Constant",
    "GlorotNormal",
    "GlorotUniform",
    "HeNormal",
    "HeUniform",
    "Identity",
    "Initializer",
    "LecunNormal",
    "LecunUniform",
    "Ones",
    "Orthogonal",
    "PresetVarianceScaling",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
    "Zeros",
    "compute_fans",
]

TRUNCATION_STD = _variance.TRUNCATION_STD

#: the core class of each catalogue row, by the row's name (filled as the classes are defined)
CORE: dict[str, type[Initializer]] = {}

Mode = Literal["fan_in", "fan_out", "fan_avg", "fan_geo_avg"]
Distribution = Literal["truncated_normal", "untruncated_normal", "uniform", "normal"]


def _axes(name: str, value) -> tuple[int, ...] | None:
    if value is None:
        return None
    axes = _variance.check_axes(name, value)
    return (axes,) if isinstance(axes, int) else axes


def compute_fans(
    shape, in_axis=None, out_axis=None, batch_axis=None, *, input_axes=None, output_axes=None
) -> tuple[float, float]:
    """``(fan_in, fan_out)`` of a weight shape.

    Without axes, the Keras rule: rank 0 gives ``(1, 1)``, rank 1 ``(n, n)``,
    rank 2 ``(in, out)``, higher ranks ``(..., in, out)`` with the product of the
    leading axes as receptive field. With ``in_axis``/``out_axis``/``batch_axis``
    (ints or tuples; defaults ``-2``, ``-1``, ``()``), exactly the rule of
    ``jax.nn.initializers``: ``receptive = prod(shape) / (in_size * out_size *
    batch_size)``, so axes named in two groups can give fractional fans, as in
    jax. With both ``input_axes`` and ``output_axes``, the Keras 3.15 rule: the
    fans are the plain products of those axes (one of them alone is ignored, as
    in Keras). Integral fans are returned as ints.

    Examples
    --------
    >>> compute_fans((3, 3, 64, 128))
    (576, 1152)
    >>> compute_fans((128, 64, 3, 3), in_axis=1, out_axis=0)
    (576, 1152)
    >>> compute_fans((3, 3, 64, 128), input_axes=[2], output_axes=[3])
    (64, 128)
    >>> compute_fans((6, 4), in_axis=1, out_axis=-1)  # overlapping axes: jax's rule
    (6, 6)
    """
    if input_axes is not None and output_axes is not None:
        return _variance.keras_axes_fans(shape, input_axes, output_axes)
    if in_axis is None and out_axis is None and batch_axis is None:
        return _variance.keras_fans(shape)
    return _variance.jax_fans(
        shape,
        -2 if in_axis is None else in_axis,
        -1 if out_axis is None else out_axis,
        () if batch_axis is None else batch_axis,
    )


class Initializer:
    """Base class: ``init(shape, dtype=None)`` returns a new array.

    Subclasses implement ``_plan`` (what to generate for a block, as a plan) and
    ``get_config``; a subclass may instead implement ``__call__`` itself. A
    subclass whose ``_plan`` also makes complex values (a ``ComplexPlan`` or a
    complex constant) sets ``complex_values = True``. Every
    call takes ``full_shape``/``offset`` (return the block ``[offset, offset +
    shape)`` of the tensor of shape ``full_shape``, bit for bit) and ``out``
    (fill an existing array and return it).

    Examples
    --------
    >>> import arrayinit as ai
    >>> class Halves(ai.Initializer):
    ...     def __call__(self, shape, dtype=None, **kwargs):
    ...         return ai.Constant(0.5)(shape, dtype, **kwargs)
    >>> Halves()((2,)).tolist()
    [0.5, 0.5]
    """

    _CACHE_SIZE = 64  # plans of the most recent plain calls (shape, dtype) -> plan, per instance
    complex_values = False  # whether ``_plan`` makes complex64/complex128 values too
    row: Row | None = None  # the catalogue row of the classes of arrayinit's catalogue

    def __init_subclass__(cls, row: str | None = None, **kwargs) -> None:
        """``class HeNormal(PresetVarianceScaling, row="HeNormal")``: the core class of a catalogue row."""
        super().__init_subclass__(**kwargs)
        if row is not None:
            cls.row = CATALOGUE[row]
            CORE[row] = cls

    def __call__(
        self, shape, dtype=None, *, xp=None, device=None, like=None, full_shape=None, offset=None, out=None, chunks=None
    ):
        """A new array of ``shape`` (or ``out`` filled in place).

        Parameters
        ----------
        shape : tuple of int
            Shape of the result (of the block, when ``full_shape`` is given).
        dtype : str or dtype, optional
            float32 (default), float64, float16, bfloat16; a library dtype object works too.
        xp : namespace, optional
            Array library of the result (default numpy): ``torch``, ``jax.numpy``, ``dask.array``, ...
        device : optional
            Device of the result, in the library's terms (``"cpu"``, ``"cuda:0"``, a jax device).
        like : array, optional
            Take the library, device and (unless ``dtype`` is given) dtype of this array.
        full_shape : tuple of int, optional
            Shape of the whole logical tensor; fans come from it (default: ``shape``).
        offset : tuple of int, optional
            Start of the block ``[offset, offset + shape)`` in ``full_shape`` (default: the origin).
        out : array, optional
            Existing array to fill (numpy, torch, array_api_strict, cupy, any
            mutable array-API array, or an array of a registered backend).
        chunks : optional
            dask only: chunks of the lazy result.
        """
        plain = xp is None and device is None and like is None and out is None and full_shape is None
        plain = plain and offset is None and chunks is None and type(shape) is tuple
        if plain and all(type(d) is int for d in shape):
            # a plain numpy call: its plan depends on (shape, dtype) only, and is kept under them (a kept plan
            # passed every check of its first call)
            try:
                plan = self._plan_cache().get((shape, dtype))
            except TypeError:  # an unhashable dtype object
                plan = None
            if plan is not None:
                return _frontend.realise_numpy(plan)
        else:
            plain = False
        complex_values = _dtypes.complex_requested(dtype, like, out) is not None  # see arrayinit._complex
        if complex_values and not self.complex_values:
            _complex.refuse(type(self).__name__, dtype)
        if plain:
            shape, full, off = _complex.call_block(shape, None, None, complex_values)
            plan = self._plan(shape, full, off, _frontend.resolve(shape, dtype).dtype)
            self._keep(self._plan_cache(), (shape, dtype), plan)
            return _frontend.realise_numpy(plan)
        shape, full, off = _complex.call_block(shape, full_shape, offset, complex_values)
        dest = _frontend.resolve(shape, dtype, out=out, xp=xp, device=device, like=like, chunks=chunks)
        return _frontend.realise(self._kept_plan(shape, full, off, dest.dtype), dest)

    def _kept_plan(self, shape, full, off, dtype: str):
        """``_plan`` of a checked block, kept per instance (the plan depends on the block and dtype only)."""
        cache = self._plan_cache()
        key = (shape, full, off, dtype)
        plan = cache.get(key)
        if plan is None:
            plan = self._plan(shape, full, off, dtype)
            self._keep(cache, key, plan)
        return plan

    def _plan_cache(self) -> dict:
        """This instance's kept plans (dropped whenever an attribute is assigned)."""
        cache = self.__dict__.get("_plans")
        if cache is None:
            cache = self.__dict__["_plans"] = {}
        return cache

    def _keep(self, cache: dict, key, plan) -> None:
        if len(cache) >= self._CACHE_SIZE:
            cache.clear()
        with contextlib.suppress(TypeError):  # an unhashable dtype object: not kept
            cache[key] = plan

    def __setattr__(self, name: str, value) -> None:
        # a changed attribute invalidates the kept plans
        self.__dict__.pop("_plans", None)
        object.__setattr__(self, name, value)

    def fill_(self, x, *, full_shape=None, offset=None):
        """Fill the existing array ``x`` in place and return it.

        ``x`` may be a numpy array, a torch tensor (parameters with
        ``requires_grad`` included), an array_api_strict or a cupy array, any
        mutable array of an array-API library, or an array of a registered
        backend.

        Examples
        --------
        >>> import arrayinit as ai, numpy as np
        >>> w = np.zeros((4, 3), np.float32)
        >>> ai.Ones().fill_(w) is w, float(w.sum())
        (True, 12.0)
        """
        complex_values = _dtypes.complex_requested(None, out=x) is not None  # see arrayinit._complex
        if complex_values and not self.complex_values:
            _complex.refuse(type(self).__name__, None)
        dest = _frontend.fill_dest(x)
        shape, full, off = _complex.call_block(tuple(int(d) for d in x.shape), full_shape, offset, complex_values)
        return _frontend.realise(self._kept_plan(shape, full, off, dest.dtype), dest)

    def _plan(self, shape, full_shape, offset, dtype: str):  # pragma: no cover - abstract
        """The plan (``FillPlan`` or host-value plan) of the block ``(shape, full_shape, offset)`` in ``dtype``."""
        raise NotImplementedError(f"{type(self).__name__} must implement __call__ or _plan")

    def _check(self, full_shape: tuple[int, ...], dtype: str) -> None:
        """Run the checks of a call for a ``full_shape`` tensor of ``dtype`` without generating anything.

        Builds the plan of the whole tensor (rank, fans, element count, the
        dtype's range are checked there) and drops it. Initializers that
        implement ``__call__`` only are not checked.
        """
        if type(self)._plan is Initializer._plan:
            return
        self._plan(full_shape, full_shape, (0,) * len(full_shape), dtype)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, JSON-safe: ``type(self)(**get_config())`` recreates ``self``."""
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]):
        """``cls(**config)``, with a clear error for keys the constructor does not take."""
        if not isinstance(config, dict):
            raise TypeError(f"Argument `config` must be a dict. {received('config', config)}")
        try:
            return cls(**config)
        except TypeError as e:
            if "unexpected keyword argument" in str(e) or "takes no arguments" in str(e):
                raise ValueError(
                    f"Unknown key in the config of {cls.__name__}: {e}. Received: config={config!r}"
                ) from None
            raise

    def clone(self):
        """A new initializer with the same configuration (and so the same values, if seeded)."""
        return type(self).from_config(self.get_config())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config() and self._key() == other._key()

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(sorted(self.get_config().items()))))

    def _key(self):
        return None


def reseeded(init, seed: int | None):
    """``init`` with its seed replaced by ``seed`` (unchanged when ``seed`` is None or it takes no seed)."""
    cfg = init.get_config()
    if seed is None or "seed" not in cfg:
        return init
    return type(init).from_config({**cfg, "seed": seed})


class ConstantInitializer(Initializer):
    """The base of ``Zeros``, ``Ones`` and ``Constant``: one value everywhere, written in place."""

    _value = 0.0
    complex_values = True

    def _plan(self, shape, full_shape, offset, dtype):
        part = _dtypes.COMPLEX_PARTS.get(dtype)
        if part is not None:  # value + 0j
            if _dtypes.overflows(abs(self._value), part):
                raise ValueError(
                    f"Argument `value` overflows {dtype} (it would round to infinity). {received('value', self._value)}"
                )
            return ConstantPlan(shape, full_shape, offset, dtype, self._value)
        if _dtypes.overflows(abs(self._value), dtype):
            raise ValueError(
                f"Argument `value` overflows {dtype} (it would round to infinity). Received: value={self._value!r}"
            )
        return ConstantPlan(shape, full_shape, offset, dtype, self._value)


class Zeros(ConstantInitializer, row="Zeros"):
    """All zeros. ``Zeros()`` takes no arguments.

    Examples
    --------
    >>> import arrayinit as ai
    >>> ai.Zeros()((2, 2)).tolist()
    [[0.0, 0.0], [0.0, 0.0]]
    """

    _value = 0.0


class Ones(ConstantInitializer, row="Ones"):
    """All ones. ``Ones()`` takes no arguments.

    Examples
    --------
    >>> import arrayinit as ai
    >>> ai.Ones()((3,)).tolist()
    [1.0, 1.0, 1.0]
    """

    _value = 1.0


class Constant(ConstantInitializer, row="Constant"):
    """Every value equal to ``value``, or an array broadcast to the shape.

    Parameters
    ----------
    value : float or array_like
        A number, or an array (a numpy array, a nested list, a CPU array of
        another library) broadcast to the full shape by numpy's rules, as
        Keras 3's ``Constant`` accepts. The config keeps an array as a nested
        list.

    Examples
    --------
    >>> import arrayinit as ai
    >>> ai.Constant(0.25)((2,)).tolist()
    [0.25, 0.25]
    >>> ai.Constant([1.0, 2.0])((2, 2)).tolist()
    [[1.0, 2.0], [1.0, 2.0]]
    """

    _array = None

    def __init__(self, value=0.0):
        self.value = value

    @property
    def value(self):
        """The value as given (an array as nested lists); assigning it checks the new value."""
        return self._config_value

    @value.setter
    def value(self, value) -> None:
        self._set_value(value)

    def _set_value(self, value) -> None:
        self._array = None
        if isinstance(value, numbers.Real) or (not hasattr(value, "__len__") and np.ndim(value) == 0):
            self._value = check_float("value", value.item() if isinstance(value, np.ndarray) else value)
            self._config_value = int(value) if isinstance(value, numbers.Integral) else self._value  # JSON-safe
            return
        try:
            arr = np.asarray(value)
        except (TypeError, ValueError, RuntimeError) as e:
            raise TypeError(
                f"Argument `value` must be a number or an array of numbers ({e}). {received('value', value)}"
            ) from None
        if arr.dtype.kind not in "fiu" or arr.dtype.kind == "b":
            raise TypeError(
                f"Argument `value` must be a real number or an array of real numbers. {received('value', value)}"
            )
        arr = arr.astype(np.float64)
        if not np.isfinite(arr).all():
            raise ValueError(f"Argument `value` must be finite everywhere. {received('value', value)}")
        if arr.ndim == 0:
            self._set_value(float(arr))
            return
        arr.flags.writeable = False
        self._array = arr
        self._value = float(np.abs(arr).max()) if arr.size else 0.0  # the magnitude the overflow check sees
        self._config_value = arr.tolist()

    def _plan(self, shape, full_shape, offset, dtype):
        if self._array is None:
            return super()._plan(shape, full_shape, offset, dtype)
        if dtype in _dtypes.COMPLEX_PARTS:
            raise ValueError(
                "A Constant with an array value makes real values only; ask for a float dtype. "
                f"Received: dtype={dtype!r}"
            )
        if _dtypes.overflows(self._value, dtype):
            raise ValueError(
                f"Argument `value` overflows {dtype} (it would round to infinity). Received: value of magnitude "
                f"{self._value!r}"
            )
        try:
            whole = np.broadcast_to(self._array, full_shape)  # a view: no copy of the full shape
        except ValueError:
            raise ValueError(
                f"Argument `value` of shape {self._array.shape} cannot be broadcast to the shape {full_shape}."
            ) from None
        block = whole[tuple(slice(o, o + n) for o, n in zip(offset, shape))]
        return ValuesPlan(shape, full_shape, offset, dtype, block)

    def get_config(self):
        return {"value": self.value}


class RandomInitializer(Initializer):
    """Base of the random initializers: keeps the user's seed for the config and a resolved seed.

    ``seed=None`` draws a seed once, at construction (Keras 3): the instance then
    returns the same values on every call, and ``get_config`` keeps ``None``.
    """

    def __init__(self, seed=None):
        if seed is not None:
            seed = check_seed(seed, none_ok=True)
        self._init_seed = seed
        self.seed = fresh_seed() if seed is None else seed

    def _key(self):
        return self.seed

    def _seed_config(self):
        return {"seed": self._init_seed}


class RandomNormal(RandomInitializer, row="RandomNormal"):
    """Normal values with the given ``mean`` and ``stddev``.

    Parameters
    ----------
    mean : float
        Mean (default 0.0).
    stddev : float
        Standard deviation (default 0.05).
    seed : int or None
        Seed in ``[0, 2**64)``; ``None`` draws one at construction.

    Examples
    --------
    >>> import arrayinit as ai
    >>> w = ai.RandomNormal(stddev=1.0, seed=0)((1000, 100))
    >>> round(float(w.std()), 2)
    1.0
    """

    complex_values = True

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = check_float("mean", mean)
        self.stddev = check_float("stddev", stddev, nonnegative=True)
        super().__init__(seed)

    def _plan(self, shape, full_shape, offset, dtype):
        plan_of = _complex.normal_plan if dtype in _dtypes.COMPLEX_PARTS else _plans.normal_plan
        return plan_of(shape, full_shape, offset, dtype, self.seed, 0, self.mean, self.stddev)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **self._seed_config()}


class RandomUniform(RandomInitializer, row="RandomUniform"):
    """Uniform values in ``[minval, maxval)``.

    Parameters
    ----------
    minval : float
        Lower bound, included.
    maxval : float
        Upper bound, excluded; at least ``minval``.
    seed : int or None
        Seed in ``[0, 2**64)``; ``None`` draws one at construction.

    Examples
    --------
    >>> import arrayinit as ai
    >>> w = ai.RandomUniform(-1.0, 1.0, seed=0)((1000,))
    >>> bool(w.min() >= -1.0 and w.max() < 1.0)
    True
    """

    complex_values = True

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval = check_float("minval", minval)
        self.maxval = check_float("maxval", maxval)
        if self.maxval < self.minval:
            raise ValueError(f"Argument `maxval` must be >= `minval`. Received: minval={minval!r}, maxval={maxval!r}")
        super().__init__(seed)

    def _plan(self, shape, full_shape, offset, dtype):
        plan_of = _complex.uniform_plan if dtype in _dtypes.COMPLEX_PARTS else _plans.uniform_plan
        return plan_of(shape, full_shape, offset, dtype, self.seed, 0, self.minval, self.maxval)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, **self._seed_config()}


class TruncatedNormal(RandomInitializer, row="TruncatedNormal"):
    """Normal values cut at two standard deviations from the mean (Keras).

    Parameters
    ----------
    mean : float
        Mean of the normal before truncation.
    stddev : float
        Standard deviation of the normal before truncation, positive.
    seed : int or None
        Seed in ``[0, 2**64)``; ``None`` draws one at construction.

    Notes
    -----
    Values outside ``[mean - 2 stddev, mean + 2 stddev]`` do not occur: the
    sampler inverts the truncated CDF (no redraws). The standard deviation of
    the result is ``0.8796 * stddev``.

    Examples
    --------
    >>> import arrayinit as ai
    >>> w = ai.TruncatedNormal(stddev=0.1, seed=0)((512, 512))
    >>> bool(abs(w).max() <= 0.2)
    True
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = check_float("mean", mean)
        self.stddev = check_float("stddev", stddev, positive=True)
        super().__init__(seed)

    def _plan(self, shape, full_shape, offset, dtype):
        return _plans.truncnorm_plan(
            shape, full_shape, offset, dtype, self.seed, 0, self.mean, self.stddev, -2.0, 2.0, None, None
        )

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **self._seed_config()}


class VarianceScaling(RandomInitializer, row="VarianceScaling"):
    """Scale adapted to the fans of the weight shape (Keras 3, plus JAX's modes and axes).

    With ``n`` = ``fan_in``, ``fan_out``, ``(fan_in + fan_out) / 2`` or
    ``sqrt(fan_in * fan_out)`` (``mode``), each at least 1:

    - ``"truncated_normal"``: truncated at two standard deviations, with
      ``stddev = sqrt(scale / n) / 0.87962566103423978`` before truncation,
      so the result has standard deviation ``sqrt(scale / n)``.
      ``"normal"`` is accepted as the legacy name of this distribution.
    - ``"untruncated_normal"``: ``stddev = sqrt(scale / n)``.
    - ``"uniform"``: ``[-limit, limit)`` with ``limit = sqrt(3 * scale / n)``.

    Parameters
    ----------
    scale : float
        Positive scaling factor (default 1.0).
    mode : {"fan_in", "fan_out", "fan_avg", "fan_geo_avg"}
    distribution : {"truncated_normal", "untruncated_normal", "uniform"}
    seed : int or None
    in_axis, out_axis, batch_axis : int or tuple of int, optional
        Axes of the input and output units (JAX names); the remaining axes are
        the receptive field. Default: the Keras rule (``(..., in, out)``).
    input_axes, output_axes : int or tuple of int, optional
        The same, with the Keras 3.15 names.

    References
    ----------
    He et al., "Delving Deep into Rectifiers" (2015); Glorot & Bengio,
    "Understanding the difficulty of training deep feedforward neural networks"
    (2010); LeCun et al., "Efficient BackProp" (1998).

    Examples
    --------
    >>> import arrayinit as ai
    >>> init = ai.VarianceScaling(scale=3.0, mode="fan_in", distribution="truncated_normal", seed=0)
    >>> w = init((256, 128))
    >>> round(float(w.std()), 3), round((3 / 256) ** 0.5, 3)
    (0.108, 0.108)
    >>> torch_layout = ai.VarianceScaling(2.0, seed=0, in_axis=1, out_axis=0)  # (out, in, *k)
    """

    complex_values = True

    def __init__(
        self,
        scale=1.0,
        mode: Mode = "fan_in",
        distribution: Distribution = "truncated_normal",
        seed=None,
        input_axes=None,
        output_axes=None,
        *,
        in_axis=None,
        out_axis=None,
        batch_axis=None,
    ):
        self.scale, self.mode, kind = _variance.KERAS.check(scale, mode, distribution)
        # the config keeps the Keras 3 name; Keras' legacy "normal" is its truncated normal
        self.distribution = _variance.KERAS_NAMES[kind]
        if (input_axes is not None or output_axes is not None) and (in_axis is not None or out_axis is not None):
            raise ValueError(
                "Give the axes either as `in_axis`/`out_axis` or as `input_axes`/`output_axes`, not both. "
                f"Received: in_axis={in_axis!r}, out_axis={out_axis!r}, input_axes={input_axes!r}, "
                f"output_axes={output_axes!r}"
            )
        # Keras 3.15: lists of ints (or None), always in the config
        self.input_axes = input_axes
        self.output_axes = output_axes
        self._jax_axes_config = {}
        for key, val in (("in_axis", in_axis), ("out_axis", out_axis), ("batch_axis", batch_axis)):
            axes = _axes(key, val)
            if axes is not None:
                self._jax_axes_config[key] = list(axes) if not isinstance(val, numbers.Integral) else int(val)
        self._in = _axes("in_axis", in_axis)
        self._out = _axes("out_axis", out_axis)
        self._batch = _axes("batch_axis", batch_axis)
        super().__init__(seed)

    @property
    def input_axes(self) -> list[int] | None:
        """Keras 3.15's ``input_axes`` (a new list: change it by assigning the attribute)."""
        return None if self._input_axes is None else list(self._input_axes)

    @input_axes.setter
    def input_axes(self, value) -> None:
        self._input_axes = None if value is None else (_axes("input_axes", value) or ())

    @property
    def output_axes(self) -> list[int] | None:
        """Keras 3.15's ``output_axes`` (a new list: change it by assigning the attribute)."""
        return None if self._output_axes is None else list(self._output_axes)

    @output_axes.setter
    def output_axes(self, value) -> None:
        self._output_axes = None if value is None else (_axes("output_axes", value) or ())

    def fans(self, full_shape) -> tuple[float, float]:
        """``(fan_in, fan_out)`` for ``full_shape`` under this initializer's axis rule."""
        return compute_fans(
            full_shape, self._in, self._out, self._batch, input_axes=self.input_axes, output_axes=self.output_axes
        )

    @property
    def has_axes(self) -> bool:
        """Whether an explicit axis rule (JAX or Keras 3.15 names) replaces the default fan rule."""
        return bool(self._jax_axes_config) or (self.input_axes is not None and self.output_axes is not None)

    def sampling(self, full_shape) -> _variance.Sampling:
        """What this initializer draws for a tensor of ``full_shape`` (distribution and its scale)."""
        return _variance.KERAS.sampling(self.scale, self.mode, self.distribution, *self.fans(full_shape))

    def _plan(self, shape, full_shape, offset, dtype):
        sampling = self.sampling(full_shape)
        if dtype in _dtypes.COMPLEX_PARTS:  # jax's complex forms check their own parameters
            return sampling.plan(shape, full_shape, offset, dtype, self.seed)
        if _dtypes.overflows(sampling.reach(dtype), dtype):
            raise ValueError(
                f"Argument `scale` is too large for {dtype}: the values would reach about "
                f"{sampling.reach(dtype):.3g} for the fans {self.fans(full_shape)} of shape {full_shape}. "
                f"Received: scale={self.scale!r}"
            )
        return sampling.plan(shape, full_shape, offset, dtype, self.seed)

    def get_config(self):
        return {
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            **self._seed_config(),
            "input_axes": self.input_axes,
            "output_axes": self.output_axes,
            **self._jax_axes_config,
        }


class PresetVarianceScaling(VarianceScaling):
    """A named variance scaling (He, Glorot, LeCun): scale, mode and distribution from its catalogue row.

    The constructor and the config hold ``seed`` and the Keras 3.15 axes only, as in Keras.
    """

    row: Row  # a preset class names its catalogue row

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        scale, mode, distribution = preset(self.row.name)
        super().__init__(scale, mode, distribution, seed, input_axes, output_axes)

    def get_config(self):
        return {**self._seed_config(), "input_axes": self.input_axes, "output_axes": self.output_axes}


class GlorotNormal(PresetVarianceScaling, row="GlorotNormal"):
    """Glorot (Xavier) normal: truncated normal, ``stddev = sqrt(2 / (fan_in + fan_out))`` after truncation.

    Parameters
    ----------
    seed : int or None
        Seed in ``[0, 2**64)``; ``None`` draws one at construction.
    input_axes : int or tuple of int, optional
        Axes of the input units (Keras 3.15); with ``output_axes``, replaces the Keras fan rule.
    output_axes : int or tuple of int, optional
        Axes of the output units (Keras 3.15).

    Examples
    --------
    >>> import arrayinit as ai
    >>> w = ai.GlorotNormal(seed=0)((300, 100))
    >>> round(float(w.std()), 3)
    0.071
    """


class GlorotUniform(PresetVarianceScaling, row="GlorotUniform"):
    """Glorot (Xavier) uniform on ``[-limit, limit)``, ``limit = sqrt(6 / (fan_in + fan_out))``.

    Parameters
    ----------
    seed : int or None
        Seed in ``[0, 2**64)``; ``None`` draws one at construction.
    input_axes : int or tuple of int, optional
        Axes of the input units (Keras 3.15); with ``output_axes``, replaces the Keras fan rule.
    output_axes : int or tuple of int, optional
        Axes of the output units (Keras 3.15).

    Examples
    --------
    >>> import arrayinit as ai
    >>> w = ai.GlorotUniform(seed=0)((300, 100))
    >>> bool(abs(w).max() < (6 / 400) ** 0.5)
    True
    """


class HeNormal(PresetVarianceScaling, row="HeNormal"):
    """He (Kaiming) normal: truncated normal, ``stddev = sqrt(2 / fan_in)`` after truncation.

    Parameters
    ----------
    seed : int or None
        Seed in ``[0, 2**64)``; ``None`` draws one at construction.
    input_axes : int or tuple of int, optional
        Axes of the input units (Keras 3.15); with ``output_axes``, replaces the Keras fan rule.
    output_axes : int or tuple of int, optional
        Axes of the output units (Keras 3.15).

    Examples
    --------
    >>> import arrayinit as ai
    >>> w = ai.HeNormal(seed=0)((256, 128))
    >>> bool(abs(w).max() <= 2 * (2 / 256) ** 0.5 / 0.87962566103423978)
    True
    """


class HeUniform(PresetVarianceScaling, row="HeUniform"):
    """He (Kaiming) uniform on ``[-limit, limit)``, ``limit = sqrt(6 / fan_in)``.

    Parameters
    ----------
    seed : int or None
        Seed in ``[0, 2**64)``; ``None`` draws one at construction.
    input_axes : int or tuple of int, optional
        Axes of the input units (Keras 3.15); with ``output_axes``, replaces the Keras fan rule.
    output_axes : int or tuple of int, optional
        Axes of the output units (Keras 3.15).

    Examples
    --------
    >>> import arrayinit as ai
    >>> w = ai.HeUniform(seed=0)((600, 10))
    >>> bool(abs(w).max() < 0.1)
    True
    """


class LecunNormal(PresetVarianceScaling, row="LecunNormal"):
    """LeCun normal: truncated normal, ``stddev = sqrt(1 / fan_in)`` after truncation.

    Parameters
    ----------
    seed : int or None
        Seed in ``[0, 2**64)``; ``None`` draws one at construction.
    input_axes : int or tuple of int, optional
        Axes of the input units (Keras 3.15); with ``output_axes``, replaces the Keras fan rule.
    output_axes : int or tuple of int, optional
        Axes of the output units (Keras 3.15).

    Examples
    --------
    >>> import arrayinit as ai
    >>> w = ai.LecunNormal(seed=0)((400, 100))
    >>> round(float(w.std()), 3)
    0.05
    """


class LecunUniform(PresetVarianceScaling, row="LecunUniform"):
    """LeCun uniform on ``[-limit, limit)``, ``limit = sqrt(3 / fan_in)``.

    Parameters
    ----------
    seed : int or None
        Seed in ``[0, 2**64)``; ``None`` draws one at construction.
    input_axes : int or tuple of int, optional
        Axes of the input units (Keras 3.15); with ``output_axes``, replaces the Keras fan rule.
    output_axes : int or tuple of int, optional
        Axes of the output units (Keras 3.15).

    Examples
    --------
    >>> import arrayinit as ai
    >>> w = ai.LecunUniform(seed=0)((300, 10))
    >>> bool(abs(w).max() < 0.1)
    True
    """


class Orthogonal(RandomInitializer, row="Orthogonal"):
    """A (semi-)orthogonal matrix, by QR decomposition of a normal matrix (Saxe et al., 2014).

    The shape is flattened to ``(prod(shape[:-1]), shape[-1])``; the normal
    matrix of the larger by the smaller side is drawn from the arrayinit
    stream, factored in float64 with the sign of ``diag(R)`` folded into ``Q``,
    transposed if needed, multiplied by ``gain`` and cast to the output dtype
    (bfloat16 and float16 included).

    Parameters
    ----------
    gain : float
        Factor applied to the orthogonal matrix.
    seed : int or None
        Seed in ``[0, 2**64)``; ``None`` draws one at construction.

    Notes
    -----
    A block (``full_shape``/``offset``) computes the whole matrix and returns
    the block: orthogonality is a property of the whole. The QR runs on numpy's
    LAPACK; its last bits can differ between LAPACK builds.

    Examples
    --------
    >>> import arrayinit as ai, numpy as np
    >>> q = ai.Orthogonal(seed=0)((64, 64), dtype="float64")
    >>> bool(np.allclose(q.T @ q, np.eye(64)))
    True
    """

    def __init__(self, gain=1.0, seed=None):
        self.gain = check_float("gain", gain)
        super().__init__(seed)

    def _plan(self, shape, full_shape, offset, dtype):
        if len(full_shape) < 2:
            raise ValueError(f"The Orthogonal initializer requires a shape of rank >= 2. Received: shape={full_shape}")
        # |values| <= |gain|: refuse a gain that would round to infinity in the dtype
        if _dtypes.overflows(abs(self.gain), dtype):
            raise ValueError(
                f"Argument `gain` overflows {dtype}: orthogonal values reach |gain| = {abs(self.gain):.3g}. "
                f"Received: gain={self.gain!r}, dtype={dtype!r}"
            )
        return OrthogonalPlan(shape, full_shape, offset, dtype, self.gain, self.seed)

    def get_config(self):
        return {"gain": self.gain, **self._seed_config()}


class Identity(Initializer, row="Identity"):
    """``gain`` times the identity matrix (rank 2 only; rectangular allowed).

    Parameters
    ----------
    gain : float
        Factor applied to the identity matrix.

    Examples
    --------
    >>> import arrayinit as ai
    >>> ai.Identity(gain=2.0)((2, 3)).tolist()
    [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]]
    """

    def __init__(self, gain=1.0):
        self.gain = check_float("gain", gain)

    def _plan(self, shape, full_shape, offset, dtype):
        if len(full_shape) != 2:
            raise ValueError(f"The Identity initializer can only be used for 2D matrices. Received: shape={full_shape}")
        if _dtypes.overflows(abs(self.gain), dtype):
            raise ValueError(
                f"Argument `gain` overflows {dtype} (it would round to infinity). "
                f"Received: gain={self.gain!r}, dtype={dtype!r}"
            )
        return DiagonalPlan(shape, full_shape, offset, dtype, self.gain)

    def get_config(self):
        return {"gain": self.gain}
