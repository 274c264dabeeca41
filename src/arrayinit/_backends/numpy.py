"""numpy: the default library. Arrays are the engine's own storage, viewed as the requested dtype."""

from __future__ import annotations

from typing import Any

import array_api_compat as aac
import numpy as np

from arrayinit import _dtypes
from arrayinit._backends import _base
from arrayinit._backends._base import Backend
from arrayinit._errors import DeviceUnavailableError

_NAMES = {np.dtype(n): n for n in ("float16", "float32", "float64")}


class NumpyBackend(Backend):
    name = "numpy"

    def owns_namespace(self, xp: Any) -> bool:
        return xp is np or _base.is_namespace(aac.is_numpy_namespace, xp)

    def owns_array(self, x: Any) -> bool:
        return isinstance(x, np.ndarray)

    def namespace(self, xp: Any) -> Any:
        return np

    def namespace_of(self, x: Any) -> Any:
        return np

    def device(self, xp: Any, device: Any) -> Any:
        if device is None:
            return None
        if str(device).lower() == "cpu":
            return "cpu"
        raise DeviceUnavailableError(f"numpy arrays live on the CPU only; device {device!r} is not available to numpy")

    def device_of(self, x: Any) -> Any:
        return "cpu"

    def dtype_name_of(self, x: Any) -> str:
        return _NAMES.get(x.dtype) or super().dtype_name_of(x)

    def from_host(self, xp: Any, storage: np.ndarray, name: str, device: Any) -> Any:
        return storage.view(_dtypes.numpy_dtype(name))

    def check_writable(self, x: Any) -> None:
        if not x.flags.writeable:
            raise ValueError(
                "The array to fill (`out`, or the array given to `fill_`) must be writeable. "
                "Received: a read-only numpy array"
            )
        if not x.dtype.isnative:
            raise ValueError(f"The array to fill must have native byte order. Received: out.dtype={x.dtype.str!r}")

    def host_view(self, x: Any, name: str) -> np.ndarray | None:
        if not x.flags.c_contiguous:
            return None
        flat = x.reshape(-1)
        storage = _dtypes.storage_dtype(name)
        return flat if flat.dtype == storage else flat.view(storage)

    def write(self, x: Any, storage: np.ndarray, name: str) -> None:
        x[...] = storage.view(x.dtype)
