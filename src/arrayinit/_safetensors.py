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
import errno
import json
import math
import os
import secrets
import stat
import struct
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

import numpy as np

from arrayinit._errors import received

ST_DTYPE = {"float16": "F16", "bfloat16": "BF16", "float32": "F32", "float64": "F64", "uint32": "U32", "int64": "I64"}
ITEMSIZE = {"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8, "uint32": 4, "int64": 8}
METADATA_KEY = "__metadata__"

# temporary files of atomic_file() being written
_PARTIAL: set[str] = set()


# what an existing target other than a regular file is, for the message that refuses it
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)

# errors of a write that the file system refused: the message names the file (the OS names none)
_WRITE_ERRNOS = frozenset(
    getattr(errno, name) for name in ("ENOSPC", "EDQUOT", "EFBIG", "EIO", "EROFS") if hasattr(errno, name)
)


def _resolve(path: str) -> str:
    """The file that writing ``path`` creates or replaces: ``path``, or where its symbolic links lead.

    A link that leads nowhere (dangling) resolves to the name it points to,
    as ``open(path, "w")`` would create it; a loop of links is an error.
    """
    if not os.path.islink(path):
        return path
    target = os.path.realpath(path)
    if os.path.islink(target):  # realpath stops where the links go round in a loop
        raise OSError(errno.ELOOP, f"Cannot write {path!r}: it is a symbolic link in a loop of links")
    return target


def _described(path: str, target: str) -> str:
    """``path`` for a message, with the file its links lead to."""
    return repr(path) if target == path else f"{path!r} (a symbolic link to {target!r})"


def output_target(path: str | os.PathLike) -> str:
    """The file that writing ``path`` creates or replaces, checked: a regular file, a new name, or a link to one.

    A symbolic link is followed: the file it points to is written, and the
    link stays a link (a link that points nowhere creates the file it names).
    An existing target that is not a regular file (a folder, a FIFO, a
    socket, a device such as ``/dev/null``) is refused, never replaced.

    Raises
    ------
    IsADirectoryError
        The target is a folder.
    FileExistsError
        The target is a FIFO, a socket or a device.
    FileNotFoundError
        The folder that would hold the target does not exist.
    OSError
        ``path`` is a link in a loop of links, or its target cannot be examined.
    """
    path = os.fspath(path)
    target = _resolve(path)
    output_folder(path)
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return target
    except OSError as e:
        raise type(e)(e.errno, f"Cannot write {_described(path, target)}: {e.strerror or e}") from None
    if stat.S_ISREG(st.st_mode):
        return target
    kind = next((name for test, name in _KINDS if test(st.st_mode)), "not a regular file")
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"Cannot write {_described(path, target)}: it is a folder; give a file name in it")
    raise FileExistsError(
        f"Cannot write {_described(path, target)}: it is {kind}, not a regular file (only a regular file, "
        "or a symbolic link to one, is ever replaced)"
    )


