"""CUDA target: grid-stride kernels over the shared samplers (the only module importing numba.cuda).

Each work item is one Philox block (4 consecutive elements of one run of the
block): the thread computes the block's four words once and stores the lanes
that fall inside the run. Values depend only on the element index, never on
the launch configuration, so any grid and block size give the same bits, and
the same bits as the CPU target (see docs/stream-contract.md).
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from arrayinit._kernels.floats import bf16_bits, f16_bits, wide_word
from arrayinit._kernels.philox import philox_block, select_lane
from arrayinit._kernels.samplers import (
    normal32,
    normal64,
    truncnorm32,
    truncnorm32_central,
    truncnorm64,
    uniform32,
    uniform64,
)

UNIFORM, NORMAL, TRUNCNORM, TRUNCNORM_CENTRAL = 0, 1, 2, 3
STORE_NATIVE, STORE_BF16, STORE_F16 = 0, 1, 2
_STREAM_HI_FLIP = np.uint64(0x80000000)  # stream s ^ 2**63, on the high counter word


@cuda.jit(device=True)
def _sample32(w, dist, p):
    if dist == UNIFORM:
        return uniform32(w, p[0], p[1], p[6], p[7])
    if dist == NORMAL:
        return normal32(w, p[4], p[5])
    if dist == TRUNCNORM_CENTRAL:
        return truncnorm32_central(w, p[0], p[1], p[2], p[4], p[5], p[6], p[7])
    return truncnorm32(w, p[0], p[1], p[2], p[4], p[5], p[6], p[7])


@cuda.jit(device=True)
def _sample64(w64, dist, p):
    if dist == UNIFORM:
        return uniform64(w64, p[0], p[1], p[6], p[7])
    if dist == NORMAL:
        return normal64(w64, p[4], p[5])
    return truncnorm64(w64, p[0], p[1], p[2], p[4], p[5], p[6], p[7])


@cuda.jit(device=True)
def _store(out, idx, x, kind):
    if kind == STORE_BF16:
        out[idx] = bf16_bits(np.float32(x))
    elif kind == STORE_F16:
        out[idx] = f16_bits(np.float32(x))
    else:
        out[idx] = x


@cuda.jit(device=True)
def _item(i, nb_row, starts):
    """Work item ``i`` -> (row, its first global index, Philox block number)."""
    row = i // nb_row
    start = starts[row]
    return row, start, (start >> 2) + (i - row * nb_row)


@cuda.jit
def fill32(out, kind, starts, row_len, nb_row, k0, k1, s0, s1, dist, p):
    """float32 arithmetic: outputs of 32 bits or fewer (``out``: float32 or uint16 bit patterns)."""
    n_items = starts.shape[0] * nb_row
    i = cuda.grid(1)
    stride = cuda.gridsize(1)
    while i < n_items:
        row, start, b = _item(i, nb_row, starts)
        x0, x1, x2, x3 = philox_block(np.uint64(b), k0, k1, s0, s1)
        base = b * 4 - start
        for lane in range(4):
            j = base + lane
            if 0 <= j < row_len:
                w = np.uint32(select_lane(x0, x1, x2, x3, lane))
                _store(out, row * row_len + j, _sample32(w, dist, p), kind)
        i += stride


@cuda.jit
def fill64(out, kind, starts, row_len, nb_row, k0, k1, s0, s1, wide, dist, p):
    """float64 arithmetic: float64 outputs (``wide``: words from two streams) and far-tail truncation."""
    n_items = starts.shape[0] * nb_row
    i = cuda.grid(1)
    stride = cuda.gridsize(1)
    while i < n_items:
        row, start, b = _item(i, nb_row, starts)
        x0, x1, x2, x3 = philox_block(np.uint64(b), k0, k1, s0, s1)
        y0 = y1 = y2 = y3 = np.uint64(0)
        if wide:
            y0, y1, y2, y3 = philox_block(np.uint64(b), k0, k1, s0, s1 ^ _STREAM_HI_FLIP)
        base = b * 4 - start
        for lane in range(4):
            j = base + lane
            if 0 <= j < row_len:
                # explicit uint64 casts: no-ops on the GPU, exact types in the simulator
                w64 = np.uint64(
                    wide_word(
                        np.uint64(select_lane(x0, x1, x2, x3, lane)), np.uint64(select_lane(y0, y1, y2, y3, lane))
                    )
                )
                _store(out, row * row_len + j, _sample64(w64, dist, p), kind)
        i += stride


@cuda.jit
def bits(out, starts, row_len, nb_row, k0, k1, s0, s1):
    """The raw uint32 words."""
    n_items = starts.shape[0] * nb_row
    i = cuda.grid(1)
    stride = cuda.gridsize(1)
    while i < n_items:
        row, start, b = _item(i, nb_row, starts)
        x0, x1, x2, x3 = philox_block(np.uint64(b), k0, k1, s0, s1)
        base = b * 4 - start
        for lane in range(4):
            j = base + lane
            if 0 <= j < row_len:
                out[row * row_len + j] = np.uint32(select_lane(x0, x1, x2, x3, lane))
        i += stride


def items_per_row(row_len: int) -> int:
    """Philox blocks a run of ``row_len`` elements can touch (one more when it starts unaligned)."""
    return (row_len + 3) // 4 + 1


def launch_config(n_items: int, threads: int = 256, max_blocks: int | None = None) -> tuple[int, int]:
    """``(blocks, threads)``; the kernels are grid-stride loops, so any value gives the same result."""
    blocks = max(1, math.ceil(n_items / threads))
    if max_blocks is not None:
        blocks = min(blocks, max_blocks)
    return blocks, threads
