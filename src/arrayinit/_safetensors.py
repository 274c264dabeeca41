"""A minimal safetensors writer (no dependency) that never leaves a partial file.

Format (https://github.com/huggingface/safetensors, "Format" section): an
8-byte little-endian header length, a JSON header mapping tensor names to
``{"dtype", "shape", "data_offsets"}`` (offsets relative to the data section),
then the tensors' bytes in C order. The header is padded with spaces to a
multiple of 8 bytes. The optional ``"__metadata__"`` entry maps strings to
strings.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import struct
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

import numpy as np

from arrayinit._errors import received

ST_DTYPE = {"float16": "F16", "bfloat16": "BF16", "float32": "F32", "float64": "F64", "uint32": "U32"}
ITEMSIZE = {"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8, "uint32": 4}
METADATA_KEY = "__metadata__"


def output_folder(path: str | os.PathLike) -> str:
    """The folder that will hold ``path``; FileNotFoundError naming ``path`` when it does not exist."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Cannot write {path!r}: the folder {folder!r} does not exist")
    return folder


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file handle whose bytes appear at ``path`` only when the ``with`` block completes.

    The bytes go to a temporary file in the same folder, renamed onto ``path``
    at the end; on any error the temporary file is removed and ``path`` is left
    as it was. The temporary file is created with mode ``0o666`` less the
    process umask, as ``open(path, "wb")`` would create ``path`` (not
    ``tempfile.mkstemp``'s ``0o600``). Errors creating or renaming it name
    ``path``, never the temporary name.
    """
    path = os.fspath(path)
    folder = output_folder(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f".arrayinit-{secrets.token_hex(8)}.partial")
        try:
            fd = os.open(tmp, flags, 0o666)
            break
        except FileExistsError:
            continue
        except OSError as e:
            raise type(e)(f"Cannot write {path!r}: {e.strerror or e}") from None
    else:  # pragma: no cover - 100 collisions of 64 random bits
        raise FileExistsError(f"Cannot write {path!r}: no free temporary name in {folder!r}")
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
        try:
            os.replace(tmp, path)
        except OSError as e:
            raise type(e)(f"Cannot write {path!r}: {e.strerror or e}") from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


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
    bfloat16). Tensors are produced and written one at a time. The header
    (names, dtypes, ``metadata``: strings to strings) is checked before the
    file is opened; the file is written under a temporary name and renamed
    into place only when complete (see ``atomic_file``).
    """
    entries = list(entries)
    header: dict = {}
    offset = 0
    for name, shape, dtype in entries:
        if not isinstance(name, str):
            raise TypeError(f"Tensor names must be strings. {received('name', name)}")
        if name == METADATA_KEY:
            raise ValueError(
                f"{METADATA_KEY!r} is reserved by the safetensors format for the metadata. {received('name', name)}"
            )
        if name in header:
            raise ValueError(f"Tensor names must be unique. {received('name', name)}")
        if dtype not in ST_DTYPE:
            raise ValueError(f"Tensor {name!r}: dtype must be one of {sorted(ST_DTYPE)}. {received('dtype', dtype)}")
        nbytes = int(np.prod(shape, dtype=np.int64)) * ITEMSIZE[dtype]
        header[name] = {"dtype": ST_DTYPE[dtype], "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError(f"safetensors metadata maps strings to strings. Received: metadata[{k!r}]={v!r}")
        header[METADATA_KEY] = dict(metadata)
    blob = json.dumps(header, separators=(",", ":")).encode("utf-8")
    blob += b" " * (-len(blob) % 8)
    with atomic_file(path) as fh:
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


def read_header(path: str | os.PathLike) -> dict:
    """The JSON header of a safetensors file."""
    with open(path, "rb") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
        return json.loads(fh.read(n))
