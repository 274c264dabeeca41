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

import inspect
import random as _pyrandom
from typing import Any

import keras
import numpy as np
from keras import initializers as _keras_initializers

from arrayinit import _initializers as _core
from arrayinit._catalogue import preset, rows
from arrayinit._errors import check_seed, received
from arrayinit._registry import deserialize as _ai_deserialize
from arrayinit._registry import get as _ai_get
from arrayinit._registry import serialize as _ai_serialize

__all__ = [
    "STFT",
    "Constant",
    "GlorotNormal",
    "GlorotUniform",
    "HeNormal",
    "HeUniform",
    "Identity",
    "Initializer",
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
    return _core.compute_fans(_shape(shape), input_axes=input_axes, output_axes=output_axes)  # type: ignore[return-value]


# --- the Keras-native classes: one per row of the catalogue -----------------------------------


#: the Keras-native class of each row of the Keras 3 catalogue (filled as the classes are defined)
_CLASSES: dict[str, type] = {}


class _Native:
    """A Keras-native class that draws from the core arrayinit class of its catalogue row.

    ``class RandomNormal(_Seeded, keras.initializers.RandomNormal, row="RandomNormal")``
    takes the arguments of the core class (Keras 3's, checked by it), keeps
    them as Keras' attributes (so Keras' own ``get_config`` writes Keras'
    config), and draws through one core initializer of those arguments. That
    core initializer, and the plans it keeps, lives until an attribute is
    assigned: attributes set after construction count, and are checked as the
    constructor checks them.
    """

    _core_class: type[_core.Initializer]
    _signature: inspect.Signature

    def __init_subclass__(cls, row: str | None = None, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if row is None:
            return
        _CLASSES[row] = cls
        cls._core_class = _core.CORE[row]
        params = [
            p
            for name, p in inspect.signature(cls._core_class.__init__).parameters.items()
            if name != "self" and p.kind is p.POSITIONAL_OR_KEYWORD  # Keras 3's arguments (not JAX's axes)
        ]
        cls._signature = inspect.Signature(params)

        def __init__(self, *args, **kwargs):
            self._configure(cls._signature.bind(*args, **kwargs))

        __init__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD), *params]
        )
        __init__.__qualname__ = f"{cls.__qualname__}.__init__"
        __init__.__doc__ = f"The arguments of ``arrayinit.{row}`` (Keras 3's), checked as it checks them."
        cls.__init__ = __init__  # type: ignore[method-assign]

    def _configure(self, bound: inspect.BoundArguments) -> None:
        self.__dict__["_arrayinit_core"] = None  # the core initializer's slot (``__setattr__``)
        bound.apply_defaults()
        args = dict(bound.arguments)
        seed = args.pop("seed", None)
        core = self._core_class(**args, **self._checking_seed())  # the core checks the arguments
        for name, value in args.items():
            setattr(self, name, self._attribute(core, name, value))
        self._set_seed(seed)

    def _checking_seed(self) -> dict:
        return {}

    def _attribute(self, core: _core.Initializer, name: str, value):
        """The Keras attribute of an argument: the value as given."""
        return value

    def _set_seed(self, seed) -> None:
        pass

    def __setattr__(self, name: str, value) -> None:
        # a changed attribute: a new core initializer on the next call. The slot is always there (None until a
        # call), so an instance has the same attributes before and after its first call, as Keras' own have
        self.__dict__["_arrayinit_core"] = None
        object.__setattr__(self, name, value)

    def _core(self) -> _core.Initializer:
        """The core initializer of the attributes as they are (kept between calls)."""
        core = self.__dict__.get("_arrayinit_core")
        if core is None:
            args = {name: getattr(self, name) for name in self._signature.parameters if name != "seed"}
            core = self._core_class(**args, **self._core_seed())
            self.__dict__["_arrayinit_core"] = core
        return core

    def _core_seed(self) -> dict:
        return {}

    def __call__(self, shape, dtype=None):
        return self._core()(_shape(shape), _dtype(dtype))


class _Seeded(_Native):
    """The Keras seed protocol on top of arrayinit seeds (module docstring, "Seeds")."""

    _init_seed: Any
    seed: Any

    def _checking_seed(self) -> dict:
        return {"seed": 0}

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

    def _core_seed(self) -> dict:
        return {"seed": 0 if isinstance(self.seed, keras.random.SeedGenerator) else self.seed}

    def __call__(self, shape, dtype=None):
        core = self._core()
        if isinstance(self.seed, keras.random.SeedGenerator):
            # each call takes the generator's next state (s0, s1): the arrayinit seed s0 + 2**32 s1
            state = np.asarray(keras.ops.convert_to_numpy(self.seed.next())).astype(np.int64).reshape(-1)
            core = _core.reseeded(core, int(state[0]) % 2**32 + (int(state[1]) % 2**32) * 2**32)
        return core(_shape(shape), _dtype(dtype))


