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

The runs of a block are described by value (``RunAxes``): the start of the
first run and up to ``RUN_AXES`` (extent, stride) pairs of the leading axes the
block does not span whole; each tile or item derives its run's start from its
run number. A launch needs no device allocation, no copy from the host and no
synchronisation, whatever the block (``arrayinit._engine.cuda`` splits the rare
block with more partial axes into several launches).

Small launches (a bias, a short shard) use fewer than 128 blocks, for which
numba-cuda warns "Grid size N will likely result in GPU under-utilization";
that is how a small fill should be launched, so exactly that warning (by its
message) is filtered when this module is imported.
"""

from __future__ import annotations

import warnings

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
from arrayinit._targets import cuda_cache

_STREAM_HI_FLIP = np.uint64(0x80000000)  # stream s ^ 2**63, on the high counter word

MAX_THREADS = 256  # tiled kernels: threads per block at most (the shared tile's size)
MAX_BLOCKS = 1 << 20  # grid-stride loops: no need for more blocks (and gridDim.x < 2**31)
RUN_AXES = 4  # leading axes of a block's runs described by value (padded with extent-1 axes in front)

# numba-cuda's warning for launches of fewer than 128 blocks (numba.cuda.dispatcher._LaunchConfiguration);
# every other warning is left as it is
UNDER_UTILIZATION_WARNING = r"Grid size \d+ will likely result in GPU under-utilization due to low occupancy"


def quiet_small_launches() -> None:
    """Filter numba-cuda's under-utilization warning, and only it (by its message)."""
    warnings.filterwarnings("ignore", message=UNDER_UTILIZATION_WARNING)


quiet_small_launches()


@cuda.jit(device=True)
def _axis_step(q, start, n, stride):
    """One leading axis of a run number ``q`` (innermost first): the quotient left, the start so far."""
    if n > 1:
        r = q // n
        start += (q - r * n) * stride
        q = r
    return q, start


@cuda.jit(device=True)
def run_start(row, base, ext, strd):
    """Global index of the first element of run ``row``: ``base`` plus each leading axis' index times its
    stride (``ext``/``strd``: ``RUN_AXES`` extents and strides, outermost first)."""
    q, start = _axis_step(row, base, ext[3], strd[3])
    q, start = _axis_step(q, start, ext[2], strd[2])
    q, start = _axis_step(q, start, ext[1], strd[1])
    q, start = _axis_step(q, start, ext[0], strd[0])
    return start


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
    def tiled(out, n_rows, first, ext, strd, row_len, nb_row, tiles_row, k0, k1, s0, s1, wide, dist, p):
        tile_buf = cuda.shared.array(slots, tile_dtype)
        t = np.uint32(cuda.threadIdx.x)
        nt = np.uint32(cuda.blockDim.x)
        pitch = np.uint32(nt + pad)
        tile = np.int64(cuda.blockIdx.x)
        while tile < n_rows * tiles_row:  # the same trip count for every thread of the block
            row = 0
            if n_rows > 1:
                row = tile // tiles_row
            c0 = (tile - row * tiles_row) * nt  # first item of the tile within the run
            start = first
            if n_rows > 1:
                start = run_start(row, first, ext, strd)
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
    def flat(out, n_rows, first, ext, strd, row_len, nb_row, tiles_row, k0, k1, s0, s1, wide, dist, p):
        i = np.int64(cuda.grid(1))
        while i < n_rows * nb_row:
            row = 0
            start = first
            if n_rows > 1:
                row = i // nb_row
                start = run_start(row, first, ext, strd)
            b = (start >> 2) + (i - row * nb_row)
            v0, v1, v2, v3 = values(np.uint64(b), k0, k1, s0, s1, wide, dist, p)
            base = b * 4 - start
            for lane in range(4):
                j = base + lane
                if 0 <= j < row_len:
                    store(out, np.uint64(row * row_len + j), select_lane(v0, v1, v2, v3, lane))
            i += cuda.gridsize(1)

    return tiled, flat


# (family, output format) -> (tiled, flat); numba compiles each on its first launch, or loads it from the
# disk cache (arrayinit._targets.cuda_cache)
KERNELS = {
    ("fill32", STORE_NATIVE): _kernels(_values32, np.float32, _store_native),
    ("fill32", STORE_BF16): _kernels(_values32, np.float32, _store_bf16),
    ("fill32", STORE_F16): _kernels(_values32, np.float32, _store_f16),
    ("fill64", STORE_NATIVE): _kernels(_values64, np.float64, _store_native),
    ("fill64", STORE_BF16): _kernels(_values64, np.float64, _store_bf16),
    ("fill64", STORE_F16): _kernels(_values64, np.float64, _store_f16),
    ("bits", STORE_NATIVE): _kernels(_values_bits, np.uint32, _store_native),
}


def items_per_run(base: int, strides, row_len: int) -> int:
    """Philox blocks (items) a run of ``row_len`` elements touches, at most, over the runs starting at
    ``base + sum(i_k * strides[k])``, without listing them: exact when every
    stride is a multiple of 4 (all runs start at the same lane), else the most any start can give (the
    kernels skip the lanes outside a run, so one item more only costs its time)."""
    if all(st % 4 == 0 for st in strides):
        return ((base & 3) + row_len + 3) >> 2
    return (row_len + 6) >> 2


for (_family, _kind), _pair in KERNELS.items():
    for _style, _kernel in zip(("tiled", "flat"), _pair):
        cuda_cache.attach(_kernel, f"{_family}-{_kind}-{_style}")


def launch(kernel, blocks: int, threads: int, stream, args: tuple) -> None:
    """Queue ``kernel`` on ``stream`` with ``blocks`` x ``threads`` threads."""
    kernel[blocks, threads, stream](*args)


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
