"""The only module that knows array libraries: resolves (xp, device, dtype) and hands arrays over.

Supported: numpy (default), array_api_strict, torch, jax (``jax.numpy`` or
``jax``), dask (``dask.array`` or ``dask``; lazy, one generation per block),
cupy. A library is recognised from objects the caller passes (namespaces,
arrays, dtypes) through ``sys.modules`` and ``array_api_compat``'s name checks,
so nothing here imports torch, jax, dask or cupy by itself.

CPU paths generate into numpy storage (64-byte aligned, 16-bit formats as
uint16 bit patterns) and hand the buffer over without a copy where the
library allows it: ``torch.from_numpy``, ``jax.device_put``,
``array_api_strict.asarray``. torch CUDA tensors, cupy arrays and (with cupy
installed) jax GPU arrays are generated on their device by the CUDA target;
other devices are reached by a transfer of the host buffer. The values are the
same bits on every device.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from arrayinit import _dtypes, _engine
from arrayinit._errors import DeviceUnavailableError, received
from arrayinit._plan import FillPlan

SUPPORTED = "numpy, array_api_strict, torch, jax.numpy (or jax), dask.array (or dask), cupy"


@dataclass(frozen=True)
class Target:
    lib: str  # numpy | array_api_strict | torch | jax | dask | cupy
    xp: Any
    device: Any = None


def _module_name(xp) -> str:
    name = getattr(xp, "__name__", "")
    if name.startswith("array_api_compat."):
        name = name[len("array_api_compat.") :]
    return name


def _lib_of_namespace(xp) -> str | None:
    name = _module_name(xp)
    if name == "numpy":
        return "numpy"
    if name in ("torch",):
        return "torch"
    if name in ("jax", "jax.numpy", "jax.experimental.array_api"):
        return "jax"
    if name in ("dask", "dask.array"):
        return "dask"
    if name in ("cupy",):
        return "cupy"
    if name == "array_api_strict":
        return "array_api_strict"
    return None


def lib_of_array(x) -> str | None:
    """The library of an array object, or None (checks ``sys.modules`` only)."""
    if isinstance(x, np.ndarray):
        return "numpy"
    mod = type(x).__module__ or ""
    top = mod.split(".", 1)[0]
    if top == "torch" and "torch" in sys.modules and isinstance(x, sys.modules["torch"].Tensor):
        return "torch"
    if top in ("jax", "jaxlib") and "jax" in sys.modules and isinstance(x, sys.modules["jax"].Array):
        return "jax"
    if top == "dask" and "dask.array" in sys.modules and isinstance(x, sys.modules["dask.array"].Array):
        return "dask"
    if top == "cupy" and "cupy" in sys.modules and isinstance(x, sys.modules["cupy"].ndarray):
        return "cupy"
    if top == "array_api_strict":
        return "array_api_strict"
    return None


def _namespace(lib: str):
    mods = {
        "numpy": "numpy",
        "torch": "torch",
        "jax": "jax.numpy",
        "dask": "dask.array",
        "cupy": "cupy",
        "array_api_strict": "array_api_strict",
    }
    import importlib

    return importlib.import_module(mods[lib])


NUMPY_TARGET = Target("numpy", np, None)


def resolve(xp=None, device=None, like=None) -> Target:
    """The target library and device for a call (``like`` supplies defaults for both)."""
    if xp is None and device is None and like is None:
        return NUMPY_TARGET
    if like is not None:
        lib = lib_of_array(like)
        if lib is None:
            raise TypeError(
                f"Argument `like` must be an array of {SUPPORTED}. Received: like of type {type(like).__name__}"
            )
        if xp is not None and _lib_of_namespace(xp) != lib:
            raise ValueError(
                "Arguments `xp` and `like` name different libraries. "
                f"Received: xp={_module_name(xp)!r}, like of type {type(like).__name__}"
            )
        if device is None:
            device = _device_of(like, lib)
        xp_mod = _namespace(lib) if xp is None else xp
    elif xp is None:
        lib, xp_mod = "numpy", np
    else:
        lib = _lib_of_namespace(xp)
        if lib is None:
            raise TypeError(
                f"Unsupported array library: argument `xp` must be one of {SUPPORTED}. {received('xp', xp)}"
            )
        xp_mod = _namespace(lib) if lib in ("jax", "dask") else xp
    return Target(lib, xp_mod, _check_device(lib, device))


def _device_of(x, lib: str):
    if lib == "numpy":
        return "cpu"
    if lib == "torch":
        return x.device
    if lib == "jax":
        devs = list(x.devices())
        return devs[0] if len(devs) == 1 else None
    if lib == "cupy":
        return x.device
    if lib == "array_api_strict":
        return x.device
    return None


def _check_device(lib: str, device):
    """The library's device object for ``device``, or DeviceUnavailableError naming it and why."""
    if device is None:
        return None
    if lib in ("numpy", "dask"):
        if str(device).lower() in ("cpu",):
            return "cpu"
        raise DeviceUnavailableError(f"{lib} arrays live on the CPU only; device {device!r} is not available to {lib}")
    if lib == "torch":
        torch = sys.modules["torch"]
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
    if lib == "jax":
        jax = sys.modules["jax"]
        if isinstance(device, str):
            platform, _, idx = device.partition(":")
            try:
                devs = jax.devices(platform)
            except RuntimeError as e:
                raise DeviceUnavailableError(f"device {device!r} is not available to jax: {e}") from None
            i = int(idx) if idx else 0
            if i >= len(devs):
                raise DeviceUnavailableError(
                    f"device {device!r} is not available: jax sees {len(devs)} {platform} device(s)"
                )
            return devs[i]
        return device
    if lib == "array_api_strict":
        info = sys.modules["array_api_strict"].__array_namespace_info__()
        if device in info.devices():
            return device
        raise DeviceUnavailableError(f"array_api_strict has no device {device!r}")
    if lib == "cupy":
        return device
    return device  # pragma: no cover


