"""Keras 3 integration: the Keras initializer catalogue as Keras-native classes drawing from arrayinit.

Every class here subclasses its Keras namesake (``arrayinit.keras.HeNormal`` is
a ``keras.initializers.HeNormal``, so a ``keras.initializers.VarianceScaling``
too), takes the same arguments, writes the same config and is registered for
saving as ``arrayinit>Name``. The values come from the arrayinit stream: they
are generated on the host and handed to Keras as a numpy array, so a model gets
the same weights under every backend (jax, torch, numpy, tensorflow).

Because they are Keras' own types, layers that adjust Keras initializers adjust
these too: ``EinsumDense`` and ``MultiHeadAttention`` rebuild a
``VarianceScaling`` with their per-layer ``input_axes``/``output_axes``.

``KerasInitializer`` wraps any arrayinit initializer; one that has a Keras
counterpart comes back as that Keras-native class.

Seeds
-----
``seed`` is an int in ``[0, 2**64)``, ``None`` or a ``keras.random.SeedGenerator``:

- an int: the same values on every call;
- ``None``: a seed drawn once, at construction, from Python's ``random``
  module (as Keras draws its default seeds, so ``keras.utils.set_random_seed``
  makes unseeded models repeatable); the config keeps ``None``;
- a ``SeedGenerator``: each call takes the generator's next state ``(s0, s1)``
  and draws with the arrayinit seed ``s0 + 2**32 * s1`` (each word taken
  modulo ``2**32``): new values on every call, and the first call of
  ``SeedGenerator(n)`` equals ``seed=n``, as in Keras.

Examples
--------
>>> import os; os.environ.setdefault("KERAS_BACKEND", "numpy")  # doctest: +SKIP
>>> import keras, arrayinit as ai
>>> from arrayinit import keras as aik
>>> layer = keras.layers.Dense(4, kernel_initializer=aik.HeNormal(seed=0))  # doctest: +SKIP
>>> isinstance(aik.HeNormal(seed=0), keras.initializers.VarianceScaling)
True
"""

from __future__ import annotations

import random as _pyrandom
from typing import Any

import keras
import numpy as np
from keras import initializers as _K

from arrayinit import _frontend
from arrayinit import _initializers as _I
from arrayinit import _variance as _V
from arrayinit._errors import check_seed, received
from arrayinit._plan import resolve_block
from arrayinit._registry import _snake
from arrayinit._registry import deserialize as _ai_deserialize
from arrayinit._registry import get as _ai_get
from arrayinit._registry import serialize as _ai_serialize
from arrayinit._stft import STFT as _CoreSTFT

__all__ = [
    "STFT",
    "Constant",
    "GlorotNormal",
    "GlorotUniform",
    "HeNormal",
    "HeUniform",
    "Identity",
    "KerasInitializer",
    "LecunNormal",
    "LecunUniform",
    "Ones",
    "Orthogonal",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
    "Zeros",
    "compute_fans",
    "deserialize",
    "get",
    "serialize",
    "wrap",
]

_register = keras.saving.register_keras_serializable(package="arrayinit")


def _dtype(dtype) -> str:
    return keras.backend.standardize_dtype(dtype or keras.backend.floatx())


def _shape(shape) -> tuple[int, ...]:
    return tuple(int(d) for d in shape)


def compute_fans(shape, input_axes=None, output_axes=None) -> tuple[int, int]:
    """``(fan_in, fan_out)`` as Keras 3.15 computes them.

    With both ``input_axes`` and ``output_axes``: the products of the dims of
    those axes. Otherwise the Keras rule ``(..., in, out)`` (see
    ``arrayinit.compute_fans``).

    Examples
    --------
    >>> from arrayinit.keras import compute_fans
    >>> compute_fans((512, 8, 64), input_axes=[0], output_axes=[1, 2])
    (512, 512)
    >>> compute_fans((3, 3, 16, 32))
    (144, 288)
    """
    if input_axes is not None and output_axes is not None:
        return _V.keras_axes_fans(_shape(shape), input_axes, output_axes)
    return _V.keras_fans(_shape(shape))


