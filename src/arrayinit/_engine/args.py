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


@functools.lru_cache(maxsize=512)
def run_axes(shape, full_shape, offset) -> tuple[int, tuple[tuple[int, int], ...], int]:
    """The runs of a block by value: ``(base, axes, row_len)``.

    Run ``r`` starts at ``base + sum(i_k * stride_k)``, where ``(i_k)`` is
    ``r`` written in the mixed radix of the ``(extent, stride)`` pairs ``axes``
    (outermost first). Axes of extent 1 are left out and an axis is merged into
    the one outside it where the block spans it whole, so ``axes`` has one
    pair per partial axis at most; the same runs as ``arrayinit._plan.block_rows``
    lists, in the same order.
    """
    nd = len(shape)
    if nd == 0:
        return 0, (), 1
    strides = [1] * nd
    for i in range(nd - 2, -1, -1):
        strides[i] = strides[i + 1] * full_shape[i + 1]
    j = nd - 1  # the runs cover axes j.. (as block_rows)
    while j > 0 and shape[j] == full_shape[j]:
        j -= 1
    base = sum(offset[i] * strides[i] for i in range(j + 1))
    axes: list[list[int]] = []
    for i in range(j):  # outermost first
        if shape[i] == 1:
            continue
        if axes and axes[-1][2] == i - 1 and shape[i] == full_shape[i]:
            # the axis outside is contiguous with this one: (a, b) -> a * shape[i] + b, with this stride
            axes[-1][0] *= shape[i]
            axes[-1][1] = strides[i]
            axes[-1][2] = i
        else:
            axes.append([shape[i], strides[i], i])
    return int(base), tuple((int(n), int(st)) for n, st, _ in axes), int(shape[j] * strides[j])


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
