"""The frontend: resolve where a call's values go, once, and realise a plan there.

``resolve`` turns ``(shape, dtype, out, xp, device, like, chunks)`` into a
``Dest``: the backend adapter that owns the library (``arrayinit._backends``;
nothing here knows a library by name), its namespace, the device, the dtype
name, and for ``out=`` the array to write. ``realise(plan, dest)`` runs a plan
there: a ``FillPlan`` through the engine (CPU storage, or the CUDA target
straight into the library's device buffer when the adapter offers one), a
host-value plan (``arrayinit._values``) through its ``write``; lazy libraries
get one plan per block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from arrayinit import _backends, _dtypes, _engine
from arrayinit._backends import Backend
from arrayinit._errors import received
from arrayinit._plan import FillPlan

__all__ = ["Dest", "fill_dest", "from_values", "realise", "resolve"]


@dataclass(frozen=True, slots=True)
class Dest:
    """Where a call's values go: a new array of ``backend`` (``xp``, ``device``) or the existing ``out``."""

    backend: Backend
    xp: Any
    device: Any
    dtype: str
    out: Any = None
    chunks: Any = None
    cuda: int | None = None  # CUDA device number where the CUDA target fills the result in place


NUMPY_FLOAT32 = Dest(_backends.NUMPY, np, None, "float32")


def _describe(xp) -> str:
    return getattr(xp, "__name__", None) or type(xp).__name__


def fill_dest(out, shape: tuple[int, ...] | None = None, dtype=None) -> Dest:
    """The destination of ``out=`` / ``fill_(out)``: checks the array once (library, writability, dtype, shape)."""
    backend = _backends.for_array(out)
    if backend is None:
        raise TypeError(
            f"Cannot fill an object of type {type(out).__name__} (argument `out`): expected an array of an "
            f"array-API library or of a registered backend ({', '.join(_backends.registered_backends())})"
        )
    backend.check_writable(out)
    name = backend.dtype_name_of(out)
    if dtype is not None and _dtypes.dtype_name(dtype) != name:
        raise ValueError(f"Argument `out` must have dtype {_dtypes.dtype_name(dtype)}. Received: out.dtype={out.dtype}")
    if shape is not None:
        out_shape = tuple(int(d) for d in out.shape)
        if out_shape != shape:
            raise ValueError(f"Argument `out` must have shape {shape}. Received: out.shape={out_shape}")
    return Dest(backend, None, None, name, out=out)


def resolve(shape, dtype=None, *, out=None, xp=None, device=None, like=None, chunks=None, bits=False) -> Dest:
    """The destination of a call; ``dtype`` None means float32, or ``like``'s dtype (``bits``: uint32 words)."""
    if out is not None:
        if xp is not None or device is not None or like is not None or chunks is not None:
            pairs = (("xp", xp), ("device", device), ("like", like), ("chunks", chunks))
            given = [(k, v) for k, v in pairs if v is not None]
            raise ValueError(
                "Argument `out` takes its library, device and layout from the array; do not also give "
                + ", ".join(f"`{k}`" for k, _ in given)
                + ". Received: "
                + ", ".join(f"{k}={_describe(v)!s}" for k, v in given)
            )
        if bits:
            return _bits_out(out, shape)
        return fill_dest(out, shape, dtype)
    if xp is None and device is None and like is None:
        if chunks is not None:
            raise ValueError(
                f"Argument `chunks` applies to lazy libraries (xp=dask.array) only. {received('chunks', chunks)}"
            )
        if bits:
            return Dest(_backends.NUMPY, np, None, "uint32")
        if dtype is None or dtype == "float32":
            return NUMPY_FLOAT32
        return Dest(_backends.NUMPY, np, None, _dtypes.dtype_name(dtype))
    if like is not None:
        backend = _backends.for_array(like)
        if backend is None:
            raise TypeError(
                "Argument `like` must be an array of an array-API library or of a registered backend "
                f"({', '.join(_backends.registered_backends())}). Received: like of type {type(like).__name__}"
            )
        if xp is not None and not backend.owns_namespace(xp):
            raise ValueError(
                "Arguments `xp` and `like` name different libraries. "
                f"Received: xp={_describe(xp)!r}, like of type {type(like).__name__}"
            )
        ns = backend.namespace_of(like) if xp is None else backend.namespace(xp)
        if device is None:
            device = backend.device_of(like)
    else:
        backend = _backends.for_namespace(xp)
        if backend is None:
            raise TypeError(
                "Unsupported array library: argument `xp` must be an array-API namespace or the namespace of a "
                f"registered backend ({', '.join(_backends.registered_backends())}). {received('xp', xp)}"
            )
        ns = backend.namespace(xp)
    dev = backend.device(ns, device)
    if bits:
        name = "uint32"
    elif dtype is None and like is not None:
        try:
            name = backend.dtype_name_of(like)
        except (TypeError, ValueError) as e:  # the adapters name the array being filled: here it is `like`
            raise type(e)(str(e).replace("out.dtype", "like.dtype")) from None
    elif dtype is None:
        name = "float32"
    else:
        name = _dtypes.dtype_name(dtype)
    backend.check_dtype(ns, name)
    if chunks is not None and not backend.lazy:
        raise ValueError(
            f"Argument `chunks` applies to lazy libraries (xp=dask.array) only, not to {backend.name}. "
            f"{received('chunks', chunks)}"
        )
    return Dest(backend, ns, dev, name, chunks=chunks, cuda=backend.cuda_ordinal(ns, dev))