# --- seeds -----------------------------------------------------------------------------------


class _Seeded:
    """The Keras seed protocol on top of arrayinit seeds (module docstring, "Seeds")."""

    _init_seed: Any
    seed: Any

    def _set_seed(self, seed) -> None:
        self._init_seed = seed  # the config keeps what was given (None, an int or a SeedGenerator)
        if isinstance(seed, dict):  # a serialized SeedGenerator
            seed = keras.saving.deserialize_keras_object(seed)
        if seed is None:
            seed = _pyrandom.getrandbits(64)
        elif not isinstance(seed, keras.random.SeedGenerator):
            if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
                raise ValueError(
                    "Argument `seed` must be an integer in [0, 2**64), None or a keras.random.SeedGenerator. "
                    f"{received('seed', seed)}"
                )
            seed = check_seed(seed)
        self.seed = seed

    def _draw_seed(self) -> int:
        """The arrayinit seed of this call (the generator advances for a SeedGenerator)."""
        if isinstance(self.seed, keras.random.SeedGenerator):
            state = np.asarray(keras.ops.convert_to_numpy(self.seed.next())).astype(np.int64).reshape(-1)
            return int(state[0]) % 2**32 + (int(state[1]) % 2**32) * 2**32
        return self.seed


def _random_values(core: _I.Initializer, shape, dtype):
    return core(_shape(shape), _dtype(dtype))


# --- constants -------------------------------------------------------------------------------


def _constant_values(core: _I.Initializer, value, shape, dtype):
    """``core``'s values, or for integer and bool variables (counters, masks) the value cast as Keras' own do."""
    dtype = _dtype(dtype)
    shape = _shape(shape)
    if keras.backend.is_float_dtype(dtype):
        return core(shape, dtype)
    return keras.ops.cast(np.broadcast_to(np.asarray(value), shape), dtype)


@_register
class Zeros(_K.Zeros):
    """All zeros (``keras.initializers.Zeros``); integer and bool dtypes too.

    Examples
    --------
    >>> from arrayinit.keras import Zeros
    >>> Zeros()((2,)).tolist()
    [0.0, 0.0]
    """

    def __call__(self, shape, dtype=None):
        return _constant_values(_I.Zeros(), 0, shape, dtype)


@_register
class Ones(_K.Ones):
    """All ones (``keras.initializers.Ones``); integer and bool dtypes too.

    Examples
    --------
    >>> from arrayinit.keras import Ones
    >>> Ones()((2,)).tolist()
    [1.0, 1.0]
    """

    def __call__(self, shape, dtype=None):
        return _constant_values(_I.Ones(), 1, shape, dtype)


@_register
class Constant(_K.Constant):
    """Every value equal to ``value`` (``keras.initializers.Constant``).

    Parameters
    ----------
    value : float or array_like
        The value; an array is broadcast to the shape as far as
        ``arrayinit.Constant`` accepts it.

    Examples
    --------
    >>> from arrayinit.keras import Constant
    >>> Constant(0.5)((2,)).tolist()
    [0.5, 0.5]
    """

    def __init__(self, value=0.0):
        self._core = _I.Constant(value)  # checks the value now
        self.value = self._core_source = value

    def __call__(self, shape, dtype=None):
        if self._core_source is not self.value:  # `value` was assigned after construction
            self._core, self._core_source = _I.Constant(self.value), self.value
        return _constant_values(self._core, self.value, shape, dtype)

    @classmethod
    def from_config(cls, config):
        """As Keras' (a serialized array value is read back), with ``value`` optional (``get("constant")``)."""
        if "value" not in config:
            return cls(**config)
        return cls(**{**config, "value": keras.saving.deserialize_keras_object(config["value"])})


