"""jax: arrays placed as jax places them; GPU devices generated on the GPU through cupy and DLPack.

On the CPU the storage is handed to ``jax.device_put`` (zero-copy: the buffer
is 64-byte aligned); without ``device=`` the array is uncommitted on jax's
default device, where ``jnp.asarray`` would put it. For a CUDA device, the
CUDA target fills a cupy buffer (cupy comes with the ``cuda`` extras) that
jax takes over by DLPack, inside that device's cupy context (so the DLPack
export orders jax's stream after the stream the kernel ran on); bfloat16, which
cupy lacks, is exported as its ``uint16`` bits with the DLPack type changed to
bfloat16: no copy, no XLA program. Without cupy, values are generated on the
host and transferred. jax arrays are immutable: they cannot be filled in place.

The cupy buffer is cupy's memory (its pool), not XLA's: with jax's default
preallocation of 75% of the GPU, large results may run out of the rest
(docs/guides/devices.md: ``XLA_PYTHON_CLIENT_PREALLOCATE=false``).
"""

from __future__ import annotations

import ctypes
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
            try:
                buf = cp.empty(shape, dtype=_dtypes.storage_dtype(name))
            except cp.cuda.memory.OutOfMemoryError as e:
                raise MemoryError(
                    f"device 'cuda:{ordinal}' is out of memory for a {name} array of shape {tuple(shape)}: the "
                    "values are generated in cupy's memory, outside the part jax preallocates (75% of the GPU by "
                    "default); set XLA_PYTHON_CLIENT_PREALLOCATE=false or a lower XLA_PYTHON_CLIENT_MEM_FRACTION "
                    f"before jax starts ({type(e).__name__}: {e})"
                ) from e
            stream = cp.cuda.get_current_stream().ptr

        def result():
            jax, jnp = sys.modules["jax"], sys.modules["jax.numpy"]
            # DLPack hands the buffer over without a copy; exported inside the buffer's device, where cupy's
            # current stream is the one the kernel was queued on, so jax's reads wait for the kernel
            with cp.cuda.Device(ordinal):
                if name == "bfloat16":  # cupy has no bfloat16: its bits, typed bfloat16 in the DLPack tensor
                    arr = jnp.from_dlpack(Bfloat16DLPack(buf))
                else:
                    arr = jnp.from_dlpack(buf.view(cp.float16) if name == "float16" else buf)
            return jax.device_put(arr, device)

        return result, CudaBuffer(_base.device_storage(buf, name), ordinal, stream)

    def check_writable(self, x: Any) -> None:
        raise TypeError(
            "jax arrays are immutable and cannot be filled in place: call the initializer with xp=jax.numpy "
            "(or like=x) to get a new array"
        )


# DLPack (dlpack.h): DLTensor is {void *data; DLDevice device; int32 ndim; DLDataType dtype; ...}, the
# data type {uint8 code; uint8 bits; uint16 lanes} at byte 20; DLManagedTensor starts with its DLTensor,
# DLManagedTensorVersioned (capsules named "dltensor_versioned") after {version, manager_ctx, deleter, flags}
_DL_DTYPE_AT = 20
_DL_VERSIONED_TENSOR_AT = 32
_DL_UINT, _DL_BFLOAT = 1, 4


def _capsule_api():
    api = ctypes.pythonapi
    api.PyCapsule_GetName.restype = ctypes.c_char_p
    api.PyCapsule_GetName.argtypes = [ctypes.py_object]
    api.PyCapsule_GetPointer.restype = ctypes.c_void_p
    api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    return api


def retype_uint16_as_bfloat16(capsule: Any) -> Any:
    """A DLPack capsule of 16-bit unsigned integers, changed in place to hold bfloat16 (the same bits).

    The capsule is new and not yet consumed (it comes from ``__dlpack__``);
    anything but a uint16 tensor is refused, so no other type is ever relabelled.
    """
    api = _capsule_api()
    name = api.PyCapsule_GetName(capsule)
    if name not in (b"dltensor", b"dltensor_versioned"):
        raise TypeError(f"not an unconsumed DLPack capsule (its name is {name!r})")
    managed = api.PyCapsule_GetPointer(capsule, name)
    tensor = managed + (_DL_VERSIONED_TENSOR_AT if name == b"dltensor_versioned" else 0)
    dtype = (ctypes.c_uint8 * 4).from_address(tensor + _DL_DTYPE_AT)
    if (dtype[0], dtype[1], dtype[2] | dtype[3] << 8) != (_DL_UINT, 16, 1):
        raise TypeError(f"expected a uint16 DLPack tensor, got type code {dtype[0]}, {dtype[1]} bits")
    dtype[0] = _DL_BFLOAT
    return capsule


class Bfloat16DLPack:
    """A ``uint16`` array exported by DLPack as bfloat16 (``jnp.from_dlpack`` takes it without a copy).

    Stream and device arguments are passed to the array's own ``__dlpack__``,
    which orders the consumer's stream after the producer's.
    """

    def __init__(self, bits: Any) -> None:
        self._bits = bits

    def __dlpack__(self, **kwargs: Any) -> Any:
        return retype_uint16_as_bfloat16(self._bits.__dlpack__(**kwargs))

    def __dlpack_device__(self) -> Any:
        return self._bits.__dlpack_device__()