def resolve_output(shape, dtype, out, xp, device, like) -> tuple[str, Target | None]:
    """``(dtype name, target)`` of a call: ``target`` is None when ``out`` is filled in place.

    Checks ``out`` (library, shape, dtype) or the target's support of the dtype.
    """
    if out is not None:
        _lib, out_name, out_shape = check_fill_target(out)
        if out_shape != shape:
            raise ValueError(f"Argument `out` must have shape {shape}. Received: out.shape={out_shape}")
        name = out_name if dtype is None else _dtypes.dtype_name(dtype)
        if name != out_name:
            raise ValueError(f"Argument `out` must have dtype {name}. Received: out.dtype={out.dtype}")
        return name, None
    target = resolve(xp, device, like)
    if dtype is None:
        dtype = "float32" if like is None else like.dtype
    name = _dtypes.dtype_name(dtype)
    check_dtype_supported(name, target)
    return name, target


def check_dtype_supported(name: str, target: Target) -> None:
    """A clear error when the library lacks the dtype (never a silent downcast)."""
    if target.lib == "jax" and name == "float64":
        jax = sys.modules["jax"]
        if not jax.config.read("jax_enable_x64"):
            raise ValueError(
                "jax is running without 64-bit types: enable them with jax.config.update('jax_enable_x64', True) "
                "or the JAX_ENABLE_X64=1 environment variable, or ask for float32. Received: dtype='float64'"
            )
    if target.lib == "array_api_strict" and name in ("bfloat16", "float16"):
        raise ValueError(f"array_api_strict has no {name} dtype. Received: dtype={name!r}")
    if target.lib == "cupy" and name == "bfloat16":
        raise ValueError("cupy has no bfloat16 dtype: use xp=torch with device='cuda'. Received: dtype='bfloat16'")


def _torch_dtype(torch, name):
    return {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32, "float64": torch.float64}[
        name
    ]


def wrap(storage: np.ndarray, name: str, target: Target):
    """Hand a filled numpy storage array (uint16 for 16-bit floats) to the target library."""
    lib = target.lib
    if lib == "numpy":
        return storage.view(_dtypes.numpy_dtype(name))
    if lib == "torch":
        torch = target.xp
        t = torch.from_numpy(storage)
        if name in ("bfloat16", "float16"):
            t = t.view(_torch_dtype(torch, name))
        if target.device is not None and target.device.type != "cpu":
            t = t.to(target.device)
        return t
    if lib == "jax":
        # zero-copy on the CPU (the storage is 64-byte aligned); without a device the
        # array is uncommitted on jax's default device, where jnp.asarray would put it
        return sys.modules["jax"].device_put(storage.view(_dtypes.numpy_dtype(name)), target.device)
    if lib == "array_api_strict":
        aas = target.xp
        arr = aas.asarray(storage)
        if target.device is not None and target.device != arr.device:
            arr = aas.asarray(arr, device=target.device)
        return arr
    if lib == "cupy":
        cp = target.xp
        with cp.cuda.Device(target.device.id if hasattr(target.device, "id") else (target.device or 0)):
            arr = cp.asarray(storage)
        return arr.view(cp.float16) if name == "float16" else arr
    raise TypeError(f"Unsupported array library {lib!r}")  # pragma: no cover


def _on_cuda(target: Target) -> bool:
    if target.lib == "torch":
        return target.device is not None and target.device.type == "cuda"
    if target.lib == "jax":
        return _jax_cuda_ordinal(target.device) is not None
    return target.lib == "cupy"