@_register
class Identity(_K.Identity):
    """``gain`` times the identity matrix (``keras.initializers.Identity``; 2-D only).

    Examples
    --------
    >>> from arrayinit.keras import Identity
    >>> Identity(gain=2.0)((2, 2)).tolist()
    [[2.0, 0.0], [0.0, 2.0]]
    """

    def __init__(self, gain=1.0):
        self._core = _I.Identity(gain)
        self.gain = gain

    def __call__(self, shape, dtype=None):
        dtype = _dtype(dtype)
        if keras.backend.is_float_dtype(dtype):
            return self._core(_shape(shape), dtype)
        return keras.ops.cast(self._core(_shape(shape), "float64"), dtype)


@_register
class STFT(_K.STFT):
    """Kernel of a short-time Fourier transform as a convolution (``keras.initializers.STFT``).

    Arguments and values as ``arrayinit.STFT`` (side, window, scaling,
    periodic); the config is Keras'.

    Examples
    --------
    >>> from arrayinit.keras import STFT
    >>> STFT("real", None)((4, 1, 3)).shape
    (4, 1, 3)
    """

    def __init__(self, side="real", window="hann", scaling="density", periodic=False):
        self._core = _CoreSTFT(side, window, scaling, periodic)
        self.side = side
        self.window = window
        self.scaling = scaling
        self.periodic = periodic

    def __call__(self, shape, dtype=None):
        return self._core(_shape(shape), _dtype(dtype))


# --- random ----------------------------------------------------------------------------------


@_register
class RandomNormal(_Seeded, _K.RandomNormal):
    """Normal values (``keras.initializers.RandomNormal``): ``mean`` 0.0, ``stddev`` 0.05 by default.

    Examples
    --------
    >>> from arrayinit.keras import RandomNormal
    >>> round(float(RandomNormal(stddev=1.0, seed=0)((1000,)).std()), 1)
    1.0
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        _I.RandomNormal(mean, stddev, seed=0)  # argument checks
        self.mean = mean
        self.stddev = stddev
        self._set_seed(seed)

    def __call__(self, shape, dtype=None):
        return _random_values(_I.RandomNormal(self.mean, self.stddev, seed=self._draw_seed()), shape, dtype)


@_register
class TruncatedNormal(_Seeded, _K.TruncatedNormal):
    """Normal values cut at two standard deviations (``keras.initializers.TruncatedNormal``).

    Examples
    --------
    >>> from arrayinit.keras import TruncatedNormal
    >>> bool(abs(TruncatedNormal(stddev=1.0, seed=0)((1000,))).max() <= 2.0)
    True
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        _I.TruncatedNormal(mean, stddev, seed=0)
        self.mean = mean
        self.stddev = stddev
        self._set_seed(seed)

    def __call__(self, shape, dtype=None):
        return _random_values(_I.TruncatedNormal(self.mean, self.stddev, seed=self._draw_seed()), shape, dtype)


@_register
class RandomUniform(_Seeded, _K.RandomUniform):
    """Uniform values in ``[minval, maxval)`` (``keras.initializers.RandomUniform``).

    Examples
    --------
    >>> from arrayinit.keras import RandomUniform
    >>> w = RandomUniform(-1.0, 1.0, seed=0)((1000,))
    >>> bool(w.min() >= -1.0 and w.max() < 1.0)
    True
    """

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        _I.RandomUniform(minval, maxval, seed=0)
        self.minval = minval
        self.maxval = maxval
        self._set_seed(seed)

    def __call__(self, shape, dtype=None):
        return _random_values(_I.RandomUniform(self.minval, self.maxval, seed=self._draw_seed()), shape, dtype)


def _keras_axes(name: str, value):
    """Keras 3.15 axes: None or a list of ints (an int is one axis)."""
    if value is None:
        return None
    axes = _V.check_axes(name, value)
    return [axes] if isinstance(axes, int) else list(axes)


