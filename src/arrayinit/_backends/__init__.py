"""Backend adapters: one per array library, one protocol (``Backend``), one registry.

The frontend asks ``for_namespace(xp)`` / ``for_array(x)`` which adapter owns
an object. Adapters registered with ``register_backend`` are asked first (the
latest first), then the built-in ones (numpy, torch, jax, cupy, dask,
array_api_strict), then the generic Array API adapter.
"""

from __future__ import annotations

from typing import Any

from arrayinit._backends._base import Backend, CudaBuffer
from arrayinit._backends.array_api_strict import ArrayApiStrictBackend
from arrayinit._backends.cupy import CupyBackend
from arrayinit._backends.dask import DaskBackend
from arrayinit._backends.generic import GenericArrayAPIBackend
from arrayinit._backends.jax import JaxBackend
from arrayinit._backends.numpy import NumpyBackend
from arrayinit._backends.torch import TorchBackend
from arrayinit._errors import received

__all__ = ["Backend", "CudaBuffer", "for_array", "for_namespace", "register_backend", "registered_backends"]

NUMPY = NumpyBackend()
GENERIC = GenericArrayAPIBackend()
BUILTIN: tuple[Backend, ...] = (
    NUMPY,
    TorchBackend(),
    JaxBackend(),
    CupyBackend(),
    DaskBackend(),
    ArrayApiStrictBackend(),
)

_user: list[Backend] = []  # registered by users, latest first
_order: tuple[Backend, ...] = (*BUILTIN, GENERIC)

_REQUIRED = ("owns_namespace", "owns_array", "from_host")


def _refresh() -> None:
    global _order
    _order = (*_user, *BUILTIN, GENERIC)


def register_backend(backend: Backend) -> Backend:
    """Plug an array library or framework into arrayinit: ``xp=``, ``like=``, ``device=``, ``out=`` and ``fill_``.

    Parameters
    ----------
    backend : Backend
        An instance of a subclass of ``arrayinit.Backend`` with a unique
        ``name`` that implements at least ``owns_namespace``, ``owns_array``
        and ``from_host`` (and ``write`` or ``host_view`` for ``fill_``).

    Returns
    -------
    Backend
        ``backend``, so the call can wrap a constructor.

    Raises
    ------
    TypeError
        ``backend`` is not an instance of a ``Backend`` subclass, or lacks a required method.
    ValueError
        Its name is empty or already registered (built-in names included).

    Examples
    --------
    See the guide "Custom frameworks" for a complete example.
    """
    if isinstance(backend, type):
        raise TypeError(
            f"register_backend takes a backend instance, not a class: call it with {backend.__name__}(). "
            f"{received('backend', backend)}"
        )
    if not isinstance(backend, Backend):
        raise TypeError(
            f"A backend must be an instance of a subclass of arrayinit.Backend. {received('backend', backend)}"
        )
    name = getattr(backend, "name", "")
    if not isinstance(name, str) or not name:
        raise ValueError(f"A backend needs a non-empty string `name`. Received: name={name!r}")
    missing = [m for m in _REQUIRED if getattr(type(backend), m) is getattr(Backend, m)]
    if missing:
        raise TypeError(f"Backend {name!r} must implement {', '.join(missing)} (see arrayinit.Backend).")
    taken = {b.name for b in (*_user, *BUILTIN, GENERIC)}
    if name in taken:
        raise ValueError(f"A backend named {name!r} is already registered; choose another name.")
    _user.insert(0, backend)
    _refresh()
    return backend


def unregister_backend(name: str) -> None:
    """Remove a backend registered with ``register_backend`` (built-in ones stay)."""
    for b in _user:
        if b.name == name:
            _user.remove(b)
            _refresh()
            return
    raise ValueError(f"No backend named {name!r} was registered with register_backend.")


def registered_backends() -> tuple[str, ...]:
    """The names of the backends, in the order they are asked."""
    return tuple(b.name for b in _order)


def for_namespace(xp: Any) -> Backend | None:
    """The adapter that owns the namespace ``xp``, or None."""
    for b in _order:
        if b.owns_namespace(xp):
            return b
    return None


def for_array(x: Any) -> Backend | None:
    """The adapter that owns the array ``x``, or None."""
    for b in _order:
        if b.owns_array(x):
            return b
    return None
