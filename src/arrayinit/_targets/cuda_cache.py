"""The CUDA kernels' cache on disk: a second process launches a variant without compiling it.

numba-cuda compiles a kernel for each argument signature on its first launch
(several seconds per variant). Each dispatcher of ``arrayinit._targets.cuda``
gets a ``DiskCache`` as numba-cuda's per-function cache (its ``load_overload``
/ ``save_overload`` hooks): a compiled kernel (PTX and the device's cubin) is
written next to the CPU kernels (``arrayinit._targets.native.cache_dirs``:
``$NUMBA_CACHE_DIR/arrayinit``, the package, then per user), atomically and
with a new file's mode, and read back when its stamp matches exactly:

- the package version, the CUDA kernels' sources (``_kernels/*.py``,
  ``_targets/cuda.py``, this file) and the numba-cuda version (``cache_key``);
- the variant, the argument types and the device's compute capability.

The stamp and the payload's sha256 head the file; a file that does not
match, is not a regular file or is larger than ``native``'s limit is never
loaded (the kernel is compiled and the file written again). numba-cuda's own
``cache=True`` is not used: it trusts a source file's time stamp, which misses
edits in the other files a kernel calls, and loads any file it finds.
"""

from __future__ import annotations

import functools
import hashlib
import json
import pathlib
import pickle
from importlib import metadata

from arrayinit._targets import native

_PACKAGE = pathlib.Path(__file__).resolve().parent.parent
_SOURCES = ("_kernels/*.py", "_targets/cuda.py", "_targets/cuda_cache.py")
_MAGIC = b"arrayinit-cuda-kernel-1\n"


@functools.lru_cache(maxsize=1)
def cache_key() -> str:
    """``<version>-<numba-cuda version>-<sha256 of the CUDA kernels' sources>``."""
    from arrayinit import __version__

    h = hashlib.sha256()
    for f in sorted({f for pattern in _SOURCES for f in _PACKAGE.glob(pattern)}):
        h.update(f.relative_to(_PACKAGE).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    try:
        numba_cuda = metadata.version("numba-cuda")
    except metadata.PackageNotFoundError:  # numba's built-in numba.cuda
        numba_cuda = "builtin"
    return f"{__version__}-{numba_cuda}-{h.hexdigest()}"


def _compute_capability() -> tuple[int, int]:
    from numba import cuda

    major, minor = cuda.get_current_device().compute_capability[:2]
    return int(major), int(minor)


class DiskCache:
    """numba-cuda's cache interface (``numba.cuda.core.caching._Cache``) for one kernel variant."""

    def __init__(self, variant: str) -> None:
        self.variant = variant
        self.hits = 0
        self.misses = 0
        self.written: list[pathlib.Path] = []

    @property
    def cache_path(self) -> str:
        return str(native.cache_dirs()[0])

    def _stamp(self, sig, cc) -> dict:
        return {"key": cache_key(), "variant": self.variant, "signature": str(tuple(sig)), "cc": list(cc)}

    def _name(self, stamp: dict) -> str:
        h = hashlib.sha256(json.dumps(stamp, sort_keys=True).encode()).hexdigest()[:32]
        return f"cuda-{self.variant}-{h}.nbk"

    @staticmethod
    def _header(stamp: dict, payload: bytes) -> bytes:
        head = {**stamp, "size": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}
        return _MAGIC + json.dumps(head, sort_keys=True).encode() + b"\n"

    def load_overload(self, sig, target_context=None, cc=None):
        """The compiled kernel of ``sig`` for the current device, or None (then numba-cuda compiles it)."""
        stamp = self._stamp(sig, _compute_capability() if cc is None else cc)
        name = self._name(stamp)
        for d in native.cache_dirs():
            data = native.read_regular(d / name)
            if data is None or not data.startswith(_MAGIC):
                continue
            nl = data.find(b"\n", len(_MAGIC))
            payload = data[nl + 1 :]
            if nl < 0 or data[: nl + 1] != self._header(stamp, payload):
                continue
            try:
                from numba.cuda.dispatcher import _Kernel

                kernel = _Kernel._rebuild(**pickle.loads(payload))
            except Exception:  # written by another numba-cuda build: compile instead
                continue
            self.hits += 1
            return kernel
        self.misses += 1
        return None

    def save_overload(self, sig, kernel, cc=None) -> None:
        """Writes a kernel numba-cuda has just compiled (and bound: its cubin is made); never fails a launch."""
        try:
            payload = pickle.dumps(kernel._reduce_states(), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            return
        stamp = self._stamp(sig, _compute_capability() if cc is None else cc)
        path = native.write_file(self._name(stamp), self._header(stamp, payload) + payload)
        if path is not None:
            self.written.append(path)

    def enable(self) -> None:
        pass

    def disable(self) -> None:
        pass

    def flush(self) -> None:
        pass


def attach(dispatcher, variant: str) -> None:
    """Give a numba-cuda dispatcher this cache (the simulator's kernels have none: nothing to do)."""
    if hasattr(dispatcher, "_cache") and hasattr(dispatcher, "overloads"):
        dispatcher._cache = DiskCache(variant)
