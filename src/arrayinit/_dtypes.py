"""Dtype names (float and complex) and numpy storage (no array library beyond numpy is imported here)."""

from __future__ import annotations

import contextlib
import functools
import math

import numpy as np

from arrayinit import _locks
from arrayinit._errors import received

FLOAT_NAMES = ("float16", "bfloat16", "float32", "float64")

#: complex dtype -> the dtype of its real and imaginary parts (complex element g: real stream elements 2g, 2g + 1)
COMPLEX_PARTS = {"complex64": "float32", "complex128": "float64"}

_ALIASES = {
    "float16": "float16",
    "half": "float16",
    "f2": "float16",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float32": "float32",
    "single": "float32",
    "f4": "float32",
    "float64": "float64",
    "double": "float64",
    "f8": "float64",
}

_NON_FLOAT = {
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "complex64",
    "complex128",
    "int",
    "uint",
    "long",
}


_NAME_CACHE: dict = {}


def dtype_name(dtype: object, name: str = "dtype") -> str:
    """Canonical float dtype name for a string, numpy dtype, ml_dtypes, torch or jax dtype.

    Raises ValueError for a dtype that is not a float (random initializers
    produce floats only) and TypeError for something that is not a dtype.
    """
    cacheable = isinstance(dtype, (str, np.dtype)) or type(dtype).__module__.startswith("numpy")
    if cacheable and dtype in _NAME_CACHE:
        return _NAME_CACHE[dtype]
    result = _dtype_name(dtype, name)
    if cacheable:
        with contextlib.suppress(TypeError):
            _NAME_CACHE[dtype] = result
    return result


def _dtype_name(dtype: object, name: str) -> str:
    key = None
    if dtype is float or (isinstance(dtype, str) and dtype.lower() == "float"):
        # float64 to numpy, float32 to Keras, torch and jax: ask for the width
        raise ValueError(
            f"Argument `{name}` is ambiguous: Python's float means float64 in numpy and float32 in Keras, torch "
            f"and jax. Give 'float32' or 'float64'. {received(name, dtype)}"
        )
    inner = getattr(dtype, "_np_dtype", None)  # array_api_strict dtypes wrap a numpy dtype
    if isinstance(inner, np.dtype):
        dtype = inner
    if isinstance(dtype, str):
        key = dtype.lower().removeprefix("torch.").removeprefix("jnp.").removeprefix("np.")
    else:
        text = str(dtype)
        if text.startswith("torch."):  # torch.float32, without importing torch
            key = text[len("torch.") :]
        else:
            try:
                key = np.dtype(dtype).name  # type: ignore[call-overload]  # TypeError for non-dtypes
            except (TypeError, ValueError):  # ValueError: numpy reads dicts and lists as structured dtypes
                key = getattr(dtype, "name", None) or getattr(dtype, "__name__", None)
                if key is None and hasattr(dtype, "dtype"):
                    key = getattr(dtype.dtype, "name", None)
    if isinstance(key, str):
        key = key.lower()
        if key in _ALIASES:
            return _ALIASES[key]
        if key in _NON_FLOAT or key.startswith(("int", "uint", "complex", "bool")):
            raise ValueError(
                f"Only floating point types are supported: argument `{name}` must be one of "
                f"{', '.join(FLOAT_NAMES)}. {received(name, dtype)}"
            )
        if isinstance(dtype, str):  # a spelling of a dtype that arrayinit does not make
            raise ValueError(
                f"Unknown or unsupported dtype: argument `{name}` must be one of {', '.join(FLOAT_NAMES)} "
                f"(or a library's dtype object for one of them). {received(name, dtype)}"
            )
    raise TypeError(f"Argument `{name}` must be a float dtype ({', '.join(FLOAT_NAMES)}). {received(name, dtype)}")


_STORAGE: dict[str, np.dtype] = {
    "float16": np.dtype(np.uint16),
    "bfloat16": np.dtype(np.uint16),
    "float32": np.dtype(np.float32),
    "float64": np.dtype(np.float64),
    "uint32": np.dtype(np.uint32),
    "complex64": np.dtype(np.complex64),  # the engine writes the float32 parts through a view
    "complex128": np.dtype(np.complex128),
}


# the largest finite value of each format
LARGEST = {
    "float16": 65504.0,
    "bfloat16": 3.3895313892515355e38,
    "float32": 3.4028234663852886e38,
    "float64": 1.7976931348623157e308,
}
# magnitudes from which a float64 value rounds to infinity in each format: the
# largest finite value plus half its unit in the last place (ties round to even: inf)
_OVERFLOW = {
    "float16": LARGEST["float16"] + 2.0**4,
    "bfloat16": LARGEST["bfloat16"] + 2.0**119,
    "float32": LARGEST["float32"] + 2.0**103,
    "float64": math.inf,
}


def overflows(magnitude: float, name: str) -> bool:
    """Whether a value of this magnitude (or a non-finite one) is infinite once rounded to ``name``.

    16-bit formats are rounded from float32 (``float64_to_storage``, the
    kernels), so the magnitude is rounded to float32 first, as they are.
    """
    if name in ("float16", "bfloat16") and magnitude < _OVERFLOW["float32"]:
        magnitude = float(np.float32(magnitude))
    return not magnitude < _OVERFLOW[name]


