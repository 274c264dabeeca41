"""What every fuzzed call must do: return a correct result, or raise a clear error naming an argument."""

from __future__ import annotations

import contextlib
import re

import numpy as np

import arrayinit as ai

CLEAN_ERRORS = (ValueError, TypeError, ai.DeviceUnavailableError)

# an argument named in backquotes (`scale`), echoed as received (Received: scale=...), or Python's own
# "got an unexpected keyword argument 'x'"
_NAMED = re.compile(r"`[A-Za-z_][\w.\[\]'/-]*`|(?<![\w.])[A-Za-z_][\w.\[\]']*=|keyword argument '\w+'")


def names_argument(message: str) -> bool:
    return bool(_NAMED.search(message))


def clean_call(fn, *args, named: bool = True, **kwargs):
    """``fn(*args, **kwargs)``; a ValueError/TypeError/DeviceUnavailableError naming an argument gives None.

    Any other exception propagates (and fails the property), as does a clean
    error type whose message names no argument (unless ``named`` is False:
    ``arrayinit.torch`` repeats torch's own messages).
    """
    try:
        return fn(*args, **kwargs)
    except CLEAN_ERRORS as e:
        message = str(e)
        if named:
            assert names_argument(message), f"{type(e).__name__} names no argument: {message!r}"  # noqa: PT017
        assert len(message) < 2000, f"message of {len(message)} characters"
        return None


def raw(x) -> np.ndarray:
    """The bit patterns of a numpy array (bfloat16 included), for bit-for-bit comparison."""
    a = np.ascontiguousarray(np.asarray(x)).reshape(-1)
    return a.view(np.uint8)


def as_f64(x) -> np.ndarray:
    a = np.asarray(x)
    return a.astype(np.float32).astype(np.float64) if a.dtype.itemsize == 2 else a.astype(np.float64)


PART = {"complex64": "float32", "complex128": "float64"}


def parts(x) -> list[np.ndarray]:
    """The values as float64: ``[x]`` for real arrays, ``[x.real, x.imag]`` for complex ones."""
    a = np.asarray(x)
    if a.dtype.kind == "c":
        return [a.real.astype(np.float64), a.imag.astype(np.float64)]
    return [as_f64(a)]


@contextlib.contextmanager
def threads(n: int):
    """numba's thread count set to ``n`` (at most what numba was started with) for the block."""
    import numba

    prev = numba.get_num_threads()
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    try:
        yield
    finally:
        numba.set_num_threads(prev)