# --- constants -------------------------------------------------------------------------------


def _constant_values(core: _core.Initializer, value, shape, dtype):
    """``core``'s values, or for integer and bool variables (counters, masks) the value cast as Keras' own do."""
    dtype = _dtype(dtype)
    shape = _shape(shape)
    if keras.backend.is_float_dtype(dtype):
        return core(shape, dtype)
    return keras.ops.cast(np.broadcast_to(np.asarray(value), shape), dtype)


class _ConstantValues(_Native):
    """Constants: integer and bool dtypes too."""

    _value: Any = 0

    def __call__(self, shape, dtype=None):
        return _constant_values(self._core(), getattr(self, "value", self._value), shape, dtype)


@_register
class Zeros(_ConstantValues, _keras_initializers.Zeros, row="Zeros"):
    """All zeros (``keras.initializers.Zeros``); integer and bool dtypes too.

    Examples
    --------
    >>> from arrayinit.keras import Zeros
    >>> Zeros()((2,)).tolist()
    [0.0, 0.0]
    """

    _value = 0


@_register
class Ones(_ConstantValues, _keras_initializers.Ones, row="Ones"):
    """All ones (``keras.initializers.Ones``); integer and bool dtypes too.

    Examples
    --------
    >>> from arrayinit.keras import Ones
    >>> Ones()((2,)).tolist()
    [1.0, 1.0]
    """

    _value = 1


@_register
class Constant(_ConstantValues, _keras_initializers.Constant, row="Constant"):
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

    @classmethod
    def from_config(cls, config):
        """As Keras' (a serialized array value is read back), with ``value`` optional (``get("constant")``)."""
        if "value" not in config:
            return cls(**config)
        return cls(**{**config, "value": keras.saving.deserialize_keras_object(config["value"])})


@_register
class Identity(_Native, _keras_initializers.Identity, row="Identity"):
    """``gain`` times the identity matrix (``keras.initializers.Identity``; 2-D only).

    Examples
    --------
    >>> from arrayinit.keras import Identity
    >>> Identity(gain=2.0)((2, 2)).tolist()
    [[2.0, 0.0], [0.0, 2.0]]
    """

    def __call__(self, shape, dtype=None):
        dtype = _dtype(dtype)
        if keras.backend.is_float_dtype(dtype):
            return self._core()(_shape(shape), dtype)
        return keras.ops.cast(self._core()(_shape(shape), "float64"), dtype)


@_register
class STFT(_Native, _keras_initializers.STFT, row="STFT"):
    """Kernel of a short-time Fourier transform as a convolution (``keras.initializers.STFT``).

    Arguments and values as ``arrayinit.STFT`` (side, window, scaling,
    periodic); the config is Keras'.

    Examples
    --------
    >>> from arrayinit.keras import STFT
    >>> STFT("real", None)((4, 1, 3)).shape
    (4, 1, 3)
    """


# --- random ----------------------------------------------------------------------------------


@_register
class RandomNormal(_Seeded, _keras_initializers.RandomNormal, row="RandomNormal"):
    """Normal values (``keras.initializers.RandomNormal``): ``mean`` 0.0, ``stddev`` 0.05 by default.

    Examples
    --------
    >>> from arrayinit.keras import RandomNormal
    >>> round(float(RandomNormal(stddev=1.0, seed=0)((1000,)).std()), 1)
    1.0
    """


@_register
class TruncatedNormal(_Seeded, _keras_initializers.TruncatedNormal, row="TruncatedNormal"):
    """Normal values cut at two standard deviations (``keras.initializers.TruncatedNormal``).

    Examples
    --------
    >>> from arrayinit.keras import TruncatedNormal
    >>> bool(abs(TruncatedNormal(stddev=1.0, seed=0)((1000,))).max() <= 2.0)
    True
    """


@_register
class RandomUniform(_Seeded, _keras_initializers.RandomUniform, row="RandomUniform"):
    """Uniform values in ``[minval, maxval)`` (``keras.initializers.RandomUniform``).

    Examples
    --------
    >>> from arrayinit.keras import RandomUniform
    >>> w = RandomUniform(-1.0, 1.0, seed=0)((1000,))
    >>> bool(w.min() >= -1.0 and w.max() < 1.0)
    True
    """