_COMPLEX_ALIASES = {
    "complex64": "complex64",
    "c8": "complex64",
    "cfloat": "complex64",
    "complex128": "complex128",
    "c16": "complex128",
    "cdouble": "complex128",
    "complex": "complex128",
}


def complex_name(dtype: object) -> str | None:
    """``"complex64"``/``"complex128"`` when ``dtype`` names a complex dtype (any library), else None; never raises."""
    if dtype is None:
        return None
    if isinstance(dtype, np.dtype):  # the common case, without the name lookups below
        return _COMPLEX_ALIASES.get(dtype.name) if dtype.kind == "c" else None
    inner = getattr(dtype, "_np_dtype", None)  # array_api_strict dtypes wrap a numpy dtype
    if isinstance(inner, np.dtype):
        dtype = inner
    if isinstance(dtype, str):
        key: object = dtype.lower().removeprefix("torch.").removeprefix("jnp.").removeprefix("np.")
    else:
        text = str(dtype)
        if text.startswith("torch."):
            key = text[len("torch.") :]
        else:
            try:
                key = np.dtype(dtype).name  # type: ignore[call-overload]
            except (TypeError, ValueError):
                key = getattr(dtype, "name", None)
    return _COMPLEX_ALIASES.get(key) if isinstance(key, str) else None


def complex_requested(dtype: object, like: object = None, out: object = None) -> str | None:
    """The complex dtype a call asks for (``dtype``, else ``out``'s, else ``like``'s), or None."""
    if dtype is not None:
        return complex_name(dtype)
    for arr in (out, like):
        if arr is not None:
            return complex_name(getattr(arr, "dtype", None))
    return None


def storage_dtype(name: str) -> np.dtype:
    """The numpy dtype of ``name``'s host storage (16-bit formats as uint16 bit patterns; complex as itself)."""
    return _STORAGE[name]


def numpy_dtype(name: str) -> np.dtype:
    """The numpy dtype of a user-visible numpy array of ``name``."""
    if name == "bfloat16":
        try:
            ml_dtypes = _locks.lazy_import("ml_dtypes")  # a fork waits for the import
        except ImportError:
            raise TypeError(
                "A numpy array of dtype bfloat16 needs the ml_dtypes package "
                "(pip install ml_dtypes), or ask for another library (xp=torch, xp=jax.numpy). "
                "Received: dtype='bfloat16'"
            ) from None
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


@functools.lru_cache(maxsize=1)
def max_dims() -> int:
    """The most dimensions a numpy array may have here (64 since numpy 2, 32 before)."""
    for n in (64, 32):
        try:
            np.empty((1,) * n, np.uint8)
        except ValueError:
            continue
        return n
    return 32


def _too_large(shape: tuple[int, ...], dtype: np.dtype) -> ValueError:
    if len(shape) > max_dims():
        return ValueError(
            f"Argument `shape` has {len(shape)} dimensions; numpy arrays have at most {max_dims()}. "
            f"Received: shape={shape}"
        )
    n = math.prod(shape)
    return ValueError(
        f"Argument `shape` asks for {_human_bytes(n * dtype.itemsize)} ({n} values of {dtype.itemsize} bytes), "
        f"more than this machine can allocate. Received: shape={shape}"
    )


def _human_bytes(nbytes: int) -> str:
    """``nbytes`` for people: ``1.5 GiB``, ``12 bytes``."""
    size = float(nbytes)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if size < 1024 or unit == "PiB":
            return f"{nbytes} bytes" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def empty(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """``np.empty``; a ValueError naming ``shape`` when the memory cannot be allocated."""
    try:
        return np.empty(shape, dtype)
    except (MemoryError, ValueError):  # ValueError: numpy's "array is too big" or "maximum supported dimension"
        raise _too_large(shape, np.dtype(dtype)) from None


def aligned_empty(shape: tuple[int, ...], dtype: np.dtype, align: int = 64) -> np.ndarray:
    """An uninitialised C-contiguous array whose data pointer is ``align``-byte aligned."""
    dtype = np.dtype(dtype)
    if len(shape) > max_dims():
        raise _too_large(shape, dtype)
    n = math.prod(shape)
    try:
        raw = np.empty(n * dtype.itemsize + align, dtype=np.uint8)
    except (MemoryError, ValueError):  # ValueError: numpy's "array is too big"
        raise _too_large(shape, dtype) from None
    start = (-raw.ctypes.data) % align
    return raw[start : start + n * dtype.itemsize].view(dtype).reshape(shape)


def float64_to_storage(values: np.ndarray, name: str) -> np.ndarray:
    """float64 values in the storage format of ``name``: via float32, 16-bit formats rounded to nearest even."""
    if name == "float64":
        return values
    v32 = values.astype(np.float32)
    if name == "float32":
        return v32
    if name == "float16":
        return v32.astype(np.float16).view(np.uint16)
    b = v32.view(np.uint32)
    return ((b + np.uint32(0x7FFF) + ((b >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)).astype(np.uint16)
