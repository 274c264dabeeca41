"""cupy: generated on its device by the CUDA target, on cupy's current stream (no bfloat16 in cupy)."""

from __future__ import annotations

import sys
from typing import Any

import array_api_compat as aac
import numpy as np

from arrayinit import _dtypes
from arrayinit._backends import _base
from arrayinit._backends._base import Backend, CudaBuffer


def _cupy():
    return sys.modules["cupy"]


class CupyBackend(Backend):
    name = "cupy"

    def owns_namespace(self, xp: Any) -> bool:
        return _base.is_namespace(aac.is_cupy_namespace, xp)

    def owns_array(self, x: Any) -> bool:
        return aac.is_cupy_array(x)

    def namespace(self, xp: Any) -> Any:
        return _cupy()

    def namespace_of(self, x: Any) -> Any:
        return _cupy()

    def device(self, xp: Any, device: Any) -> Any:
        if device is None:
            return None
        cp = _cupy()
        if isinstance(device, cp.cuda.Device):
            return device
        text = str(device)
        ordinal = text.partition(":")[2] if text.startswith("cuda") else text
        try:
            return cp.cuda.Device(int(ordinal) if ordinal else 0)
        except ValueError:
            from arrayinit._errors import DeviceUnavailableError

            raise DeviceUnavailableError(f"cupy does not know the device {device!r}: use 'cuda:N' or N") from None

    def device_of(self, x: Any) -> Any:
        return x.device

    def cuda_ordinal(self, xp: Any, device: Any) -> int | None:
        return _cupy().cuda.runtime.getDevice() if device is None else device.id

    def check_dtype(self, xp: Any, name: str) -> None:
        if name == "bfloat16":
            raise ValueError("cupy has no bfloat16 dtype: use xp=torch with device='cuda'. Received: dtype='bfloat16'")

    def from_host(self, xp: Any, storage: np.ndarray, name: str, device: Any) -> Any:
        cp = _cupy()
        with cp.cuda.Device(self.cuda_ordinal(xp, device)):
            arr = cp.asarray(storage)
        return arr.view(cp.float16) if name == "float16" else arr

    def cuda_empty(self, xp, shape, name, device):
        cp = _cupy()
        ordinal = self.cuda_ordinal(xp, device)
        with cp.cuda.Device(ordinal):
            buf = cp.empty(shape, dtype=_dtypes.storage_dtype(name))
            stream = cp.cuda.get_current_stream().ptr
        result = buf.view(cp.float16) if name == "float16" else buf
        return (lambda: result), CudaBuffer(_base.device_storage(buf, name), ordinal, stream)

    def cuda_view(self, x: Any, name: str) -> CudaBuffer | None:
        cp = _cupy()
        with x.device:
            stream = cp.cuda.get_current_stream().ptr
            if x.flags.c_contiguous:  # written in place
                flat = _base.device_storage(x.view(cp.uint16) if name == "float16" else x, name)
                return CudaBuffer(flat, x.device.id, stream)
            tmp = cp.empty(x.shape, dtype=_dtypes.storage_dtype(name))

        def finish():
            # on the output's device and its current stream, where the kernel was queued
            with x.device:
                x[...] = tmp.view(x.dtype) if name == "float16" else tmp

        return CudaBuffer(_base.device_storage(tmp, name), x.device.id, stream, finish)

    def write(self, x: Any, storage: np.ndarray, name: str) -> None:
        cp = _cupy()
        with x.device:
            src = cp.asarray(storage)
        x[...] = src.view(x.dtype) if name == "float16" else src