def _jax_cuda_ordinal(device) -> int | None:
    """The CUDA device number of a jax GPU device the CUDA target can fill through cupy, else None.

    jax imports device buffers by DLPack, which numba's arrays lack: the values
    are generated into a cupy array (cupy comes with the ``cuda`` extra) and
    handed over. Without cupy, jax GPU arrays are generated on the host and
    transferred.
    """
    if device is None or getattr(device, "platform", None) != "gpu":
        return None
    if "rocm" in str(getattr(getattr(device, "client", None), "platform_version", "")).lower():
        return None
    try:
        import cupy  # noqa: F401
    except ImportError:
        return None
    ordinal = getattr(device, "local_hardware_id", None)
    return device.id if ordinal is None else ordinal


def _cuda_into(plan: FillPlan, lib: str, buf) -> None:
    """Run the CUDA target into ``buf``: a C-contiguous torch CUDA tensor or cupy array of the
    storage dtype, on its device and on its library's current stream."""
    if lib == "torch":
        torch = sys.modules["torch"]
        dev = buf.device
        _engine.run_cuda_library(plan, buf.reshape(-1), dev.index, torch.cuda.current_stream(dev).cuda_stream)
    else:
        cp = sys.modules["cupy"]
        with buf.device:
            _engine.run_cuda_library(plan, buf.reshape(-1), buf.device.id, cp.cuda.get_current_stream().ptr)


def _generate_cuda(plan: FillPlan, target: Target):
    """Generate straight into a new torch CUDA tensor, cupy array or jax GPU array with the CUDA target."""
    name = plan.dtype
    if target.lib == "torch":
        torch = target.xp
        dt = torch.uint32 if name == "uint32" else _torch_dtype(torch, name)
        out = torch.empty(plan.shape, dtype=dt, device=target.device)
        _cuda_into(plan, "torch", out.view(torch.uint16) if name in ("bfloat16", "float16") else out)
        return out
    import cupy as cp

    if target.lib == "jax":
        dev_id = _jax_cuda_ordinal(target.device)
    else:
        dev_id = getattr(target.device, "id", target.device)
    with cp.cuda.Device(dev_id if dev_id is not None else cp.cuda.runtime.getDevice()):
        out = cp.empty(plan.shape, dtype=_dtypes.storage_dtype(name))
        _cuda_into(plan, "cupy", out)
    if target.lib == "jax":
        jax = sys.modules["jax"]
        # DLPack hands the buffer over without a copy, ordered after cupy's stream
        arr = sys.modules["jax.numpy"].from_dlpack(out.view(cp.float16) if name == "float16" else out)
        if name == "bfloat16":  # cupy has no bfloat16: reinterpret the bits on the device
            arr = jax.lax.bitcast_convert_type(arr, sys.modules["jax.numpy"].bfloat16)
        return jax.device_put(arr, target.device)
    return out.view(cp.float16) if name == "float16" else out


def generate(plan: FillPlan, target: Target, chunks=None):
    """A new array of the target library holding ``plan``'s values."""
    if target.lib == "dask":
        return _dask_array(plan, chunks)
    if _on_cuda(target):
        return _generate_cuda(plan, target)
    storage = _dtypes.aligned_empty(plan.shape, _dtypes.storage_dtype(plan.dtype))
    _engine.run_cpu(plan, storage.reshape(-1))
    return wrap(storage, plan.dtype, target)


def dask_from_blocks(make_block, shape, offset, name: str, chunks):
    """A lazy dask array whose every block is ``make_block(block_shape, block_offset)`` (a numpy array).

    ``block_offset`` is the block's offset in the full tensor (``offset`` plus
    the block's location), so each block is generated independently.
    """
    da = sys.modules["dask.array"]
    np_dtype = _dtypes.numpy_dtype(name)
    normalized = da.core.normalize_chunks("auto" if chunks is None else chunks, shape, dtype=np_dtype)

    def block(block_info=None):
        loc = block_info[None]["array-location"]
        bshape = tuple(stop - start for start, stop in loc)
        boff = tuple(o + start for o, (start, _) in zip(offset, loc))
        return make_block(bshape, boff)

    return da.map_blocks(block, chunks=normalized, dtype=np_dtype, meta=np.empty((0,) * len(shape), np_dtype))


def _dask_array(plan: FillPlan, chunks):
    def make_block(shape, offset):
        storage = _dtypes.aligned_empty(shape, _dtypes.storage_dtype(plan.dtype))
        _engine.run_cpu(dataclasses.replace(plan, shape=shape, offset=offset), storage.reshape(-1))
        return storage.view(_dtypes.numpy_dtype(plan.dtype))

    return dask_from_blocks(make_block, plan.shape, plan.offset, plan.dtype, chunks)


