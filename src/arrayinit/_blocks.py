"""A large tensor generated block by block into one reused buffer (bit-identical to the whole tensor), and the
memory that generation needs."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator

import numpy as np

from arrayinit import _dtypes
from arrayinit._initializers import Initializer, Orthogonal

# values generated at once for a large tensor (32 MiB of float32): large enough that a call's fixed cost (a parallel
# launch waits for a scheduler tick on a busy machine) is small beside its work, small beside any model
BLOCK_VALUES = 1 << 23


def working_memory(init: Initializer, shape: tuple[int, ...], dtype: str) -> int:
    """Bytes needed to generate a ``shape`` tensor of ``dtype`` as ``tensor_blocks`` does (block by block)."""
    n = math.prod(shape)
    item = _dtypes.storage_dtype(dtype).itemsize
    if isinstance(init, Orthogonal):
        # the whole float64 matrix: the normal draw, LAPACK's copy, Q, the scaled Q, and the output
        return n * (4 * 8 + item)
    # one block in the output format, plus float64 temporaries of a block for constants and Identity
    return min(n, max(BLOCK_VALUES, 1)) * (item + 16)


def _block_grid(shape: tuple[int, ...], limit: int) -> Iterator[tuple[tuple[int, ...], tuple[int, ...]]]:
    """``(block shape, offset)`` of consecutive C-order blocks of ``shape``, each of at most ``limit`` values.

    Blocks cut the first axis whose trailing sub-tensors hold at most
    ``limit`` values; the axes before it advance one index at a time.
    """
    nd = len(shape)
    inner = [1] * (nd + 1)  # inner[i] = values of one index of axis i - 1 ... : prod(shape[i:])
    for i in range(nd - 1, -1, -1):
        inner[i] = inner[i + 1] * shape[i]
    axis = next(i for i in range(nd) if inner[i + 1] <= limit)
    rows = max(1, limit // inner[axis + 1])
    for lead in itertools.product(*(range(d) for d in shape[:axis])):
        for start in range(0, shape[axis], rows):
            k = min(rows, shape[axis] - start)
            yield (1,) * axis + (k, *shape[axis + 1 :]), (*lead, start) + (0,) * (nd - axis - 1)


def tensor_blocks(
    init: Initializer, shape: tuple[int, ...], dtype: str, written: Callable[[int], None] = lambda n: None
) -> Iterator[np.ndarray]:
    """The storage bytes (uint16 for 16-bit floats) of ``init(shape, dtype)``, block after block.

    A tensor of more than ``BLOCK_VALUES`` values is generated in blocks
    (``full_shape``/``offset``: bit-identical to the whole tensor) into one
    reused buffer, so memory stays at one block whatever the tensor's size.
    Orthogonal (whose every block factors the whole matrix), scalars and small
    tensors are generated whole. ``written(n)`` is called once the consumer
    has taken each block of ``n`` values.
    """
    n = math.prod(shape)
    storage = _dtypes.storage_dtype(dtype)
    if n == 0:
        return
    if n <= BLOCK_VALUES or isinstance(init, Orthogonal):
        yield init(shape, dtype).view(storage)
        written(n)
        return
    buf = _dtypes.aligned_empty((min(n, BLOCK_VALUES),), _dtypes.numpy_dtype(dtype))
    for bshape, offset in _block_grid(shape, BLOCK_VALUES):
        m = math.prod(bshape)
        block = buf[:m].reshape(bshape)
        init(bshape, dtype, full_shape=shape, offset=offset, out=block)
        yield block.view(storage)
        written(m)
