"""Requests refused before anything is generated: shapes beyond numpy's dimensions or 64-bit element indices,
integers of thousands of digits, and whatever an initializer's own checks refuse for a shape and dtype."""

from __future__ import annotations

import math

import numpy as np

from arrayinit._initializers import Initializer
from arrayinit._plan import resolve_block
from arrayinit.cli._messages import short, short_int

# element indices are 64-bit (docs/stream-contract.md): every dimension and element count stays below this
MAX_ELEMENTS = 2**63

# the most dimensions a numpy array can have (tensors are generated as numpy arrays): 64 since numpy 2.0, 32 before
MAX_DIMS = 64 if np.lib.NumpyVersion(np.__version__) >= "2.0.0" else 32


def check_dims(where: str, shape: tuple[int, ...]) -> None:
    """At most ``MAX_DIMS`` dimensions; every dimension and the element count below 2**63 (64-bit indices)."""
    if len(shape) > MAX_DIMS:
        raise ValueError(
            f"{where}: a tensor has at most {MAX_DIMS} dimensions (numpy's limit). "
            f"Received: shape={short(shape)} ({len(shape)} dimensions)"
        )
    for d in shape:
        if d >= MAX_ELEMENTS:
            raise ValueError(
                f"{where}: every dimension must be below 2**63 (element indices are 64-bit). "
                f"Received: shape={short(shape)}"
            )
    n = math.prod(shape)
    if n >= MAX_ELEMENTS:
        raise ValueError(
            f"{where}: the tensor would have {short_int(n)} elements; element indices are 64-bit and must "
            f"stay below 2**63. Received: shape={short(shape)}"
        )


def parse_json_int(text: str) -> int:
    """``json`` ``parse_int`` (and the YAML loader's check): no integer of thousands of digits (Python
    refuses those with an error about its own settings)."""
    if len(text) > 4000:  # Python refuses int() of more than 4,300 digits
        raise ValueError(
            f"a number of {len(text)} digits is too large for any field of a spec (seeds are below 2**64, "
            f"dimensions below 2**63). Received: {text[:20]}...{text[-8:]}"
        )
    return int(text)


def check_generates(init: Initializer, shape: tuple[int, ...], dtype: str) -> None:
    """Run ``init``'s argument, shape and dtype checks for a ``shape`` tensor without generating it."""
    init._check(resolve_block(shape, None, None)[1], dtype)
