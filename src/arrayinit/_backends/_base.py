"""The backend protocol: what the frontend asks of an array library.

An adapter is a subclass of ``Backend`` with the same few methods for every
library. The frontend asks the registry which adapter owns a namespace or an
array and never branches on library names; the adapters are the only code
that knows a library's quirks, and they look at objects (``sys.modules``,
``array_api_compat``'s checks), never import a library to detect it.

The values always come from the arrayinit engine as host storage: a
C-contiguous numpy array in the *storage* dtype of the requested dtype
(``float32``/``float64``/``complex64``/``complex128`` as such,
``float16``/``bfloat16`` as ``uint16`` bit patterns). An adapter's job is to hand such storage over (``from_host``), to
write it into an existing array (``host_view``/``write``), and optionally to
give the CUDA target a device buffer to fill in place (``cuda_empty``,
``cuda_view``).

The frontend checks what an adapter hands back before it writes anything or
returns it (``arrayinit._frontend``): a ``host_view`` or a ``CudaBuffer`` must
hold exactly the values to write, writeable and C-contiguous, in the storage
dtype; ``from_host``, ``cuda_empty`` and ``lazy_array`` must give an array of
the requested shape (and dtype, where ``dtype_name_of`` can say). An exception
raised in a plug-in's code, or in a library's code under the generic adapter,
reaches the user chained under an error naming the backend and the method
(``arrayinit._backends.adapter_error``).
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

import numpy as np

from arrayinit._dtypes import COMPLEX_PARTS, dtype_name
from arrayinit._errors import DeviceUnavailableError

__all__ = ["Backend", "CudaBuffer", "device_storage"]


class CudaBuffer(NamedTuple):
    """A device buffer the CUDA target fills in place.

    ``buffer`` is a flat, C-contiguous array in the storage dtype (the float
    parts of complex values: ``device_storage``) exposing
    ``__cuda_array_interface__``; ``ordinal`` the CUDA device number; ``stream``
    the library's current ``cudaStream_t`` as an int (0: the default stream);
    ``finish`` is called after the kernel (e.g. to copy a temporary into a
    strided destination), or None.
    """

    buffer: Any
    ordinal: int
    stream: int
    finish: Any = None


def device_storage(buf: Any, name: str) -> Any:
    """A C-contiguous device array as the flat buffer the CUDA target writes for ``name``.

    Complex values are written as their float parts (``complex64``: two
    float32 values per element, real then imaginary); other dtypes as they are
    stored. ``buf`` is an array with numpy's ``reshape``/``view`` (cupy).
    """
    flat = buf.reshape(-1)
    part = COMPLEX_PARTS.get(name)
    return flat if part is None else flat.view(part)


class Backend:
    """An array library as arrayinit sees it. Subclass it to plug in a framework (``arrayinit.register_backend``).

    Required: ``name``, ``owns_namespace``, ``owns_array`` and ``from_host``.
    Everything else has a default that suits a CPU-only library; override
    ``write`` (or ``host_view``) to support ``out=`` and ``fill_``.

    Attributes
    ----------
    name : str
        Unique name of the backend (used in messages and by ``register_backend``).
    lazy : bool
        True for chunked lazy libraries (dask): the frontend calls
        ``lazy_array`` instead of generating the whole array.
    """

    name: ClassVar[str] = ""
    lazy: ClassVar[bool] = False

    # --- detection (never import a library to detect it) ---------------------------------------

    def owns_namespace(self, xp: Any) -> bool:
        """Whether ``xp`` (the value a user passes as ``xp=``) is this library."""
        raise NotImplementedError

    def owns_array(self, x: Any) -> bool:
        """Whether ``x`` is an array (tensor) of this library."""
        raise NotImplementedError

    def namespace(self, xp: Any) -> Any:
        """The namespace to create arrays with, for the ``xp`` the user passed (e.g. ``jax`` -> ``jax.numpy``)."""
        return xp

    def namespace_of(self, x: Any) -> Any:
        """The namespace of an array of this library (for ``like=``)."""
        return x.__array_namespace__()

    # --- devices --------------------------------------------------------------------------------

    def device(self, xp: Any, device: Any) -> Any:
        """The library's device object for what the user passed as ``device`` (None: the library's default).

        Raises ``arrayinit.DeviceUnavailableError`` naming the device and why.
        """
        if device is None or str(device).lower() == "cpu":
            return device
        raise DeviceUnavailableError(f"{self.name} arrays live on the CPU only; device {device!r} is not available")

    def device_of(self, x: Any) -> Any:
        """The device of an array (the default for ``like=``)."""
        return getattr(x, "device", None)

    def cuda_ordinal(self, xp: Any, device: Any) -> int | None:
        """The CUDA device number when arrays of ``device`` are generated on the GPU in place, else None."""
        return None

    # --- dtypes ---------------------------------------------------------------------------------

    def check_dtype(self, xp: Any, name: str) -> None:
        """Raise ValueError when the library has no ``name`` dtype (never downcast silently).

        ``name`` is a float dtype, ``uint32`` (the raw stream words) or a complex dtype.
        """

    def dtype_name_of(self, x: Any) -> str:
        """The canonical float dtype name of an array (``float32``, ...), as arrayinit names it.

        Raises ValueError for an array of another kind of dtype, TypeError (or
        AttributeError) when the dtype cannot be named.
        """
        return dtype_name(x.dtype, "out.dtype")

    # --- creation -------------------------------------------------------------------------------

    def from_host(self, xp: Any, storage: np.ndarray, name: str, device: Any) -> Any:
        """An array of the library holding ``storage`` (zero-copy where the library allows it).

        ``storage`` is C-contiguous, 64-byte aligned, in the storage dtype of
        ``name`` (``uint16`` bit patterns for ``float16``/``bfloat16``); nothing
        else refers to it.
        """
        raise NotImplementedError

    def cuda_empty(self, xp: Any, shape: tuple[int, ...], name: str, device: Any) -> tuple[Any, CudaBuffer]:
        """``(result, buffer)``: a callable returning the new array on ``device``, and the buffer the CUDA target fills.

        Called only when ``cuda_ordinal`` gives a device number. ``result()`` is
        called after the kernel and must return an array of ``shape``. For a
        complex ``name`` the buffer holds the result's float parts (two values
        per element, ``device_storage``).
        """
        raise NotImplementedError(f"Backend {self.name!r} gives a cuda_ordinal but does not implement cuda_empty")

    def lazy_array(self, xp: Any, make_block, shape: tuple[int, ...], offset: tuple[int, ...], name: str, chunks):
        """A lazy array whose every block is ``make_block(block_shape, block_offset)`` (lazy backends only)."""
        raise NotImplementedError(f"Backend {self.name!r} sets lazy = True but does not implement lazy_array")

    # --- writing into existing arrays -----------------------------------------------------------

    def check_writable(self, x: Any) -> None:
        """Raise a clear error when ``x`` cannot be written in place (immutable, read-only, ...)."""

    def holds_no_data(self, x: Any) -> bool:
        """Whether ``x`` has a shape but no memory (torch's meta tensors): filling it does nothing."""
        return False

    def host_view(self, x: Any, name: str) -> np.ndarray | None:
        """A numpy view of ``x``'s memory, written in place, or None (then ``cuda_view`` or ``write`` is used).

        The view must be a writeable, aligned, C-contiguous ``numpy.ndarray``
        of exactly ``x``'s number of elements, in the storage dtype of
        ``name`` (``uint16`` for ``float16``/``bfloat16``; a view of the
        16-bit float dtype itself holds the same bits and is taken too). The
        frontend refuses anything else before writing.
        """
        return None

    def cuda_view(self, x: Any, name: str) -> CudaBuffer | None:
        """A device buffer of ``x`` (or a temporary with a ``finish`` that copies it into ``x``), or None.

        ``buffer`` must expose ``__cuda_array_interface__`` describing exactly
        ``x``'s number of elements, writeable and C-contiguous, in the storage
        dtype of ``name`` (for a complex ``name``, twice as many values of its
        parts' dtype: ``device_storage``); the frontend refuses anything else
        before the launch.
        """
        return None

    def write(self, x: Any, storage: np.ndarray, name: str) -> None:
        """Copy host ``storage`` (C-contiguous, ``x``'s shape, storage dtype) into ``x``."""
        raise TypeError(
            f"{self.name} arrays cannot be filled in place by arrayinit: call the initializer with xp= (or like=) "
            "to get a new array"
        )

    def after_write(self, x: Any) -> None:
        """Called after ``x`` was written in place (e.g. to tell autograd)."""

    def __repr__(self) -> str:
        return f"<arrayinit backend {self.name!r}>"


def is_namespace(check, xp: Any) -> bool:
    """``check(xp)`` (an ``array_api_compat.is_*_namespace``), False for objects it cannot look at."""
    try:
        return bool(check(xp))
    except (TypeError, AttributeError):  # e.g. an unhashable object, or one without __name__, passed as xp
        return False