@_register
class VarianceScaling(_Seeded, _K.VarianceScaling):
    """Scale adapted to the fans of the weight shape (``keras.initializers.VarianceScaling``).

    The fans, the mode table and the distribution parameters are arrayinit's
    (``arrayinit.VarianceScaling``): with ``n`` the fan of ``mode`` (at least
    1), a normal truncated at two standard deviations with ``stddev =
    sqrt(scale / n) / 0.87962566103423978`` before the cut, an untruncated
    normal with ``stddev = sqrt(scale / n)``, or a uniform on ``[-limit,
    limit)`` with ``limit = sqrt(3 * scale / n)``. With both ``input_axes``
    and ``output_axes`` the fans are the products of those axes (Keras 3.15;
    ``EinsumDense`` and ``MultiHeadAttention`` fill them in per layer).

    Examples
    --------
    >>> from arrayinit.keras import VarianceScaling
    >>> w = VarianceScaling(2.0, "fan_in", "untruncated_normal", seed=0)((400, 100))
    >>> round(float(w.std()), 3), round((2 / 400) ** 0.5, 3)
    (0.071, 0.071)
    """

    def __init__(
        self,
        scale=1.0,
        mode="fan_in",
        distribution="truncated_normal",
        seed=None,
        input_axes=None,
        output_axes=None,
    ):
        self.scale = _V.check_scale(scale)
        self.mode = _V.check_mode(mode)
        self._kind = _V.check_distribution(distribution, _V.KERAS_DISTRIBUTIONS)
        # the Keras name of what is sampled ("normal" is Keras' legacy name of the truncated normal)
        self.distribution = {"truncated_normal": "truncated_normal", "normal": "untruncated_normal"}.get(
            self._kind, "uniform"
        )
        self.input_axes = _keras_axes("input_axes", input_axes)
        self.output_axes = _keras_axes("output_axes", output_axes)
        self._set_seed(seed)

    def sampling(self, shape) -> _V.Sampling:
        """What a call for ``shape`` draws (distribution and scale, from ``arrayinit._variance``)."""
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        # read at call time: attributes set after construction count, and are checked as the constructor does
        kind = _V.check_distribution(self.distribution, _V.KERAS_DISTRIBUTIONS)
        return _V.variance_scaling(_V.check_scale(self.scale), _V.check_mode(self.mode), kind, fan_in, fan_out)

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        sampling = self.sampling(shape)
        seed = check_seed(self._draw_seed())
        shape, full, off = resolve_block(shape, None, None)
        dest = _frontend.resolve(shape, _dtype(dtype))
        return _frontend.realise(sampling.plan(shape, full, off, dest.dtype, seed), dest)


def _fixed(name: str, keras_cls, scale: float, mode: str, distribution: str, doc: str):
    """A named variant of ``VarianceScaling``: a subclass of Keras' own class of the same name."""

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed, input_axes, output_axes)

    cls = type(
        name,
        (VarianceScaling, keras_cls),
        {
            "__init__": __init__,
            "get_config": keras_cls.get_config,  # Keras' config: seed and the axes
            "__doc__": doc,
            "__module__": __name__,
            "__qualname__": name,
        },
    )
    return _register(cls)


GlorotNormal = _fixed(
    "GlorotNormal",
    _K.GlorotNormal,
    1.0,
    "fan_avg",
    "truncated_normal",
    "Glorot normal (``keras.initializers.GlorotNormal``): truncated normal, ``sqrt(2 / (fan_in + fan_out))``.",
)
GlorotUniform = _fixed(
    "GlorotUniform",
    _K.GlorotUniform,
    1.0,
    "fan_avg",
    "uniform",
    "Glorot uniform (``keras.initializers.GlorotUniform``): ``limit = sqrt(6 / (fan_in + fan_out))``.",
)
HeNormal = _fixed(
    "HeNormal",
    _K.HeNormal,
    2.0,
    "fan_in",
    "truncated_normal",
    "He normal (``keras.initializers.HeNormal``): truncated normal, ``sqrt(2 / fan_in)``.",
)
HeUniform = _fixed(
    "HeUniform",
    _K.HeUniform,
    2.0,
    "fan_in",
    "uniform",
    "He uniform (``keras.initializers.HeUniform``): ``limit = sqrt(6 / fan_in)``.",
)
LecunNormal = _fixed(
    "LecunNormal",
    _K.LecunNormal,
    1.0,
    "fan_in",
    "truncated_normal",
    "LeCun normal (``keras.initializers.LecunNormal``): truncated normal, ``sqrt(1 / fan_in)``.",
)
LecunUniform = _fixed(
    "LecunUniform",
    _K.LecunUniform,
    1.0,
    "fan_in",
    "uniform",
    "LeCun uniform (``keras.initializers.LecunUniform``): ``limit = sqrt(3 / fan_in)``.",
)


