"""torch: zero-copy hand-over on the CPU (``torch.from_numpy``), in-place CUDA generation on the current stream.

CPU tensors are written through a numpy view of their memory; CUDA tensors are
filled by the CUDA target on ``torch.cuda.current_stream``. 16-bit floats travel
as ``uint16`` bit patterns (``Tensor.view(torch.uint16)``). Writes into
parameters happen behind autograd's back and are counted as the in-place
updates they are (``increment_version``), as ``torch.nn.init`` does.
"""

from __future__ import annotations

import sys
from typing import Any

import array_api_compat as aac
import numpy as np

from arrayinit import _dtypes
from arrayinit._backends import _base
from arrayinit._backends._base import Backend, CudaBuffer
from arrayinit._errors import DeviceUnavailableError


def _torch():
    return sys.modules["torch"]


def _dtype(torch, name: str):
    return {
        "float16": torch.float16,
        "bfloat16": torch.bfloat16,
        "float32": torch.float32,
        "float64": torch.float64,
        "uint32": torch.uint32,
        "complex64": torch.complex64,
        "complex128": torch.complex128,
    }[name]


_NAMES: dict[Any, str] = {}  # torch dtype -> its name, filled as dtypes are met (dtype_name reads text)


def _bits_view(t, name: str):
    """``t`` as the storage dtype of host memory (uint16 for 16-bit floats)."""
    return t.view(_torch().uint16) if name in ("bfloat16", "float16") else t


def _device_storage(t, name: str):
    """The flat buffer of ``t`` the CUDA target writes: uint16 for 16-bit floats, the float parts of complex values."""
    if name in _dtypes.COMPLEX_PARTS:
        return _torch().view_as_real(t.reshape(-1)).reshape(-1)
    return _bits_view(t, name).reshape(-1)


class TorchBackend(Backend):
    name = "torch"

    def owns_namespace(self, xp: Any) -> bool:
        return _base.is_namespace(aac.is_torch_namespace, xp)

    def owns_array(self, x: Any) -> bool:
        return aac.is_torch_array(x)

    def namespace(self, xp: Any) -> Any:
        return _torch()

    def namespace_of(self, x: Any) -> Any:
        return _torch()

    def device(self, xp: Any, device: Any) -> Any:
        if device is None:
            return None
        torch = _torch()
        try:
            dev = torch.device(device)
        except (RuntimeError, TypeError) as e:
            raise DeviceUnavailableError(f"torch does not know the device {device!r}: {e}") from None
        if dev.type == "cpu":
            return dev
        if dev.type == "cuda":
            if not torch.cuda.is_available():
                raise DeviceUnavailableError(
                    f"device {device!r} is not available: torch reports no CUDA device on this machine"
                )
            index = dev.index if dev.index is not None else torch.cuda.current_device()
            if index >= torch.cuda.device_count():
                raise DeviceUnavailableError(
                    f"device {device!r} is not available: torch sees {torch.cuda.device_count()} CUDA device(s)"
                )
            return torch.device("cuda", index)
        raise DeviceUnavailableError(
            f"device {device!r} ({dev.type}) is not supported by arrayinit: use 'cpu' or 'cuda'"
        )

    def device_of(self, x: Any) -> Any:
        return x.device

    def dtype_name_of(self, x: Any) -> str:
        name = _NAMES.get(x.dtype)
        if name is None:
            name = _NAMES[x.dtype] = super().dtype_name_of(x)  # an error for non-float dtypes: not kept
        return name

    def cuda_ordinal(self, xp: Any, device: Any) -> int | None:
        if device is not None and device.type == "cuda":
            return device.index
        return None

    def from_host(self, xp: Any, storage: np.ndarray, name: str, device: Any) -> Any:
        torch = _torch()
        t = torch.from_numpy(storage)
        if name in ("bfloat16", "float16"):
            t = t.view(_dtype(torch, name))
        if device is not None and device.type != "cpu":
            t = t.to(device)
        return t

    def cuda_empty(self, xp, shape, name, device):
        torch = _torch()
        out = torch.empty(shape, dtype=_dtype(torch, name), device=device)
        stream = torch.cuda.current_stream(device).cuda_stream
        return (lambda: out), CudaBuffer(_device_storage(out, name), device.index, stream)

    def check_writable(self, x: Any) -> None:
        torch = _torch()
        if x.layout != torch.strided:
            raise TypeError(
                f"Cannot fill a torch tensor of layout {x.layout} in place: only dense (strided) tensors can be "
                "filled. Received: out.layout=" + str(x.layout)
            )
        if any(st == 0 and sz > 1 for st, sz in zip(x.stride(), x.shape)):
            raise ValueError(
                "Cannot fill an expanded torch tensor in place: several elements share memory (a stride of 0). "
                f"Fill a contiguous tensor (x.contiguous()) instead. Received: out.stride()={tuple(x.stride())}"
            )
        if x.is_inference() and not torch.is_inference_mode_enabled():
            raise RuntimeError(
                "Cannot fill an inference tensor outside torch.inference_mode(): torch allows no in-place update "
                "of it there. Fill it inside inference_mode, or fill a clone"
            )
        if x.device.type not in ("cpu", "cuda", "meta"):
            raise DeviceUnavailableError(
                f"Cannot fill a torch tensor on device {x.device}: arrayinit generates on 'cpu' and 'cuda'"
            )

    def holds_no_data(self, x: Any) -> bool:
        return x.device.type == "meta"  # deferred initialization: torch.nn.init leaves these alone too

    def host_view(self, x: Any, name: str) -> np.ndarray | None:
        t = x.detach()
        if t.device.type == "cpu" and t.is_contiguous():
            return _bits_view(t, name).numpy().reshape(-1)
        return None

    def cuda_view(self, x: Any, name: str) -> CudaBuffer | None:
        torch = _torch()
        t = x.detach()
        if t.device.type != "cuda":
            return None
        stream = torch.cuda.current_stream(t.device).cuda_stream
        if t.is_contiguous():  # written in place
            return CudaBuffer(_device_storage(t, name), t.device.index, stream)
        tmp = torch.empty(tuple(t.shape), dtype=t.dtype, device=t.device)

        def finish():
            with torch.no_grad():
                t.copy_(tmp)  # same device: no host transfer

        return CudaBuffer(_device_storage(tmp, name), t.device.index, stream, finish)

    def write(self, x: Any, storage: np.ndarray, name: str) -> None:
        torch = _torch()
        src = torch.from_numpy(storage)
        if name in ("bfloat16", "float16"):
            src = src.view(_dtype(torch, name))
        with torch.no_grad():
            x.detach().copy_(src)

    def after_write(self, x: Any) -> None:
        # written behind autograd's back: count it as the in-place update it is, as torch.nn.init's
        # functions do, so a graph that saved the old values refuses to backpropagate
        _torch().autograd.graph.increment_version(x.detach())
