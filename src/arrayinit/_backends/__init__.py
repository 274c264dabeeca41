"""Backend adapters: one per array library, one protocol (``Backend``), one registry.

The frontend asks ``for_namespace(xp)`` / ``for_array(x)`` which adapter owns
an object. Adapters registered with ``register_backend`` are asked first (the
latest first), then the built-in ones (numpy, torch, jax, cupy, dask,
array_api_strict), then the generic Array API adapter.

``adapter_error`` is the one rule for exceptions raised inside an adapter's
method: those of code arrayinit does not own (a plug-in, or a library under
the generic adapter) are re-raised naming the backend and the method.
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
from arrayinit._errors import DeviceUnavailableError, received

__all__ = [
    "Backend",
    "CudaBuffer",
    "adapter_error",
    "for_array",
    "for_namespace",
    "raise_named",
    "register_backend",
    "registered_backends",
]

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
    return _owner("owns_namespace", xp)


def for_array(x: Any) -> Backend | None:
    """The adapter that owns the array ``x``, or None."""
    return _owner("owns_array", x)


def _owner(method: str, obj: Any) -> Backend | None:
    """The first adapter whose ``method`` (``owns_namespace`` or ``owns_array``) is true of ``obj``, or None."""
    for b in _order:
        try:
            if getattr(b, method)(obj):
                return b
        except Exception as e:
            raise_named(b, method, e)
            raise
    return None


def _raised_by_arrayinit(e: BaseException) -> bool:
    """Whether the innermost frame of ``e``'s traceback (where it was raised) is arrayinit's code."""
    tb = e.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    module = tb.tb_frame.f_globals.get("__name__")
    return isinstance(module, str) and (module == "arrayinit" or module.startswith("arrayinit."))


def adapter_error(backend: Backend, method: str, e: Exception) -> Exception | None:
    """The error to raise (chained from ``e``) for ``e`` raised in ``backend.<method>``, or None to let ``e`` through.

    ``e`` goes through as it is when it is arrayinit's own: a
    ``DeviceUnavailableError`` (the protocol's way to refuse a device), any
    exception of a built-in library adapter (numpy, torch, jax, cupy, dask,
    array_api_strict: their deliberate errors name the library, and a
    library's own errors, out of memory included, keep their type for the
    caller), or a TypeError, ValueError or RuntimeError raised by arrayinit's
    code (the frontend's checks, ``Backend``'s defaults, the generic adapter's
    messages). A ``MemoryError`` always goes through. Anything else, which is
    what a plug-in's code or a library under the generic adapter raised, is
    named: ``TypeError`` and ``ValueError`` keep their kind, others become a
    ``RuntimeError``.
    """
    if isinstance(e, (DeviceUnavailableError, MemoryError)) or backend in BUILTIN:
        return None
    if isinstance(e, (TypeError, ValueError, RuntimeError)) and _raised_by_arrayinit(e):
        return None
    try:
        lines = str(e).strip().splitlines()
    except Exception:  # a __str__ that fails must not hide the error
        lines = []
    detail = f"{type(e).__name__}: {lines[0]}" if lines else type(e).__name__
    kind = TypeError if isinstance(e, TypeError) else ValueError if isinstance(e, ValueError) else RuntimeError
    return kind(f"Backend {backend.name!r} failed in {method}: {detail}")


def raise_named(backend: Backend, method: str, e: Exception) -> None:
    """Raise ``adapter_error(backend, method, e)`` from ``e`` when there is one; return otherwise (re-raise ``e``)."""
    err = adapter_error(backend, method, e)
    if err is not None:
        raise err from e