@_register
class Orthogonal(_Seeded, _K.Orthogonal):
    """A (semi-)orthogonal matrix (``keras.initializers.Orthogonal``), as ``arrayinit.Orthogonal``.

    Examples
    --------
    >>> import numpy as np
    >>> from arrayinit.keras import Orthogonal
    >>> q = Orthogonal(seed=0)((8, 8), "float64")
    >>> bool(np.allclose(q.T @ q, np.eye(8)))
    True
    """

    def __init__(self, gain=1.0, seed=None):
        _I.Orthogonal(gain, seed=0)
        self.gain = gain
        self._set_seed(seed)

    def __call__(self, shape, dtype=None):
        return _random_values(_I.Orthogonal(self.gain, seed=self._draw_seed()), shape, dtype)


# --- the wrapper, registry -------------------------------------------------------------------

#: arrayinit class -> its Keras-native class here (a config-for-config match)
_NATIVE: dict[type, type] = {
    _I.Zeros: Zeros,
    _I.Ones: Ones,
    _I.Constant: Constant,
    _I.Identity: Identity,
    _CoreSTFT: STFT,
    _I.RandomNormal: RandomNormal,
    _I.TruncatedNormal: TruncatedNormal,
    _I.RandomUniform: RandomUniform,
    _I.VarianceScaling: VarianceScaling,
    _I.GlorotNormal: GlorotNormal,
    _I.GlorotUniform: GlorotUniform,
    _I.HeNormal: HeNormal,
    _I.HeUniform: HeUniform,
    _I.LecunNormal: LecunNormal,
    _I.LecunUniform: LecunUniform,
    _I.Orthogonal: Orthogonal,
}


def _native(init):
    """The Keras-native instance for an arrayinit initializer, or None (other classes, JAX-style axes)."""
    cls = _NATIVE.get(type(init))
    if cls is None:
        return None
    config = init.get_config()
    if isinstance(init, _I.VarianceScaling) and set(config) - {
        "scale",
        "mode",
        "distribution",
        "seed",
        "input_axes",
        "output_axes",
    }:
        return None  # in_axis/out_axis/batch_axis: no Keras counterpart
    return cls.from_config(config)