def output_folder(path: str | os.PathLike) -> str:
    """The folder that will hold ``path`` (where its links lead); FileNotFoundError naming ``path`` when missing."""
    path = os.fspath(path)
    target = _resolve(path)
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Cannot write {_described(path, target)}: the folder {folder!r} does not exist")
    return folder


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file handle whose bytes appear at ``path`` only when the ``with`` block completes.

    The bytes go to a temporary file in the folder of the file written
    (``output_target``: ``path``, or the file its symbolic links lead to,
    so that a link stays a link), renamed onto that file at the end; on any
    error the temporary file is removed and ``path`` is left as it was. An
    existing target that is not a regular file (a folder, FIFO, socket or
    device) is refused before anything is written, and checked again just
    before the rename. The temporary file is created with mode ``0o666``
    less the process umask, as ``open(path, "wb")`` would create ``path``
    (not ``tempfile.mkstemp``'s ``0o600``). Errors creating, writing or
    renaming it name ``path``, never the temporary name (a full disk says
    which file could not be written). While it is written its name is kept
    in a registry, so that an interrupt handler can remove it even at a
    moment when the ``with`` block's own clean-up cannot run
    (``remove_partial_files``).
    """
    path = os.fspath(path)
    target = output_target(path)
    folder = os.path.dirname(os.path.abspath(target))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f".arrayinit-{secrets.token_hex(8)}.partial")
        _PARTIAL.add(tmp)  # before it exists: an interrupt at any moment finds it (remove_partial_files)
        try:
            fd = os.open(tmp, flags, 0o666)
            break
        except FileExistsError:
            _PARTIAL.discard(tmp)
            continue
        except OSError as e:
            _PARTIAL.discard(tmp)
            raise type(e)(e.errno, f"Cannot write {_described(path, target)}: {e.strerror or e}") from None
    else:  # pragma: no cover - 100 collisions of 64 random bits
        raise FileExistsError(f"Cannot write {path!r}: no free temporary name in {folder!r}")
    try:
        try:
            with os.fdopen(fd, "wb") as fh:
                yield fh
        except OSError as e:
            # the file system refused a write (or the flush on closing): name the file, as the OS does not
            if e.errno in _WRITE_ERRNOS and e.filename is None:
                raise type(e)(e.errno, f"Cannot write {_described(path, target)}: {e.strerror}") from None
            raise
        output_target(path)  # again: nothing but a regular file is replaced, even one made meanwhile
        try:
            os.replace(tmp, target)
        except OSError as e:
            raise type(e)(e.errno, f"Cannot write {_described(path, target)}: {e.strerror or e}") from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        _PARTIAL.discard(tmp)


def remove_partial_files() -> None:
    """Remove the temporary files of every ``atomic_file`` still being written (after an interrupt)."""
    for tmp in list(_PARTIAL):
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        _PARTIAL.discard(tmp)


def check_text(what: str, value: str) -> None:
    """Refuse a string that UTF-8 cannot encode (a lone surrogate such as ``"\\ud800"``).

    safetensors headers are UTF-8 JSON: a lone surrogate is written as a
    ``\\ud800`` escape that strict readers (the ``safetensors`` package among
    them) refuse, so the file would be unreadable.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        bad = value[e.start : e.end]
        raise ValueError(
            f"{what} must be valid Unicode text (safetensors headers are UTF-8): it contains the lone surrogate "
            f"{bad!r} at position {e.start}. Received: {value!r}"
        ) from None


def header_blob(entries: Iterable[tuple[str, tuple[int, ...], str]], metadata: dict[str, str] | None = None) -> bytes:
    """The length-prefixed, padded JSON header of a file of ``entries`` (checked: names, dtypes, metadata)."""
    header: dict = {}
    offset = 0
    for name, shape, dtype in entries:
        if not isinstance(name, str):
            raise TypeError(f"Tensor names must be strings. {received('name', name)}")
        check_text("A tensor name", name)
        if name == METADATA_KEY:
            raise ValueError(
                f"{METADATA_KEY!r} is reserved by the safetensors format for the metadata. {received('name', name)}"
            )
        if name in header:
            raise ValueError(f"Tensor names must be unique. {received('name', name)}")
        if dtype not in ST_DTYPE:
            raise ValueError(f"Tensor {name!r}: dtype must be one of {sorted(ST_DTYPE)}. {received('dtype', dtype)}")
        nbytes = math.prod(shape) * ITEMSIZE[dtype]
        header[name] = {"dtype": ST_DTYPE[dtype], "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError(f"safetensors metadata maps strings to strings. Received: metadata[{k!r}]={v!r}")
            check_text("A metadata key", k)
            check_text(f"The metadata value of {k!r}", v)
        header[METADATA_KEY] = dict(metadata)
    blob = json.dumps(header, separators=(",", ":")).encode("utf-8")
    blob += b" " * (-len(blob) % 8)
    return struct.pack("<Q", len(blob)) + blob


def file_size(entries: Iterable[tuple[str, tuple[int, ...], str]], metadata: dict[str, str] | None = None) -> int:
    """The size in bytes of the file ``write`` makes of ``entries``."""
    entries = list(entries)
    return len(header_blob(entries, metadata)) + sum(math.prod(s) * ITEMSIZE[d] for _, s, d in entries)


def write(
    path: str | os.PathLike,
    entries: Iterable[tuple[str, tuple[int, ...], str]],
    produce: Callable[[str], np.ndarray | Iterable[np.ndarray]],
    metadata: dict[str, str] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    fsync: bool = False,
) -> None:
    """Write tensors ``entries`` = ``[(name, shape, dtype), ...]`` to ``path``.

    ``produce(name)`` returns the tensor's values: a numpy array of that shape
    whose bytes are the dtype's encoding (e.g. uint16 bit patterns for
    bfloat16), or an iterable of arrays whose bytes, one after the other, are
    the tensor's bytes in C order (a large tensor made block by block; each
    block is written before the next is asked for). Tensors are produced and
    written one at a time. The header (names, dtypes, ``metadata``: strings to
    strings, all valid UTF-8) is checked before the file is opened; the file is
    written under a temporary name and renamed into place only when complete
    (see ``atomic_file``). ``progress(i, n, name)`` is called after each tensor.
    ``fsync``: the bytes are flushed to the disk before the file is renamed
    into place (a file that is there after a crash is complete).
    """
    entries = list(entries)
    blob = header_blob(entries, metadata)
    with atomic_file(path) as fh:
        flushing = _Flusher(fh) if fsync else None
        fh.write(blob)
        for i, (name, shape, dtype) in enumerate(entries):
            expected = math.prod(shape) * ITEMSIZE[dtype]
            values = produce(name)
            if isinstance(values, np.ndarray):
                if tuple(values.shape) != tuple(shape):
                    raise ValueError(f"Tensor {name!r} has shape {values.shape}; expected {shape}")
                values = (values,)
            written = 0
            for block in values:
                # C-order bytes; reshape(-1) copies only a non-contiguous block, and a scalar is one value
                data = np.asarray(block).reshape(-1)
                written += data.nbytes
                if written > expected:
                    break
                fh.write(data.view(np.uint8).data)
                if flushing is not None:
                    flushing.wrote(data.nbytes)
            if written != expected:
                raise ValueError(f"Tensor {name!r} of shape {shape}: produced {written} bytes; expected {expected}")
            if progress is not None:
                progress(i + 1, len(entries), name)
        if fsync:
            fh.flush()
            os.fsync(fh.fileno())


class _Flusher:
    """Starts the disk writes of a file's bytes while the next ones are produced, so that the final ``fsync`` has
    little left to wait for (and the written pages leave the page cache instead of pushing other data out).

    On Linux, ``posix_fadvise(POSIX_FADV_DONTNEED)`` over a range starts its write-back without waiting and drops
    the pages already clean; elsewhere nothing is done before the ``fsync``.
    """

    STEP = 64 * 2**20  # bytes between two requests

    def __init__(self, fh: BinaryIO):
        self.fd = fh.fileno()
        self.pos = self.advised = 0
        self.enabled = hasattr(os, "posix_fadvise") and hasattr(os, "POSIX_FADV_DONTNEED")

    def wrote(self, n: int) -> None:
        self.pos += n
        if self.enabled and self.pos - self.advised >= self.STEP:
            with contextlib.suppress(OSError):
                # from the start: ranges whose write-back was started earlier are dropped now that they are clean
                os.posix_fadvise(self.fd, 0, self.pos, os.POSIX_FADV_DONTNEED)
            self.advised = self.pos


def read_header(path: str | os.PathLike) -> dict:
    """The JSON header of a safetensors file."""
    with open(path, "rb") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
        return json.loads(fh.read(n))