def check_fill_target(x) -> tuple[str, str, tuple[int, ...]]:
    """``(library, dtype name, shape)`` of an array that can be filled in place, or a clear error."""
    lib = lib_of_array(x)
    if lib is None:
        raise TypeError(
            f"Cannot fill an object of type {type(x).__name__} (argument `out`): expected an array of {SUPPORTED}"
        )
    if lib == "jax":
        raise TypeError(
            "jax arrays are immutable and cannot be filled in place: call the initializer with xp=jax.numpy "
            "(or like=x) to get a new array"
        )
    if lib == "dask":
        raise TypeError("dask arrays cannot be filled in place: call the initializer with xp=dask.array")
    if lib == "torch" and x.is_inference() and not sys.modules["torch"].is_inference_mode_enabled():
        raise RuntimeError(
            "Cannot fill an inference tensor outside torch.inference_mode(): torch allows no in-place update "
            "of it there. Fill it inside inference_mode, or fill a clone"
        )
    if lib == "numpy":
        if not x.flags.writeable:
            raise ValueError("The array to fill must be writeable. Received: a read-only numpy array")
        if not x.dtype.isnative:
            raise ValueError(f"The array to fill must have native byte order. Received: out.dtype={x.dtype.str!r}")
    name = _dtypes.dtype_name(x.dtype, "out.dtype")
    return lib, name, tuple(int(d) for d in x.shape)


def fill_into(x, produce, plan: FillPlan | None = None):
    """Fill the existing array ``x`` in place and return it.

    ``produce(storage)`` writes the values into a flat, C-contiguous numpy
    storage array (uint16 bit patterns for 16-bit floats). Contiguous numpy
    arrays and CPU torch tensors (parameters with ``requires_grad`` included)
    are written directly; with a ``plan``, CUDA tensors and cupy arrays are
    generated on their device by the CUDA target; other layouts through one
    temporary.
    """
    lib, name, shape = check_fill_target(x)
    storage_dtype = _dtypes.storage_dtype(name)
    if lib == "numpy" and x.flags.c_contiguous:
        produce(x.reshape(-1).view(storage_dtype))
        return x
    if lib == "torch":
        torch = sys.modules["torch"]
        t = x.detach()
        if t.device.type == "cpu" and t.is_contiguous():
            view = t.view(torch.uint16) if name in ("bfloat16", "float16") else t
            produce(view.numpy().reshape(-1))
            # written behind autograd's back: count it as the in-place update it is, as
            # torch.nn.init's do, so a graph that saved the old values refuses to backpropagate
            torch.autograd.graph.increment_version(t)
            return x
        if t.device.type == "cuda" and plan is not None:
            if t.is_contiguous():  # written in place
                _cuda_into(plan, "torch", t.view(torch.uint16) if name in ("bfloat16", "float16") else t)
                torch.autograd.graph.increment_version(t)
                return x
            src = _generate_cuda(plan, Target("torch", torch, t.device))
            with torch.no_grad():
                t.copy_(src)  # same device: no host transfer
            return x
    if lib == "cupy" and plan is not None:
        cp = sys.modules["cupy"]
        if x.flags.c_contiguous:  # written in place
            _cuda_into(plan, "cupy", x.view(cp.uint16) if name == "float16" else x)
            return x
        x[...] = _generate_cuda(plan, Target("cupy", cp, x.device))
        return x
    tmp = _dtypes.aligned_empty(shape, storage_dtype)
    produce(tmp.reshape(-1))
    if lib == "numpy":
        x[...] = tmp.view(x.dtype)
    elif lib == "torch":
        src = torch.from_numpy(tmp)
        if name in ("bfloat16", "float16"):
            src = src.view(_torch_dtype(torch, name))
        with torch.no_grad():
            t.copy_(src)
    elif lib == "array_api_strict":
        aas = sys.modules["array_api_strict"]
        x[...] = aas.asarray(tmp.view(_dtypes.numpy_dtype(name)), device=x.device)
    elif lib == "cupy":
        cp = sys.modules["cupy"]
        src = cp.asarray(tmp)
        x[...] = src.view(x.dtype) if name == "float16" else src
    return x


def from_values(values: np.ndarray, name: str, target: Target, out=None):
    """Numpy-computed float64 values (constants, Identity, Orthogonal) as ``name`` in the target library."""

    def produce(storage):
        storage[...] = _dtypes.float64_to_storage(values.reshape(-1), name)

    if out is not None:
        return fill_into(out, produce)
    storage = _dtypes.aligned_empty(values.shape, _dtypes.storage_dtype(name))
    produce(storage.reshape(-1))
    return wrap(storage, name, target)
