"""The kernel arguments a plan gives on every target: the block's runs, the key and stream as 32-bit words,
the parameters in the arithmetic's float type. Small ones are cached (small calls repeat)."""

from __future__ import annotations

import functools
import math

import numpy as np

from arrayinit._plan import block_rows

_MASK32 = 0xFFFFFFFF


@functools.lru_cache(maxsize=512)
def _small_layout(shape, full_shape, offset):
    starts, row_len = block_rows(shape, full_shape, offset)
    starts.flags.writeable = False
    return starts, row_len, addr(starts)


def layout(shape, full_shape, offset):
    """Run starts, run length and the starts' address; layouts of up to 4096 runs are cached (small calls repeat)."""
    runs = math.prod(shape[:-1]) if len(shape) > 1 else 1
    if runs <= 4096:
        return _small_layout(shape, full_shape, offset)
    starts, row_len = block_rows(shape, full_shape, offset)
    return starts, row_len, addr(starts)


def addr(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


@functools.lru_cache(maxsize=512)
def words64(x: int) -> tuple[int, int]:
    return x & _MASK32, x >> 32


@functools.lru_cache(maxsize=512)
def typed_params(params: tuple[float, ...], compute64: bool) -> tuple[np.ndarray, int]:
    """The parameters as a read-only array of the arithmetic's float type, and its address."""
    a = np.array(params, np.float64 if compute64 else np.float32)
    a.flags.writeable = False
    return a, addr(a)
