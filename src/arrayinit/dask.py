"""dask conveniences: lazy initialized arrays and writing them to zarr chunk by chunk.

Every chunk is generated independently from its offset in the full array, so
the result equals single-process initialization bit for bit for any chunking,
on any scheduler (threads, processes, ``dask.distributed``), with no
communication between workers.
"""

from __future__ import annotations

import dask.array as da

from arrayinit import _dtypes
from arrayinit._registry import get

__all__ = ["array", "to_zarr"]


def array(initializer, shape, *, chunks="auto", dtype=None) -> da.Array:
    """A lazy dask array of ``shape`` filled by ``initializer`` (an initializer or a registered name).

    Examples
    --------
    >>> import arrayinit as ai, arrayinit.dask as aid
    >>> x = aid.array(ai.HeNormal(seed=0), (1000, 64), chunks=(250, 64))
    >>> x.numblocks
    (4, 1)
    >>> bool((x.compute(scheduler="synchronous") == ai.HeNormal(seed=0)((1000, 64))).all())
    True
    """
    init = get(initializer)
    return init(shape, dtype, xp=da, chunks=chunks)


def to_zarr(initializer, shape, url, *, chunks, dtype=None, progress: bool = True, overwrite: bool = False, **kwargs):
    """Write the initialized array of ``shape`` to a zarr store, one chunk at a time.

    Peak memory is a few chunks per worker, whatever the size of the array.
    ``progress`` shows dask's progress bar (local schedulers; with
    ``dask.distributed`` use its dashboard or ``distributed.progress``).
    Extra keyword arguments go to ``dask.array.to_zarr``.

    Examples
    --------
    >>> import tempfile, zarr, arrayinit as ai, arrayinit.dask as aid
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = folder.name + "/w.zarr"
    >>> aid.to_zarr(ai.TruncatedNormal(stddev=0.02, seed=1), (4096, 512), path, chunks=(1024, 512), progress=False)
    >>> z = zarr.open_array(path, mode="r")
    >>> bool((z[:] == ai.TruncatedNormal(stddev=0.02, seed=1)((4096, 512))).all())
    True
    >>> folder.cleanup()
    """
    if dtype is not None and _dtypes.dtype_name(dtype) == "bfloat16":
        # refused before the store is created: zarr would fail on it after making the folder
        raise ValueError(
            "zarr has no bfloat16 data type: write float32 or float16 (the same stream, rounded), or write "
            "arrayinit.dask.array(...) as uint16 bit patterns yourself. Received: dtype='bfloat16'"
        )
    x = array(initializer, shape, chunks=chunks, dtype=dtype)
    if progress:
        from dask.diagnostics import ProgressBar

        with ProgressBar():
            da.to_zarr(x, url, overwrite=overwrite, **kwargs)
    else:
        da.to_zarr(x, url, overwrite=overwrite, **kwargs)
