"""dask: lazy arrays in which every block is generated independently from its offset (chunk-invariant).

A request for more chunks than a dask graph can usefully hold (``MAX_CHUNKS``)
is refused before dask builds its chunk tuples, which for an absurd shape
(``(2**62,)``) fail with a bare ``MemoryError`` or take the machine's memory.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import array_api_compat as aac
import numpy as np

from arrayinit import _dtypes
from arrayinit._backends import _base
from arrayinit._backends._base import Backend
from arrayinit._errors import received

# Measured with dask 2026.8: making a dask array of 2**20 chunks took 19 s, materialising its graph
# 66 s and 1.6 GiB. Both grow with the number of chunks, so 2**24 chunks is already minutes and tens
# of GiB; far beyond it (a shape of 2**62 elements) dask cannot even allocate its chunk tuples.
MAX_CHUNKS = 2**24


def _chunk_bytes(chunks) -> int | None:
    """The byte size that ``chunks`` (None, "auto" or a size such as "64 MiB") makes chunks of, or None."""
    dask = sys.modules["dask"]
    try:
        size = dask.utils.parse_bytes(dask.config.get("array.chunk-size") if chunks in (None, "auto") else chunks)
    except (TypeError, ValueError):  # not a byte size: dask explains
        return None
    return int(size) if size and size > 0 else None


def _min_chunks(shape: tuple[int, ...], itemsize: int, chunks) -> int:
    """A lower bound of the number of chunks dask makes of ``shape`` with ``chunks``, without making them."""
    if chunks is None or isinstance(chunks, str):
        size = _chunk_bytes(chunks)
        return 1 if size is None else -(-math.prod(shape) * itemsize // size)
    per_axis = (chunks,) * len(shape) if isinstance(chunks, int) else chunks
    if not isinstance(per_axis, (tuple, list)) or len(per_axis) != len(shape):
        return 1  # a dict or a malformed value: dask decides (and explains)
    n = 1
    for extent, c in zip(shape, per_axis):
        if isinstance(c, int) and not isinstance(c, bool) and c > 0:
            n *= -(-extent // c)
        elif isinstance(c, (tuple, list)):
            n *= max(len(c), 1)
    return n


def _too_many(shape: tuple[int, ...], itemsize: int, chunks, n: int | None) -> ValueError:
    many = "too many chunks" if n is None else f"{n:,} or more chunks"
    if chunks is None or chunks == "auto":
        count = math.prod(shape)
        return ValueError(
            f"Argument `shape` asks for {count * itemsize / 2**30:,.1f} GiB ({count} values of {itemsize} bytes) in "
            f"{many}, more than a dask array can hold (at most {MAX_CHUNKS:,} chunks). Received: shape={shape}"
        )
    return ValueError(
        f"Argument `chunks` splits the shape {shape} into {many}, more than a dask array can hold "
        f"(at most {MAX_CHUNKS:,}): give larger chunks. {received('chunks', chunks)}"
    )


def _normalized(shape: tuple[int, ...], np_dtype: np.dtype, chunks) -> tuple[tuple[int, ...], ...]:
    """dask's chunks of ``shape`` for ``chunks``; a ValueError naming `shape` or `chunks` when they cannot be."""
    n = _min_chunks(shape, np_dtype.itemsize, chunks)
    if n > MAX_CHUNKS:
        raise _too_many(shape, np_dtype.itemsize, chunks, n)
    da = sys.modules["dask.array"]
    try:
        normalized = da.core.normalize_chunks("auto" if chunks is None else chunks, shape, dtype=np_dtype)
    except MemoryError:  # the chunk tuples themselves: more chunks than the lower bound saw
        raise _too_many(shape, np_dtype.itemsize, chunks, None) from None
    except (ValueError, TypeError, ZeroDivisionError) as e:
        if chunks is None:
            raise
        raise ValueError(
            f"Argument `chunks` does not fit the shape {shape}: {e}. {received('chunks', chunks)}"
        ) from None
    n = math.prod(len(c) for c in normalized)
    if n > MAX_CHUNKS:
        raise _too_many(shape, np_dtype.itemsize, chunks, n)
    return normalized


class DaskBackend(Backend):
    name = "dask"
    lazy = True

    def owns_namespace(self, xp: Any) -> bool:
        # array_api_compat recognises dask.array; the top-level ``dask`` module is accepted too
        return _base.is_namespace(aac.is_dask_namespace, xp) or getattr(xp, "__name__", None) == "dask"

    def owns_array(self, x: Any) -> bool:
        return aac.is_dask_array(x)

    def namespace(self, xp: Any) -> Any:
        return sys.modules["dask.array"]

    def namespace_of(self, x: Any) -> Any:
        return sys.modules["dask.array"]

    def device_of(self, x: Any) -> Any:
        return None

    def lazy_array(self, xp, make_block, shape, offset, name, chunks):
        da = sys.modules["dask.array"]
        np_dtype = _dtypes.numpy_dtype(name)
        normalized = _normalized(shape, np_dtype, chunks)

        def block(block_info=None):
            loc = block_info[None]["array-location"]
            bshape = tuple(stop - start for start, stop in loc)
            boff = tuple(o + start for o, (start, _) in zip(offset, loc))
            return make_block(bshape, boff)

        return da.map_blocks(block, chunks=normalized, dtype=np_dtype, meta=np.empty((0,) * len(shape), np_dtype))

    def check_writable(self, x: Any) -> None:
        raise TypeError("dask arrays cannot be filled in place: call the initializer with xp=dask.array")