@_register
class VarianceScaling(_Seeded, _keras_initializers.VarianceScaling, row="VarianceScaling"):
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
    >>> w = VarianceScaling(3.0, "fan_in", "untruncated_normal", seed=0)((400, 100))
    >>> round(float(w.std()), 3), round((3 / 400) ** 0.5, 3)
    (0.087, 0.087)
    """

    def _attribute(self, core, name, value):
        # as the core class keeps them: scale a float, the distribution by its Keras 3 name, axes as lists
        return getattr(core, name)


def _preset(name: str) -> type:
    """The Keras-native class of a named variance scaling: a subclass of Keras' class of that name."""
    keras_cls = getattr(_keras_initializers, name)
    scale, mode, distribution = preset(name)
    doc = (
        f"{name} (``keras.initializers.{name}``): ``arrayinit.{name}``'s values, the variance scaling of scale "
        f"{scale:g}, mode ``{mode}`` and the {distribution.replace('_', ' ')} distribution."
    )
    chosen = (float(scale), mode, distribution)

    def _configure(self, bound):
        # Keras' instances of the presets carry their variance scaling's attributes, which a user may assign
        self.scale, self.mode, self.distribution = chosen
        VarianceScaling._configure(self, bound)

    def core_of_attributes(self):
        core = self.__dict__.get("_arrayinit_core")
        if core is None:
            args = {n: getattr(self, n) for n in self._signature.parameters if n != "seed"}
            assigned = (self.scale, self.mode, self.distribution)
            if assigned == chosen:
                core = self._core_class(**args, **self._core_seed())
            else:  # assigned after construction: the variance scaling they describe now, as Keras reads them
                core = _core.VarianceScaling(*assigned, **args, **self._core_seed())
            self.__dict__["_arrayinit_core"] = core
        return core

    namespace = {
        "get_config": keras_cls.get_config,
        "_configure": _configure,
        "_core": core_of_attributes,
        "__doc__": doc,
        "__module__": __name__,
        "__qualname__": name,
    }
    cls = type(name, (VarianceScaling, keras_cls), namespace, row=name)  # Keras' config: seed and the axes
    return _register(cls)


GlorotNormal = _preset("GlorotNormal")
GlorotUniform = _preset("GlorotUniform")
HeNormal = _preset("HeNormal")
HeUniform = _preset("HeUniform")
LecunNormal = _preset("LecunNormal")
LecunUniform = _preset("LecunUniform")


@_register
class Orthogonal(_Seeded, _keras_initializers.Orthogonal, row="Orthogonal"):
    """A (semi-)orthogonal matrix (``keras.initializers.Orthogonal``), as ``arrayinit.Orthogonal``.

    Examples
    --------
    >>> import numpy as np
    >>> from arrayinit.keras import Orthogonal
    >>> q = Orthogonal(seed=0)((8, 8), "float64")
    >>> bool(np.allclose(q.T @ q, np.eye(8)))
    True
    """


# --- the wrapper, registry -------------------------------------------------------------------

#: core class -> its Keras-native class here (a config-for-config match)
_NATIVE: dict[type, type] = {_core.CORE[name]: cls for name, cls in _CLASSES.items()}


def _native(init):
    """The Keras-native instance for an arrayinit initializer, or None (other classes, JAX-style axes)."""
    cls = _NATIVE.get(type(init))
    if cls is None:
        return None
    config = init.get_config()
    if set(config) - set(cls._signature.parameters):
        return None  # in_axis/out_axis/batch_axis: no Keras counterpart
    return cls.from_config(config)


@_register
class KerasInitializer(_keras_initializers.Initializer):
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
        init = self.initializer
        if isinstance(init, (_core.Zeros, _core.Ones, _core.Constant)):  # integer and bool dtypes too
            return _constant_values(init, getattr(init, "value", init._value), shape, dtype)
        return init(_shape(shape), _dtype(dtype))

    def get_config(self):
        return {"initializer": _ai_serialize(self.initializer)}

    def __repr__(self) -> str:
        return f"KerasInitializer({self.initializer!r})"


def wrap(initializer):
    """``KerasInitializer(initializer)``: for ``kernel_initializer=wrap(ai.HeNormal(seed=0))``."""
    return KerasInitializer(initializer)


#: Keras' names: class names, their snake_case and Keras' aliases (the catalogue's), and the wrapper
_OBJECTS: dict[str, type] = {name: _CLASSES[row.name] for row in rows("keras") for name in row.names}
_OBJECTS["KerasInitializer"] = KerasInitializer

#: Keras' base class, under its name in ``keras.initializers``
Initializer = _keras_initializers.Initializer


def __getattr__(name: str):
    """Keras' other names of the classes (``he_normal``, ``OrthogonalInitializer``, ...), as
    ``keras.initializers`` has them."""
    try:
        return _OBJECTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_OBJECTS))


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
    if isinstance(identifier, _core.Initializer):
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
