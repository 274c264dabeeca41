"""The frontend: resolve where a call's values go, once, and realise a plan there.

``resolve`` turns ``(shape, dtype, out, xp, device, like, chunks)`` into a
``Dest``: the backend adapter that owns the library (``arrayinit._backends``;
nothing here knows a library by name), its namespace, the device, the dtype
name (a float or a complex dtype), and for ``out=`` the array to write.
``realise(plan, dest)`` runs a plan there: a ``FillPlan`` through the engine
(CPU storage, or the CUDA target straight into the library's device buffer
when the adapter offers one); a ``ComplexPlan`` as its real plan written into
the complex output's float parts (on the CPU, or on CUDA where the form needs
no host transform), then its transform; a host-value plan
(``arrayinit._values``) through its ``write``; lazy libraries get one plan per
block.

This is the adapters' boundary: every adapter method is called from here,
what an adapter hands back is checked before anything is written into it or returned
(``_checked_view``, ``_checked_buffer``, ``_checked_array``), and an exception
raised in a plug-in's or a foreign library's code is named after the backend
and the method (``arrayinit._backends.adapter_error``).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from arrayinit import _backends, _dtypes, _engine
from arrayinit._backends import Backend, CudaBuffer, raise_named
from arrayinit._complex import ComplexPlan
from arrayinit._errors import received
from arrayinit._plan import FillPlan

__all__ = ["Dest", "device_plan", "fill_dest", "from_values", "realise", "realise_numpy", "resolve", "write_host"]


class Dest(NamedTuple):
    """Where a call's values go: a new array of ``backend`` (``xp``, ``device``) or the existing ``out``.

    Immutable; a named tuple rather than a frozen dataclass, which costs a microsecond to make per call.
    """

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


def out_backend(out) -> Backend:
    """The adapter of the array to fill (``out=``, ``fill_``), after its ``check_writable``."""
    backend = _backends.for_array(out)
    if backend is None:
        raise TypeError(
            f"Cannot fill an object of type {type(out).__name__} (argument `out`): expected an array of an "
            f"array-API library or of a registered backend ({', '.join(_backends.registered_backends())})"
        )
    try:
        backend.check_writable(out)
    except Exception as e:
        raise_named(backend, "check_writable", e)
        raise
    return backend


def _dtype_name(dtype) -> str:
    """The canonical name of a float or complex dtype (an error naming `dtype` for any other)."""
    return _dtypes.complex_name(dtype) or _dtypes.dtype_name(dtype)


def fill_dest(out, shape: tuple[int, ...] | None = None, dtype=None) -> Dest:
    """The destination of ``out=`` / ``fill_(out)``: checks the array once (library, writability, dtype, shape)."""
    backend = out_backend(out)
    name = _dtypes.complex_requested(dtype, out=out)
    if name is not None:  # complex values: the array must be of that complex dtype and of the block's shape
        out_shape = tuple(int(d) for d in out.shape)
        if (shape is not None and out_shape != shape) or _dtypes.complex_name(out.dtype) != name:
            raise ValueError(
                f"Argument `out` must be a {name} array of shape {shape}. "
                f"Received: out.shape={out_shape}, out.dtype={out.dtype}"
            )
        return Dest(backend, None, None, name, out=out)
    try:
        name = backend.dtype_name_of(out)
    except Exception as e:
        raise_named(backend, "dtype_name_of", e)
        raise
    if name not in _dtypes.FLOAT_NAMES:
        raise _bad_dtype_name(backend, name)
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
        return Dest(_backends.NUMPY, np, None, _dtype_name(dtype))
    if like is not None:
        backend = _backends.for_array(like)
        if backend is None:
            raise TypeError(
                "Argument `like` must be an array of an array-API library or of a registered backend "
                f"({', '.join(_backends.registered_backends())}). Received: like of type {type(like).__name__}"
            )
    else:
        backend = _backends.for_namespace(xp)
        if backend is None:
            raise TypeError(
                "Unsupported array library: argument `xp` must be an array-API namespace or the namespace of a "
                f"registered backend ({', '.join(_backends.registered_backends())}). {received('xp', xp)}"
            )
    call = "namespace"  # the adapter method being asked, for the error that names it
    try:
        if like is not None:
            call = "owns_namespace"
            if xp is not None and not backend.owns_namespace(xp):
                raise ValueError(
                    "Arguments `xp` and `like` name different libraries. "
                    f"Received: xp={_describe(xp)!r}, like of type {type(like).__name__}"
                )
            call = "namespace_of" if xp is None else "namespace"
            ns = backend.namespace_of(like) if xp is None else backend.namespace(xp)
            if device is None:
                call = "device_of"
                device = backend.device_of(like)
        else:
            ns = backend.namespace(xp)
        call = "device"
        dev = backend.device(ns, device)
        if bits:
            name = "uint32"
        elif dtype is None and like is not None:
            call = "dtype_name_of"
            complex_like = _dtypes.complex_name(getattr(like, "dtype", None))
            try:
                name = complex_like or backend.dtype_name_of(like)
            except (TypeError, ValueError) as e:  # the adapters name the array being filled: here it is `like`
                raise_named(backend, call, e)
                raise type(e)(str(e).replace("out.dtype", "like.dtype")) from None
            if name not in _dtypes.FLOAT_NAMES and name != complex_like:
                raise _bad_dtype_name(backend, name)
        elif dtype is None:
            name = "float32"
        else:
            name = _dtype_name(dtype)
        call = "check_dtype"
        backend.check_dtype(ns, name)
        if chunks is not None and not backend.lazy:
            raise ValueError(
                f"Argument `chunks` applies to lazy libraries (xp=dask.array) only, not to {backend.name}. "
                f"{received('chunks', chunks)}"
            )
        call = "cuda_ordinal"
        ordinal = backend.cuda_ordinal(ns, dev)
    except Exception as e:
        raise_named(backend, call, e)
        raise
    return Dest(backend, ns, dev, name, chunks=chunks, cuda=ordinal)


def _bad_dtype_name(backend: Backend, name) -> ValueError:
    return ValueError(
        f"Backend {backend.name!r}: dtype_name_of must return one of {', '.join(_dtypes.FLOAT_NAMES)} (or raise "
        f"ValueError for an array of another dtype). {received('name', name)}"
    )


def _bits_out(out, shape) -> Dest:
    if not isinstance(out, np.ndarray) or out.dtype != np.uint32:
        raise TypeError(f"Argument `out` must be a numpy.ndarray of uint32. {received('out', out)}")
    if out.shape != shape:
        raise ValueError(f"Argument `out` must have shape {shape}. Received: out.shape={out.shape}")
    if not out.flags.writeable or not out.dtype.isnative:
        raise ValueError("Argument `out` must be a writeable uint32 array in native byte order.")
    return Dest(_backends.NUMPY, np, None, "uint32", out=out)


def write_host(plan, flat: np.ndarray) -> None:
    """Write ``plan``'s block into flat host storage (of a complex plan: its float parts, then its transform)."""
    if plan.size == 0:
        return
    if isinstance(plan, FillPlan):
        _engine.run_cpu(plan, flat)
    elif isinstance(plan, ComplexPlan):
        parts = flat.view(_dtypes.storage_dtype(plan.parts.dtype))
        _engine.run_cpu(plan.parts, parts)
        plan.transform(parts)
    else:
        plan.write(flat)