def _bits_out(out, shape) -> Dest:
    if not isinstance(out, np.ndarray) or out.dtype != np.uint32:
        raise TypeError(f"Argument `out` must be a numpy.ndarray of uint32. {received('out', out)}")
    if out.shape != shape:
        raise ValueError(f"Argument `out` must have shape {shape}. Received: out.shape={out.shape}")
    if not out.flags.writeable or not out.dtype.isnative:
        raise ValueError("Argument `out` must be a writeable uint32 array in native byte order.")
    return Dest(_backends.NUMPY, np, None, "uint32", out=out)


def _write_host(plan, flat: np.ndarray) -> None:
    """Write ``plan``'s block into flat host storage."""
    if plan.size == 0:
        return
    if isinstance(plan, FillPlan):
        _engine.run_cpu(plan, flat)
    else:
        plan.write(flat)


def _host_storage(plan) -> np.ndarray:
    """New 64-byte aligned host storage (uint16 for 16-bit floats) holding ``plan``'s block."""
    storage = _dtypes.aligned_empty(plan.shape, _dtypes.storage_dtype(plan.dtype))
    _write_host(plan, storage.reshape(-1))
    return storage


def _run_cuda(plan: FillPlan, buf) -> None:
    """Run ``plan`` on the CUDA target into an adapter's device buffer, then its ``finish`` step."""
    _engine.run_cuda_library(plan, buf.buffer, buf.ordinal, buf.stream)
    if buf.finish is not None:
        buf.finish()


def host_array(plan) -> np.ndarray:
    """A new numpy array (of the numpy dtype: ml_dtypes for bfloat16) holding ``plan``'s block."""
    return _host_storage(plan).view(_dtypes.numpy_dtype(plan.dtype))


def realise_numpy(plan) -> np.ndarray:
    """``realise`` for the default destination (a new numpy array), with the least overhead."""
    storage = _dtypes.empty(plan.shape, _dtypes.storage_dtype(plan.dtype))
    _write_host(plan, storage.reshape(-1))
    return storage if plan.dtype in ("float32", "float64", "uint32") else storage.view(_dtypes.numpy_dtype(plan.dtype))


def realise(plan, dest: Dest):
    """Run ``plan`` (a ``FillPlan`` or a host-value plan) at ``dest``; returns the new array or ``dest.out``."""
    backend = dest.backend
    if dest.out is not None:
        return _fill(plan, dest)
    if backend is _backends.NUMPY:
        return realise_numpy(plan)
    if backend.lazy:
        try:
            return backend.lazy_array(
                dest.xp,
                lambda bshape, boff: host_array(plan.block(bshape, boff)),
                plan.shape,
                plan.offset,
                plan.dtype,
                dest.chunks,
            )
        except (ValueError, TypeError, ZeroDivisionError) as e:
            if dest.chunks is None:
                raise
            raise ValueError(
                f"Argument `chunks` does not fit the shape {plan.shape}: {e}. {received('chunks', dest.chunks)}"
            ) from None
    if dest.cuda is not None and isinstance(plan, FillPlan) and plan.size:
        result, buf = backend.cuda_empty(dest.xp, plan.shape, plan.dtype, dest.device)
        _run_cuda(plan, buf)
        return result()
    return backend.from_host(dest.xp, _host_storage(plan), plan.dtype, dest.device)


def _fill(plan, dest: Dest):
    backend, x, name = dest.backend, dest.out, dest.dtype
    if backend.holds_no_data(x):
        return x
    view = backend.host_view(x, name)
    if view is not None:  # written in place
        _write_host(plan, view)
        backend.after_write(x)
        return x
    if isinstance(plan, FillPlan) and plan.size:
        buf = backend.cuda_view(x, name)
        if buf is not None:
            _run_cuda(plan, buf)
            backend.after_write(x)
            return x
    backend.write(x, _host_storage(plan), name)  # the plan was built for ``out``'s dtype
    backend.after_write(x)
    return x


def from_values(values: np.ndarray, name: str, target: Dest | None = None, out=None):
    """Host-computed values (any float array) as ``name`` at ``target``, or written into ``out``."""
    from arrayinit._values import ValuesPlan

    values = np.asarray(values)
    shape = tuple(int(d) for d in values.shape)
    plan = ValuesPlan(shape, shape, (0,) * len(shape), name, values)
    if out is not None:
        return realise(plan, fill_dest(out, shape))
    return realise(plan, NUMPY_FLOAT32 if target is None else target)
