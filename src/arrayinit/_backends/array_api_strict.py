"""array_api_strict: the reference implementation of the standard (numpy underneath, no 16-bit floats)."""

from __future__ import annotations

import sys
from typing import Any

import array_api_compat as aac
import numpy as np

from arrayinit import _dtypes
from arrayinit._backends import _base
from arrayinit._backends._base import Backend
from arrayinit._errors import DeviceUnavailableError


class ArrayApiStrictBackend(Backend):
    name = "array_api_strict"

    def owns_namespace(self, xp: Any) -> bool:
        return _base.is_namespace(aac.is_array_api_strict_namespace, xp)

    def owns_array(self, x: Any) -> bool:
        return (type(x).__module__ or "").startswith("array_api_strict")

    def namespace_of(self, x: Any) -> Any:
        return sys.modules["array_api_strict"]

    def device(self, xp: Any, device: Any) -> Any:
        if device is None:
            return None
        if device in xp.__array_namespace_info__().devices():
            return device
        raise DeviceUnavailableError(f"array_api_strict has no device {device!r}")

    def check_dtype(self, xp: Any, name: str) -> None:
        if name in ("bfloat16", "float16"):
            raise ValueError(f"array_api_strict has no {name} dtype. Received: dtype={name!r}")

    def from_host(self, xp: Any, storage: np.ndarray, name: str, device: Any) -> Any:
        arr = xp.asarray(storage)  # wraps the numpy buffer
        if device is not None and device != arr.device:
            arr = xp.asarray(arr, device=device)
        return arr

    def write(self, x: Any, storage: np.ndarray, name: str) -> None:
        aas = sys.modules["array_api_strict"]
        x[...] = aas.asarray(storage.view(_dtypes.numpy_dtype(name)), device=x.device)