def device_plan(plan) -> FillPlan | None:
    """The ``FillPlan`` the CUDA target runs for ``plan`` (a complex plan's parts), or None for host-only plans."""
    if isinstance(plan, FillPlan):
        return plan
    if isinstance(plan, ComplexPlan) and plan.on_device:
        return plan.parts
    return None


def _host_storage(plan) -> np.ndarray:
    """New 64-byte aligned host storage (uint16 for 16-bit floats) holding ``plan``'s block."""
    storage = _dtypes.aligned_empty(plan.shape, _dtypes.storage_dtype(plan.dtype))
    write_host(plan, storage.reshape(-1))
    return storage


def _run_cuda(plan: FillPlan, buf: CudaBuffer, backend: Backend, method: str) -> None:
    """Run ``plan`` on the CUDA target into an adapter's device buffer, then its ``finish`` step."""
    _engine.run_cuda_library(plan, buf.buffer, buf.ordinal, buf.stream)
    if buf.finish is not None:
        try:
            buf.finish()
        except Exception as e:
            raise_named(backend, f"{method} (its finish step)", e)
            raise


def host_array(plan) -> np.ndarray:
    """A new numpy array (of the numpy dtype: ml_dtypes for bfloat16) holding ``plan``'s block."""
    return _host_storage(plan).view(_dtypes.numpy_dtype(plan.dtype))


def realise_numpy(plan) -> np.ndarray:
    """``realise`` for the default destination (a new numpy array), with the least overhead."""
    storage = _dtypes.empty(plan.shape, _dtypes.storage_dtype(plan.dtype))
    write_host(plan, storage.reshape(-1))
    return storage if plan.dtype not in ("bfloat16", "float16") else storage.view(_dtypes.numpy_dtype(plan.dtype))