@_register
class KerasInitializer(_K.Initializer):
    """A Keras initializer that draws from any arrayinit initializer.

    Parameters
    ----------
    initializer : arrayinit.Initializer, str or dict
        An arrayinit initializer, a registered name (``"he_normal"``) or its
        serialized dict.

    Returns
    -------
    keras.initializers.Initializer
        For an initializer with a Keras counterpart (the Keras catalogue, with
        Keras' arguments), an instance of the Keras-native class of this
        module (``KerasInitializer("lecun_normal")`` is a
        ``keras.initializers.LecunNormal``, so ``EinsumDense`` gives it its
        axes); otherwise this wrapper.

    Notes
    -----
    ``get_config`` stores ``arrayinit.serialize(initializer)``, so models saved
    with it reload with the same (seeded) initializer. Keras asks for the
    ``dtype`` of each variable; bfloat16 and float16 are generated directly.
    """

    def __new__(cls, initializer=None):
        if cls is KerasInitializer and initializer is not None:
            if type(initializer) in _NATIVE.values():
                return initializer  # already a Keras-native class of this module
            if isinstance(initializer, dict):
                initializer = _ai_deserialize(initializer)
            native = _native(_ai_get(initializer))
            if native is not None:
                return native  # not a KerasInitializer: Python does not call __init__ again
        return super().__new__(cls)

    def __init__(self, initializer):
        if isinstance(initializer, dict):
            initializer = _ai_deserialize(initializer)
        self.initializer = _ai_get(initializer)

    def __call__(self, shape, dtype=None):
        dtype = _dtype(dtype)
        shape = _shape(shape)
        if not keras.backend.is_float_dtype(dtype) and isinstance(self.initializer, (_I.Zeros, _I.Ones, _I.Constant)):
            value = getattr(self.initializer, "value", getattr(self.initializer, "_value", None))
            return keras.ops.cast(np.broadcast_to(np.asarray(value), shape), dtype)
        return self.initializer(shape, dtype)

    def get_config(self):
        return {"initializer": _ai_serialize(self.initializer)}

    def __repr__(self) -> str:
        return f"KerasInitializer({self.initializer!r})"


def wrap(initializer):
    """``KerasInitializer(initializer)``: for ``kernel_initializer=wrap(ai.HeNormal(seed=0))``."""
    return KerasInitializer(initializer)


_ALL = [
    Constant,
    Identity,
    Ones,
    STFT,
    Zeros,
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    LecunNormal,
    LecunUniform,
    Orthogonal,
    RandomNormal,
    RandomUniform,
    TruncatedNormal,
    VarianceScaling,
]
#: Keras' names: class names, their snake_case, and Keras' aliases
_OBJECTS: dict[str, type] = {c.__name__: c for c in _ALL}
_OBJECTS.update({_snake(c.__name__): c for c in _ALL})
_OBJECTS.update(
    {
        "IdentityInitializer": Identity,
        "OrthogonalInitializer": Orthogonal,
        "STFTInitializer": STFT,
        "normal": RandomNormal,
        "uniform": RandomUniform,
        "one": Ones,
        "zero": Zeros,
        "KerasInitializer": KerasInitializer,
    }
)


def serialize(initializer) -> dict[str, Any]:
    """The Keras config dict of ``initializer`` (``keras.initializers.serialize``)."""
    return keras.saving.serialize_keras_object(initializer)


def deserialize(config, custom_objects=None):
    """A Keras initializer from its config; Keras' names resolve to the arrayinit classes."""
    return keras.saving.deserialize_keras_object(config, module_objects=_OBJECTS, custom_objects=custom_objects)


def get(identifier):
    """A Keras initializer from a name, a config dict, a class, an instance, a callable or an array.

    As ``keras.initializers.get``, with the names resolving to this module's
    classes. An arrayinit initializer goes through ``KerasInitializer``. An
    array (numpy or a backend tensor) gives an initializer that returns it,
    for that exact shape.

    Examples
    --------
    >>> from arrayinit import keras as aik
    >>> type(aik.get("he_normal")).__name__, aik.get(None)
    ('HeNormal', None)
    """
    if identifier is None:
        return None
    if isinstance(identifier, _I.Initializer):
        return KerasInitializer(identifier)
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = deserialize({"class_name": identifier, "config": {}})
    elif keras.ops.is_tensor(identifier) or isinstance(identifier, (np.ndarray, np.generic)):
        return _array_initializer(identifier)
    else:
        obj = identifier
    if isinstance(obj, type):
        obj = obj()
    if callable(obj):
        return obj
    raise ValueError(f"Could not interpret initializer identifier: {identifier!r}")


def _array_initializer(values):
    expected = tuple(int(d) for d in values.shape)

    def initialize(shape, dtype=None):
        if _shape(shape) != expected:
            raise ValueError(
                f"Expected `shape` to be {expected} for an array given as initializer. Received: shape={shape}"
            )
        return keras.ops.cast(values, _dtype(dtype))

    return initialize
