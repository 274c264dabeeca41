"""Any other array-API library: arrays that carry ``__array_namespace__``, namespaces that look like the standard.

Values are generated on the host and handed over through the standard:
``xp.from_dlpack`` of the host buffer (zero-copy where the library supports
DLPack on the CPU), else ``xp.asarray(buffer, dtype=..., device=...)``.
16-bit floats map to the library's own dtype objects (``xp.float16``,
``xp.bfloat16``); a dtype the library lacks is a clear error. ``fill_`` and
``out=`` write through ``x[...] = values`` where the library's arrays are
mutable, and otherwise say so. Arrays without a ``device`` attribute (mlx)
are taken to live on the library's default device.
"""

from __future__ import annotations

from typing import Any

import array_api_compat as aac
import numpy as np

from arrayinit import _dtypes
from arrayinit._backends._base import Backend
from arrayinit._errors import DeviceUnavailableError

_HANDOVER_ERRORS = (AttributeError, TypeError, ValueError, BufferError, RuntimeError, NotImplementedError)


def library_name(obj: Any) -> str:
    """The top-level package of a namespace or of an array's type, for messages."""
    name = getattr(obj, "__name__", None)
    if not isinstance(name, str) or type(obj).__name__ != "module":
        name = type(obj).__module__ or type(obj).__name__
    return name.split(".", 1)[0]


def _as_host_floats(storage: np.ndarray, name: str) -> np.ndarray:
    """The storage as a numpy array of a dtype every library reads (bfloat16 widened exactly to float32)."""
    if name == "bfloat16":
        return (storage.astype(np.uint32) << np.uint32(16)).view(np.float32)
    return storage.view(_dtypes.numpy_dtype(name))


class GenericArrayAPIBackend(Backend):
    """The fallback for libraries that follow the Python array API standard."""

    name = "array-api"

    def owns_namespace(self, xp: Any) -> bool:
        return callable(getattr(xp, "asarray", None)) and (
            hasattr(xp, "__array_namespace_info__") or hasattr(xp, "__array_api_version__")
        )

    def owns_array(self, x: Any) -> bool:
        return callable(getattr(x, "__array_namespace__", None))

    def namespace_of(self, x: Any) -> Any:
        return aac.array_namespace(x)

    def device(self, xp: Any, device: Any) -> Any:
        if device is None:
            return None
        info = getattr(xp, "__array_namespace_info__", None)
        if info is None:
            return device
        devices = list(info().devices())
        for d in devices:
            if d == device or str(d) == str(device):
                return d
        raise DeviceUnavailableError(
            f"{library_name(xp)} has no device {device!r}: its devices are {[str(d) for d in devices]}"
        )

    def device_of(self, x: Any) -> Any:
        try:
            return aac.device(x)
        except AttributeError:  # arrays without `.device` (mlx): the library's default device
            return None

    def dtype_object(self, xp: Any, name: str) -> Any:
        dt = getattr(xp, name, None)
        if dt is None:
            raise ValueError(f"{library_name(xp)} has no {name} dtype. Received: dtype={name!r}")
        return dt

    def check_dtype(self, xp: Any, name: str) -> None:
        if name != "uint32":
            self.dtype_object(xp, name)

    def dtype_name_of(self, x: Any) -> str:
        try:
            return _dtypes.dtype_name(x.dtype, "out.dtype")
        except TypeError:
            xp = self.namespace_of(x)
            for name in _dtypes.FLOAT_NAMES:
                if getattr(xp, name, None) is not None and x.dtype == getattr(xp, name):
                    return name
            raise

    def from_host(self, xp: Any, storage: np.ndarray, name: str, device: Any) -> Any:
        host = _as_host_floats(storage, name)
        target = self.dtype_object(xp, name) if name != "uint32" else getattr(xp, "uint32", None)
        arr = None
        if name != "bfloat16" and device is None:
            try:
                arr = xp.from_dlpack(host)  # zero-copy where the library takes CPU DLPack capsules
            except _HANDOVER_ERRORS:
                arr = None
            if arr is not None and target is not None and arr.dtype != target:
                arr = None
        if arr is None:
            kwargs = {} if device is None else {"device": device}
            try:
                arr = xp.asarray(host, dtype=target, **kwargs)
            except _HANDOVER_ERRORS as e:
                raise TypeError(
                    f"{library_name(xp)} could not take the generated values (neither from_dlpack nor asarray "
                    f"worked): {type(e).__name__}: {e}"
                ) from None
        return arr

    def write(self, x: Any, storage: np.ndarray, name: str) -> None:
        xp = self.namespace_of(x)
        src = self.from_host(xp, storage, name, self.device_of(x))
        try:
            x[...] = src
        except _HANDOVER_ERRORS as e:
            raise TypeError(
                f"{library_name(x)} arrays cannot be written in place ({type(e).__name__}: {e}): call the "
                f"initializer with xp= (or like=x) to get a new array instead of fill_/out="
            ) from None