def realise(plan, dest: Dest):
    """Run ``plan`` (a ``FillPlan`` or a host-value plan) at ``dest``; returns the new array or ``dest.out``."""
    backend = dest.backend
    if dest.out is not None:
        return _fill(plan, dest)
    if backend is _backends.NUMPY:
        return realise_numpy(plan)
    if backend.lazy:

        def make_block(bshape, boff):
            return host_array(plan.block(bshape, boff))

        return lazy(dest, make_block, plan.shape, plan.offset, plan.dtype)
    dplan = device_plan(plan) if dest.cuda is not None and plan.size else None
    if dplan is not None:
        try:
            result, buf = backend.cuda_empty(dest.xp, plan.shape, plan.dtype, dest.device)
        except Exception as e:
            raise_named(backend, "cuda_empty", e)
            raise
        buf = _checked_buffer(backend, "cuda_empty", buf, dplan.size, dplan.dtype, plan.dtype)
        _run_cuda(dplan, buf, backend, "cuda_empty")
        try:
            arr = result()
        except Exception as e:
            raise_named(backend, "cuda_empty (its result)", e)
            raise
        return _checked_array(backend, "cuda_empty", arr, plan.shape, plan.dtype)
    return hand_over(dest, _host_storage(plan), plan.dtype)


def hand_over(dest: Dest, storage: np.ndarray, name: str):
    """Host ``storage`` (C-contiguous, of the result's shape) as a new array of ``dest``'s library and device."""
    backend = dest.backend
    try:
        arr = backend.from_host(dest.xp, storage, name, dest.device)
    except Exception as e:
        raise_named(backend, "from_host", e)
        raise
    return _checked_array(backend, "from_host", arr, storage.shape, name)


def lazy(dest: Dest, make_block, shape: tuple[int, ...], offset: tuple[int, ...], name: str):
    """A lazy array of ``dest``'s library whose every block is ``make_block(block_shape, block_offset)``."""
    backend = dest.backend
    try:
        arr = backend.lazy_array(dest.xp, make_block, shape, offset, name, dest.chunks)
    except Exception as e:
        raise_named(backend, "lazy_array", e)
        raise
    return _checked_array(backend, "lazy_array", arr, shape, name)


def write_out(backend: Backend, x, storage: np.ndarray, name: str):
    """Copy host ``storage`` (C-contiguous, ``x``'s shape) into ``x`` through its adapter's ``write``; returns ``x``."""
    call = "write"
    try:
        backend.write(x, storage, name)
        call = "after_write"
        backend.after_write(x)
    except Exception as e:
        raise_named(backend, call, e)
        raise
    return x


def _fill(plan, dest: Dest):
    backend, x, name = dest.backend, dest.out, dest.dtype
    call = "holds_no_data"
    try:
        if backend.holds_no_data(x):
            return x
        call = "host_view"
        view = backend.host_view(x, name)
        dplan = device_plan(plan) if view is None and plan.size else None
        if dplan is not None:
            call = "cuda_view"
            buf = backend.cuda_view(x, name)
        else:
            buf = None
    except Exception as e:
        raise_named(backend, call, e)
        raise
    if view is not None:  # written in place
        write_host(plan, _checked_view(backend, view, plan.size, name))
    elif buf is not None and dplan is not None:
        buf = _checked_buffer(backend, "cuda_view", buf, dplan.size, dplan.dtype, name)
        _run_cuda(dplan, buf, backend, "cuda_view")
    else:
        return write_out(backend, x, _host_storage(plan), name)  # the plan was built for ``out``'s dtype
    try:
        backend.after_write(x)
    except Exception as e:
        raise_named(backend, "after_write", e)
        raise
    return x


# --- what adapters hand back, checked before anything is written into it or returned ---


def _checked_view(backend: Backend, view, size: int, name: str) -> np.ndarray:
    """``host_view``'s result as flat storage to write ``size`` values of ``name`` into, or an error naming the backend.

    16-bit floats are written as ``uint16`` bit patterns; a view of the float
    dtype itself (numpy's float16, ml_dtypes' bfloat16) holds the same bits.
    """
    if type(view) is not np.ndarray:
        if not isinstance(view, np.ndarray):
            raise TypeError(
                f"Backend {backend.name!r}: host_view must return a numpy.ndarray or None. "
                f"Received: an object of type {type(view).__name__}"
            )
        view = view.view(np.ndarray)  # np.memmap, np.matrix, ...: the same memory as a plain array
    storage = _dtypes.storage_dtype(name)
    flags = view.flags
    dtype = view.dtype
    if view.size == size and flags.c_contiguous and flags.writeable:
        if dtype == storage:
            return view if view.ndim == 1 else view.reshape(-1)
        if dtype.itemsize == 2 and dtype.name == name and dtype.isnative:
            return view.reshape(-1).view(storage)
    wrong = []
    if view.size != size:
        wrong.append(f"view.size={view.size}")
    if dtype != storage and not (dtype.itemsize == 2 and dtype.name == name and dtype.isnative):
        wrong.append(f"view.dtype={dtype.str if dtype.name == storage.name else dtype}")
    wrong.extend(f"view.flags.{flag}=False" for flag in ("writeable", "c_contiguous") if not getattr(flags, flag))
    raise ValueError(
        f"Backend {backend.name!r}: host_view must return a writeable, C-contiguous numpy array of exactly "
        f"{size} {storage} values (the storage of {name}), or None. Received: {', '.join(wrong)}"
    )


