"""dask: lazy arrays in which every block is generated independently from its offset (chunk-invariant)."""

from __future__ import annotations

import sys
from typing import Any

import array_api_compat as aac
import numpy as np

from arrayinit import _dtypes
from arrayinit._backends import _base
from arrayinit._backends._base import Backend


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
        normalized = da.core.normalize_chunks("auto" if chunks is None else chunks, shape, dtype=np_dtype)

        def block(block_info=None):
            loc = block_info[None]["array-location"]
            bshape = tuple(stop - start for start, stop in loc)
            boff = tuple(o + start for o, (start, _) in zip(offset, loc))
            return make_block(bshape, boff)

        return da.map_blocks(block, chunks=normalized, dtype=np_dtype, meta=np.empty((0,) * len(shape), np_dtype))

    def check_writable(self, x: Any) -> None:
        raise TypeError("dask arrays cannot be filled in place: call the initializer with xp=dask.array")
