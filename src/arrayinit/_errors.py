"""Error types and the argument checks shared by the public API.

Messages follow Keras: they name the argument and repeat the value received,
``Argument `scale` must be a positive float. Received: scale=-1``.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet

__all__ = ["DeviceUnavailableError"]


class DeviceUnavailableError(RuntimeError):
    """The requested device does not exist, or the library or machine cannot use it.

    Raised as ``arrayinit.DeviceUnavailableError`` (its public name, shown in
    tracebacks); a subclass of ``RuntimeError``. The message names the device
    and the reason (no CUDA driver, an index out of range, numba-cuda missing).
    """

    __module__ = "arrayinit"


def _short_repr(value: object) -> str:
    """``repr(value)``, shortened for huge integers (Python refuses to print ints over 4,300 digits) and long texts."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value).bit_length() > 256:
        return f"<an int of {abs(value).bit_length()} bits>"
    try:
        text = repr(value)
    except Exception as e:  # a repr that fails must not hide the real error
        return f"<{type(value).__name__} whose repr failed: {type(e).__name__}>"
    return text if len(text) <= 200 else text[:200] + "..."


def received(name: str, value: object) -> str:
    return f"Received: {name}={_short_repr(value)}"


def check_float(
    name: str,
    value: object,
    *,
    positive: bool = False,
    nonnegative: bool = False,
    finite: bool = True,
) -> float:
    """``value`` as a Python float, or a TypeError/ValueError naming ``name``."""
    # fast path for a finite float that passes the sign checks below; + 0.0 turns -0.0 into 0.0
    # (one cache key, one stream of values)
    if (
        type(value) is float
        and math.isfinite(value)
        and (value > 0.0 or (not positive and (value == 0.0 or not nonnegative)))
    ):
        return value + 0.0
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"Argument `{name}` must be a float. {received(name, value)}")
    try:
        x = float(value)
    except OverflowError:  # an int beyond the float range
        raise ValueError(f"Argument `{name}` must be finite. {received(name, value)}") from None
    if math.isnan(x):
        raise ValueError(f"Argument `{name}` must not be NaN. {received(name, value)}")
    if finite and math.isinf(x):
        raise ValueError(f"Argument `{name}` must be finite. {received(name, value)}")
    if positive and not x > 0:
        raise ValueError(f"Argument `{name}` must be a positive float. {received(name, value)}")
    if nonnegative and not x >= 0:
        raise ValueError(f"Argument `{name}` must be a non-negative float. {received(name, value)}")
    return x + 0.0


def check_int(name: str, value: object, *, lo: int | None = None, hi: int | None = None) -> int:
    """``value`` as a Python int in ``[lo, hi)``, or a TypeError/ValueError naming ``name``."""
    if isinstance(value, bool):
        raise TypeError(f"Argument `{name}` must be an integer. {received(name, value)}")
    try:
        x = operator.index(value)  # type: ignore[arg-type]  # TypeError below for non-integers
    except TypeError:
        raise TypeError(f"Argument `{name}` must be an integer. {received(name, value)}") from None
    if (lo is not None and x < lo) or (hi is not None and x >= hi):
        lo_s = "" if lo is None else f"{lo} <= "
        hi_s = "" if hi is None else f" < {hi}"
        raise ValueError(f"Argument `{name}` must satisfy {lo_s}{name}{hi_s}. {received(name, value)}")
    return x


def check_seed(value: object, name: str = "seed", *, none_ok: bool = False) -> int:
    """A seed: an integer in ``[0, 2**64)`` (``none_ok``: the caller also takes None, and says so)."""
    if type(value) is int and 0 <= value < 2**64:
        return value  # fast path
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        alt = " or None" if none_ok else ""
        raise TypeError(f"Argument `{name}` must be an integer in [0, 2**64){alt}. {received(name, value)}")
    x = int(value)
    if not 0 <= x < 2**64:
        raise ValueError(f"Argument `{name}` must be an integer in [0, 2**64). {received(name, value)}")
    return x


def check_shape(name: str, value: object) -> tuple[int, ...]:
    """A shape: an int or a sequence of non-negative ints."""
    if type(value) is tuple and all(type(d) is int and 0 <= d < 2**63 for d in value):
        return value  # fast path
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value,)
    if isinstance(value, (str, bytes, AbstractSet, Mapping)):  # no order, or not dims
        raise TypeError(f"Argument `{name}` must be a tuple of non-negative integers. {received(name, value)}")
    if not isinstance(value, (Sequence, tuple)):
        try:
            value = tuple(value)  # type: ignore[arg-type]  # e.g. torch.Size, numpy arrays of ints
        except TypeError:
            raise TypeError(
                f"Argument `{name}` must be a tuple of non-negative integers. {received(name, value)}"
            ) from None
    dims = []
    for d in value:
        if isinstance(d, bool):
            raise TypeError(f"Argument `{name}` must be a tuple of non-negative integers. {received(name, value)}")
        try:
            d = operator.index(d)
        except TypeError:
            raise TypeError(
                f"Argument `{name}` must be a tuple of non-negative integers. {received(name, value)}"
            ) from None
        if d < 0:
            raise ValueError(f"Argument `{name}` must be a tuple of non-negative integers. {received(name, value)}")
        if d >= 2**63:
            raise ValueError(f"Argument `{name}` has a dimension of 2**63 or more. {received(name, value)}")
        dims.append(d)
    return tuple(dims)
