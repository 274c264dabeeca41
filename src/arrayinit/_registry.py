"""Name -> initializer class registry: ``get``, ``serialize``, ``deserialize``, ``register``.

``deserialize`` resolves class names from this registry only: a config never
imports a module or evaluates anything, so untrusted configs are safe to read.
"""

from __future__ import annotations

from typing import Any

from arrayinit import _initializers as _core
from arrayinit import _stft  # noqa: F401  # defines the core class of the catalogue's STFT row
from arrayinit._catalogue import rows, snake
from arrayinit._errors import received

__all__ = ["deserialize", "get", "register", "registered_names", "serialize"]

_REGISTRY: dict[str, type[_core.Initializer]] = {}


def register(cls=None, *, name: str | None = None, aliases: tuple[str, ...] = ()):
    """Register an initializer class under its class name (or ``name``) and its snake_case name.

    Usable as a decorator. Registering a name twice is a ValueError, so two
    packages cannot silently replace each other's classes.

    Examples
    --------
    >>> import arrayinit as ai
    >>> @ai.register
    ... class MyScaledOnes(ai.Initializer):
    ...     def __init__(self, factor=1.0):
    ...         self.factor = factor
    ...     def __call__(self, shape, dtype=None, **kw):
    ...         return ai.Constant(self.factor)(shape, dtype, **kw)
    ...     def get_config(self):
    ...         return {"factor": self.factor}
    >>> ai.get("my_scaled_ones").factor
    1.0
    >>> ai.deserialize(ai.serialize(MyScaledOnes(3.0))).factor
    3.0
    """

    def add(c):
        if not (isinstance(c, type) and issubclass(c, _core.Initializer)):
            raise TypeError(f"Only subclasses of arrayinit.Initializer can be registered. Received: {c!r}")
        primary = name or c.__name__
        keys = [primary, snake(primary), *aliases]
        for k in dict.fromkeys(keys):
            if k in _REGISTRY and _REGISTRY[k] is not c:
                raise ValueError(f"An initializer is already registered as {k!r}: {_REGISTRY[k].__name__}")
        for k in keys:
            _REGISTRY[k] = c
        c._registered_name = primary
        return c

    return add if cls is None else add(cls)


# the Keras 3 catalogue: class names, their snake_case and Keras' aliases
for _row in rows("keras"):
    register(_core.CORE[_row.name], aliases=_row.aliases)


def registered_names() -> list[str]:
    """Every name ``get`` and ``deserialize`` accept."""
    return sorted(_REGISTRY)


def serialize(initializer) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}``, JSON-safe.

    Examples
    --------
    >>> import arrayinit as ai
    >>> ai.serialize(ai.HeNormal(seed=1))
    {'class_name': 'HeNormal', 'config': {'seed': 1, 'input_axes': None, 'output_axes': None}}
    """
    if not isinstance(initializer, _core.Initializer):
        raise TypeError(
            f"Argument `initializer` must be an arrayinit.Initializer. {received('initializer', initializer)}"
        )
    cls = type(initializer)
    name = getattr(cls, "_registered_name", None)
    if name is None or _REGISTRY.get(name) is not cls:
        raise ValueError(
            f"{cls.__name__} is not registered: decorate it with arrayinit.register to serialize it. "
            f"Received: initializer={initializer!r}"
        )
    return {"class_name": name, "config": initializer.get_config()}


_ALLOWED_KEYS = {"class_name", "config", "module", "registered_name"}


def deserialize(config: dict[str, Any]):
    """An initializer from ``serialize``'s output (Keras 3 dicts with ``module`` are accepted too).

    Only registered names resolve; nothing is imported or evaluated.
    """
    if not isinstance(config, dict):
        raise TypeError(f"Argument `config` must be a dict. {received('config', config)}")
    unknown = set(config) - _ALLOWED_KEYS
    if unknown or "class_name" not in config:
        raise ValueError(
            "A serialized initializer is a dict with keys 'class_name' and 'config'. "
            f"Unknown keys: {sorted(unknown)}. Received: config={config!r}"
        )
    name = config.get("registered_name") or config["class_name"]
    if not isinstance(name, str):
        raise ValueError(f"'class_name' must be a str. Received: class_name={name!r}")
    name = name.rsplit(">", 1)[-1]  # Keras 3 registered names look like "package>Name"
    cls = _REGISTRY.get(name)
    if cls is None:
        raise ValueError(
            f"Unknown initializer: {name!r}. Register custom classes with arrayinit.register. "
            f"Known names: {', '.join(registered_names())}. Received: class_name={config['class_name']!r}"
        )
    inner = config.get("config", {})
    if inner is None:
        inner = {}
    return cls.from_config(inner)


def get(identifier):
    """An initializer from a name, a serialized dict, a class, an instance, a callable or an array.

    An array (numpy, or a CPU array of another library) gives ``Constant(array)``,
    which returns that array for its own shape (and broadcasts it to others).

    Examples
    --------
    >>> import arrayinit as ai
    >>> type(ai.get("he_normal")).__name__
    'HeNormal'
    >>> ai.get({"class_name": "TruncatedNormal", "config": {"stddev": 0.02, "seed": 3}}).stddev
    0.02
    >>> import numpy as np
    >>> ai.get(np.arange(3.0))((3,)).tolist()
    [0.0, 1.0, 2.0]
    """
    if identifier is None:
        return None
    if isinstance(identifier, _core.Initializer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _REGISTRY.get(identifier)
        if cls is None:
            raise ValueError(
                f"Unknown initializer: {identifier!r}. Known names: {', '.join(registered_names())}. "
                f"{received('identifier', identifier)}"
            )
        return cls()
    if isinstance(identifier, type) and issubclass(identifier, _core.Initializer):
        return identifier()
    if hasattr(identifier, "shape") and hasattr(identifier, "dtype") and not callable(identifier):
        # an array gives its own values back (Keras' get(tensor)): a Constant of it
        return _core.Constant(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(
        f"Could not interpret initializer identifier: {identifier!r}. {received('identifier', identifier)}"
    )
