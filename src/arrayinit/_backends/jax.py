"""jax: arrays placed as jax places them; GPU devices generated on the GPU through cupy and DLPack.

On the CPU the storage is handed to ``jax.device_put`` (zero-copy: the buffer
is 64-byte aligned); without ``device=`` the array is uncommitted on jax's
default device, where ``jnp.asarray`` would put it. For a CUDA device, the
CUDA target fills a cupy buffer (cupy comes with the ``cuda`` extras) that
jax takes over by DLPack; without cupy, values are generated on the host and
transferred. jax arrays are immutable: they cannot be filled in place.
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


class JaxBackend(Backend):
    name = "jax"

    def owns_namespace(self, xp: Any) -> bool:
        # array_api_compat recognises jax.numpy; the top-level ``jax`` module is accepted too
        return _base.is_namespace(aac.is_jax_namespace, xp) or getattr(xp, "__name__", None) == "jax"

    def owns_array(self, x: Any) -> bool:
        return aac.is_jax_array(x)

    def namespace(self, xp: Any) -> Any:
        return sys.modules["jax.numpy"]

    def namespace_of(self, x: Any) -> Any:
        return sys.modules["jax.numpy"]

    def device(self, xp: Any, device: Any) -> Any:
        if device is None or not isinstance(device, str):
            return device
        jax = sys.modules["jax"]
        platform, _, idx = device.partition(":")
        try:
            devs = jax.devices(platform)
        except RuntimeError as e:
            raise DeviceUnavailableError(f"device {device!r} is not available to jax: {e}") from None
        try:
            i = int(idx) if idx else 0
        except ValueError:
            raise DeviceUnavailableError(f"jax does not know the device {device!r}") from None
        if not 0 <= i < len(devs):
            raise DeviceUnavailableError(
                f"device {device!r} is not available: jax sees {len(devs)} {platform} device(s)"
            )
        return devs[i]

    def device_of(self, x: Any) -> Any:
        devs = list(x.devices())
        return devs[0] if len(devs) == 1 else None

    def cuda_ordinal(self, xp: Any, device: Any) -> int | None:
        """The CUDA device number of a jax GPU device the CUDA target can fill through cupy, else None."""
        if device is None or getattr(device, "platform", None) != "gpu":
            return None
        if "rocm" in str(getattr(getattr(device, "client", None), "platform_version", "")).lower():
            return None
        try:
            import cupy  # noqa: F401  # the user asked for a GPU device: cupy is the way to its memory
        except ImportError:
            return None
        ordinal = getattr(device, "local_hardware_id", None)
        return device.id if ordinal is None else ordinal

    def check_dtype(self, xp: Any, name: str) -> None:
        narrow = {"float64": "float32", "complex128": "complex64"}.get(name)
        if narrow is not None and not sys.modules["jax"].config.read("jax_enable_x64"):
            raise ValueError(
                "jax is running without 64-bit types: enable them with jax.config.update('jax_enable_x64', True) "
                f"or the JAX_ENABLE_X64=1 environment variable, or ask for {narrow}. Received: dtype={name!r}"
            )

    def from_host(self, xp: Any, storage: np.ndarray, name: str, device: Any) -> Any:
        return sys.modules["jax"].device_put(storage.view(_dtypes.numpy_dtype(name)), device)

    def cuda_empty(self, xp, shape, name, device):
        import cupy as cp

        ordinal = self.cuda_ordinal(xp, device)
        with cp.cuda.Device(ordinal):
            buf = cp.empty(shape, dtype=_dtypes.storage_dtype(name))
            stream = cp.cuda.get_current_stream().ptr

        def result():
            jax, jnp = sys.modules["jax"], sys.modules["jax.numpy"]
            # DLPack hands the buffer over without a copy, ordered after cupy's stream
            arr = jnp.from_dlpack(buf.view(cp.float16) if name == "float16" else buf)
            if name == "bfloat16":  # cupy has no bfloat16: reinterpret the bits on the device
                arr = jax.lax.bitcast_convert_type(arr, jnp.bfloat16)
            return jax.device_put(arr, device)

        return result, CudaBuffer(_base.device_storage(buf, name), ordinal, stream)

    def check_writable(self, x: Any) -> None:
        raise TypeError(
            "jax arrays are immutable and cannot be filled in place: call the initializer with xp=jax.numpy "
            "(or like=x) to get a new array"
        )
