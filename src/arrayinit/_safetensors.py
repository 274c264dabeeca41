"""A minimal safetensors writer (no dependency) that never leaves a partial file.

Format (https://github.com/huggingface/safetensors, "Format" section): an
8-byte little-endian header length, a JSON header mapping tensor names to
``{"dtype", "shape", "data_offsets"}`` (offsets relative to the data section),
then the tensors' bytes in C order. The header is padded with spaces to a
multiple of 8 bytes.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from collections.abc import Callable, Iterable

import numpy as np

ST_DTYPE = {"float16": "F16", "bfloat16": "BF16", "float32": "F32", "float64": "F64", "uint32": "U32"}
ITEMSIZE = {"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8, "uint32": 4}


def write(
    path: str | os.PathLike,
    entries: Iterable[tuple[str, tuple[int, ...], str]],
    produce: Callable[[str], np.ndarray],
    metadata: dict[str, str] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> None:
    """Write tensors ``entries`` = ``[(name, shape, dtype), ...]`` to ``path``.

    ``produce(name)`` returns the tensor's values (any numpy array of that
    shape whose bytes are the dtype's encoding, e.g. uint16 bit patterns for
    bfloat16). Tensors are produced and written one at a time. The file is
    written under a temporary name and renamed into place only when complete.
    """
    entries = list(entries)
    header: dict = {}
    offset = 0
    for name, shape, dtype in entries:
        nbytes = int(np.prod(shape, dtype=np.int64)) * ITEMSIZE[dtype]
        header[name] = {"dtype": ST_DTYPE[dtype], "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blob = json.dumps(header, separators=(",", ":")).encode("utf-8")
    blob += b" " * (-len(blob) % 8)
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".arrayinit-", suffix=".partial", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(struct.pack("<Q", len(blob)))
            fh.write(blob)
            for i, (name, shape, _dtype) in enumerate(entries):
                arr = np.ascontiguousarray(produce(name))
                expected = header[name]["data_offsets"][1] - header[name]["data_offsets"][0]
                if arr.nbytes != expected or tuple(arr.shape) != tuple(shape):
                    raise ValueError(f"Tensor {name!r} has shape {arr.shape} and {arr.nbytes} bytes; expected {shape}")
                if arr.ndim == 0 or arr.size == 0:
                    fh.write(arr.tobytes())
                else:
                    fh.write(memoryview(arr).cast("B"))  # type: ignore[arg-type]
                if progress is not None:
                    progress(i + 1, len(entries), name)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_header(path: str | os.PathLike) -> dict:
    """The JSON header of a safetensors file."""
    with open(path, "rb") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
        return json.loads(fh.read(n))
