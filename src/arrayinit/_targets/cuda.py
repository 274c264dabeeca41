"""CUDA target: grid-stride kernels over the shared samplers (the only module importing numba.cuda).

A work item is one Philox block: four consecutive elements of one run of the
block, computed from the block's four words at once. Values depend only on the
element index, never on the launch configuration, so any grid and block size
give the same bits, and the same bits as the CPU target (see
docs/stream-contract.md).

Two kernels per arithmetic family and output format (``KERNELS``), the same
values:

- tiled (runs of at least ``4 * threads`` elements): a thread block takes
  a tile of ``threads`` consecutive items of one run, puts their values in
  shared memory, and writes the tile back so that consecutive threads store
  consecutive elements (coalesced; a thread storing its own four lanes would
  touch four times the memory sectors per warp store);
- flat (short runs, many of them): one thread per item, lanes stored
  directly, items numbered across runs so no thread idles on a short run.

``starts`` is a device array of run starts, or a 1-tuple for a block that is a
single run (no device allocation or copy for the common, contiguous case).
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from arrayinit._kernels.abi import (
    NORMAL,
    STORE_BF16,
    STORE_F16,
    STORE_NATIVE,
    TRUNCNORM_CENTRAL,
    TRUNCNORM_LOCAL,
    TRUNCNORM_WINDOW,
    UNIFORM,
    UNIFORM_REL,
)
from arrayinit._kernels.floats import bf16_bits, f16_bits, wide_word
from arrayinit._kernels.philox import philox_block, select_lane
from arrayinit._kernels.samplers import (
    normal32,
    normal64,
    truncnorm32,
    truncnorm32_central,
    truncnorm32_window,
    truncnorm64,
    truncnorm64_central,
    truncnorm64_window,
    truncnorm_local64,
    uniform32,
    uniform64,
    uniform_rel64,
)

_STREAM_HI_FLIP = np.uint64(0x80000000)  # stream s ^ 2**63, on the high counter word

MAX_THREADS = 256  # tiled kernels: threads per block at most (the shared tile's size)
MAX_BLOCKS = 1 << 20  # grid-stride loops: no need for more blocks (and gridDim.x < 2**31)


@cuda.jit(device=True)
def _sample32(w, dist, p):
    if dist == UNIFORM:
        return uniform32(w, p[0], p[1], p[6], p[7])
    if dist == NORMAL:
        return normal32(w, p[4], p[5])
    if dist == TRUNCNORM_WINDOW:
        return truncnorm32_window(w, p[0], p[1], p[4], p[5], p[6], p[7])
    if dist == TRUNCNORM_CENTRAL:
        return truncnorm32_central(w, p[0], p[1], p[2], p[4], p[5], p[6], p[7])
    return truncnorm32(w, p[0], p[1], p[2], p[4], p[5], p[6], p[7])


@cuda.jit(device=True)
def _sample64(w64, dist, p):
    if dist == UNIFORM:
        return uniform64(w64, p[0], p[1], p[6], p[7])
    if dist == NORMAL:
        return normal64(w64, p[4], p[5])
    if dist == TRUNCNORM_WINDOW:
        return truncnorm64_window(w64, p[0], p[1], p[4], p[5], p[6], p[7])
    if dist == TRUNCNORM_CENTRAL:
        return truncnorm64_central(w64, p[0], p[1], p[2], p[4], p[5], p[6], p[7])
    if dist == UNIFORM_REL:
        return uniform_rel64(w64, p[0], p[1], p[2], p[6], p[7])
    if dist == TRUNCNORM_LOCAL:
        return truncnorm_local64(w64, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11])
    return truncnorm64(w64, p[0], p[1], p[2], p[4], p[5], p[6], p[7])


@cuda.jit(device=True)
def _values32(b, k0, k1, s0, s1, wide, dist, p):
    """float32 arithmetic: the four values of Philox block ``b``."""
    x0, x1, x2, x3 = philox_block(b, k0, k1, s0, s1)
    return (
        _sample32(np.uint32(x0), dist, p),
        _sample32(np.uint32(x1), dist, p),
        _sample32(np.uint32(x2), dist, p),
        _sample32(np.uint32(x3), dist, p),
    )


@cuda.jit(device=True)
def _values64(b, k0, k1, s0, s1, wide, dist, p):
    """float64 arithmetic (``wide``: 64-bit words from two streams)."""
    x0, x1, x2, x3 = philox_block(b, k0, k1, s0, s1)
    y0 = y1 = y2 = y3 = np.uint64(0)
    if wide:
        y0, y1, y2, y3 = philox_block(b, k0, k1, s0, s1 ^ _STREAM_HI_FLIP)
    # explicit uint64 casts: no-ops on the GPU, exact types in the simulator
    return (
        _sample64(np.uint64(wide_word(np.uint64(x0), np.uint64(y0))), dist, p),
        _sample64(np.uint64(wide_word(np.uint64(x1), np.uint64(y1))), dist, p),
        _sample64(np.uint64(wide_word(np.uint64(x2), np.uint64(y2))), dist, p),
        _sample64(np.uint64(wide_word(np.uint64(x3), np.uint64(y3))), dist, p),
    )


@cuda.jit(device=True)
def _values_bits(b, k0, k1, s0, s1, wide, dist, p):
    """The raw words."""
    x0, x1, x2, x3 = philox_block(b, k0, k1, s0, s1)
    return np.uint32(x0), np.uint32(x1), np.uint32(x2), np.uint32(x3)


@cuda.jit(device=True)
def _store_native(out, idx, x):
    out[idx] = x


@cuda.jit(device=True)
def _store_bf16(out, idx, x):
    out[idx] = bf16_bits(np.float32(x))


@cuda.jit(device=True)
def _store_f16(out, idx, x):
    out[idx] = f16_bits(np.float32(x))


def _kernels(values, tile_dtype, store):
    """The tiled and flat kernels of one family (``values``: block -> four values) and output format.

    Element indices are unsigned where they index ``out``: numba adds a
    negative-index wraparound to every signed index.

    The tile holds four rows (one per lane) of ``threads`` values, each row
    padded by 32 bytes: with threads a multiple of 32, neither the write pass
    (consecutive threads, one row) nor the read pass (consecutive slots, lanes
    interleaved) has shared-memory bank conflicts. The tiled kernel must be
    launched with at most ``MAX_THREADS`` threads per block (``use_tiled``).
    """
    pad = 32 // np.dtype(tile_dtype).itemsize
    slots = 4 * (MAX_THREADS + pad)

    @cuda.jit
    def tiled(out, starts, row_len, nb_row, tiles_row, k0, k1, s0, s1, wide, dist, p):
        tile_buf = cuda.shared.array(slots, tile_dtype)
        t = np.uint32(cuda.threadIdx.x)
        nt = np.uint32(cuda.blockDim.x)
        pitch = np.uint32(nt + pad)
        n_rows = len(starts)
        tile = np.int64(cuda.blockIdx.x)
        while tile < n_rows * tiles_row:  # the same trip count for every thread of the block
            row = 0
            if n_rows > 1:
                row = tile // tiles_row
            c0 = (tile - row * tiles_row) * nt  # first item of the tile within the run
            start = starts[row]
            b0 = (start >> 2) + c0  # its Philox block
            if c0 + t < nb_row:
                v0, v1, v2, v3 = values(np.uint64(b0 + t), k0, k1, s0, s1, wide, dist, p)
                tile_buf[t] = v0
                tile_buf[np.uint32(pitch + t)] = v1
                tile_buf[np.uint32(2 * pitch + t)] = v2
                tile_buf[np.uint32(3 * pitch + t)] = v3
            cuda.syncthreads()
            # slot s of the tile is lane s & 3 of item s >> 2: element j0 + s of the run
            j0 = b0 * 4 - start
            base = row * row_len
            if j0 >= 0 and j0 + 4 * nt <= row_len:  # the whole tile lies in the run: no bounds checks
                for k in range(4):
                    s = np.uint32(t + k * nt)
                    store(out, np.uint64(base + j0 + s), tile_buf[np.uint32((s & 3) * pitch + (s >> 2))])
            else:
                for k in range(4):
                    s = np.uint32(t + k * nt)
                    j = j0 + s
                    if 0 <= j < row_len:
                        store(out, np.uint64(base + j), tile_buf[np.uint32((s & 3) * pitch + (s >> 2))])
            cuda.syncthreads()  # the tile is read before the next one is written
            tile += cuda.gridDim.x

    @cuda.jit
    def flat(out, starts, row_len, nb_row, tiles_row, k0, k1, s0, s1, wide, dist, p):
        n_rows = len(starts)
        i = np.int64(cuda.grid(1))
        while i < n_rows * nb_row:
            row = 0
            if n_rows > 1:
                row = i // nb_row
            start = starts[row]
            b = (start >> 2) + (i - row * nb_row)
            v0, v1, v2, v3 = values(np.uint64(b), k0, k1, s0, s1, wide, dist, p)
            base = b * 4 - start
            for lane in range(4):
                j = base + lane
                if 0 <= j < row_len:
                    store(out, np.uint64(row * row_len + j), select_lane(v0, v1, v2, v3, lane))
            i += cuda.gridsize(1)

    return tiled, flat


# (family, output format) -> (tiled, flat); numba compiles each on its first launch
KERNELS = {
    ("fill32", STORE_NATIVE): _kernels(_values32, np.float32, _store_native),
    ("fill32", STORE_BF16): _kernels(_values32, np.float32, _store_bf16),
    ("fill32", STORE_F16): _kernels(_values32, np.float32, _store_f16),
    ("fill64", STORE_NATIVE): _kernels(_values64, np.float64, _store_native),
    ("fill64", STORE_BF16): _kernels(_values64, np.float64, _store_bf16),
    ("fill64", STORE_F16): _kernels(_values64, np.float64, _store_f16),
    ("bits", STORE_NATIVE): _kernels(_values_bits, np.uint32, _store_native),
}


def items_per_row(starts: np.ndarray, row_len: int) -> int:
    """Philox blocks the runs of ``row_len`` elements starting at ``starts`` touch, at most."""
    return int((((starts & 3) + row_len + 3) >> 2).max())


def use_tiled(row_len: int, threads: int) -> bool:
    """Runs of at least one full tile of elements are written by the tiled kernels."""
    return threads <= MAX_THREADS and row_len >= 4 * threads


def grid_blocks(wanted: int, max_blocks: int | None = None) -> int:
    """Blocks to launch for ``wanted`` (tiles, or items / threads), capped.

    The kernels are grid-stride loops, so any value gives the same result.
    """
    blocks = max(1, min(wanted, MAX_BLOCKS))
    if max_blocks is not None:
        blocks = min(blocks, max_blocks)
    return blocks