def _checked_buffer(backend: Backend, method: str, buf, size: int, name: str, of: str | None = None) -> CudaBuffer:
    """A ``CudaBuffer`` whose ``__cuda_array_interface__`` describes exactly ``size`` writeable values of storage.

    ``of``: the dtype of the array the buffer belongs to, where it differs from ``name`` (a complex array,
    whose buffer holds its ``name`` parts).
    """
    if not isinstance(buf, CudaBuffer):
        raise TypeError(
            f"Backend {backend.name!r}: {method} must return an arrayinit.CudaBuffer"
            f"{' or None' if method == 'cuda_view' else ''}. Received: an object of type {type(buf).__name__}"
        )
    try:
        cai = buf.buffer.__cuda_array_interface__
    except Exception as e:
        raise TypeError(
            f"Backend {backend.name!r}: the buffer of {method} must expose __cuda_array_interface__. "
            f"Received: {type(buf.buffer).__name__} ({type(e).__name__}: {e})"
        ) from e
    storage = _dtypes.storage_dtype(name)
    wrong = []
    try:
        shape = tuple(int(d) for d in cai["shape"])
        if math.prod(shape) != size:
            wrong.append(f"shape={shape}")
        if np.dtype(cai["typestr"]) != storage:
            wrong.append(f"typestr={cai['typestr']!r}")
        strides = cai.get("strides")  # None: C-contiguous
        if strides is not None:
            step = storage.itemsize
            for d, st in zip(reversed(shape), reversed(tuple(strides))):
                if d > 1 and int(st) != step:  # the stride of an axis of length 1 is never used
                    wrong.append(f"strides={tuple(strides)}")
                    break
                step *= d
        if cai["data"][1]:
            wrong.append("read-only data")
    except (KeyError, TypeError, ValueError, IndexError) as e:
        wrong.append(f"an unreadable interface ({type(e).__name__}: {e})")
    if wrong:
        what = f"the storage of {name}" if of in (None, name) else f"the {name} parts of {of}"
        raise ValueError(
            f"Backend {backend.name!r}: the buffer of {method} must be a writeable, C-contiguous device array of "
            f"exactly {size} {storage} values ({what}). Received: {', '.join(wrong)}"
        )
    return buf


def _checked_array(backend: Backend, method: str, arr, shape: tuple[int, ...], name: str):
    """``arr`` when it has ``shape`` and (where the backend can tell) the dtype ``name``; else an error."""
    if arr is None:
        raise TypeError(
            f"Backend {backend.name!r}: {method} must return an array of shape {shape} and dtype {name}. Received: None"
        )
    got = getattr(arr, "shape", None)
    if not (isinstance(got, tuple) and got == shape):
        try:
            got = tuple(int(d) for d in got)  # type: ignore[union-attr]
        except Exception:  # no shape, or not one of integers
            got = None
        if got != shape:
            raise ValueError(
                f"Backend {backend.name!r}: {method} must return an array of shape {shape}. "
                f"Received: {'an object without a shape' if got is None else f'shape={got}'} "
                f"(type {type(arr).__name__})"
            )
    if name in _dtypes.FLOAT_NAMES:
        try:
            got_name = backend.dtype_name_of(arr)
        except (AttributeError, TypeError):  # the backend cannot name it: not checked
            return arr
        except ValueError:  # not a float dtype
            got_name = None
        except Exception as e:
            raise_named(backend, "dtype_name_of", e)
            raise
        ok = got_name == name
    else:  # uint32 words or complex values: by the text of the dtype (torch.uint32, dtype('complex64'), ...)
        dtype = getattr(arr, "dtype", None)
        ok = dtype is None or name in str(dtype).lower()
    if not ok:
        raise ValueError(
            f"Backend {backend.name!r}: {method} must return an array of dtype {name}. "
            f"Received: dtype={getattr(arr, 'dtype', None)}"
        )
    return arr


def from_values(values: np.ndarray, name: str, target: Dest | None = None, out=None):
    """Host-computed values (any float array) as ``name`` at ``target``, or written into ``out``."""
    from arrayinit._values import ValuesPlan

    values = np.asarray(values)
    shape = tuple(int(d) for d in values.shape)
    plan = ValuesPlan(shape, shape, (0,) * len(shape), name, values)
    if out is not None:
        return realise(plan, fill_dest(out, shape))
    return realise(plan, NUMPY_FLOAT32 if target is None else target)
