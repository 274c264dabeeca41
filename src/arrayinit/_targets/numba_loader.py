"""numba, made ready to compile the CPU kernels: imported once, by the loader thread, under the lock a fork
waits for; numba's extension entry points and first-use imports done there, and its BLAS check deferred.

Used where no machine code of a variant is at hand (``arrayinit._targets.native``) and by
``tools/gen_cpu_ir.py``; numba is imported by nothing else on the CPU path.
"""

from __future__ import annotations

import functools
import importlib
import sys

import numpy as np

from arrayinit import _locks

_loaded: dict = {}  # "cpu": arrayinit._targets.cpu, once loaded


class _LazyBlasCheck:
    """Stands for numba's ``arraymath._HAVE_BLAS``: checked (importing scipy) when first asked."""

    def __init__(self, check) -> None:
        self._check = check
        self._value: bool | None = None

    def __bool__(self) -> bool:
        if self._value is None:
            self._value = bool(self._check())
        return self._value


def _defer_numba_blas_check() -> None:
    """numba's first dispatch imports ``numba.np.arraymath``, which imports scipy's BLAS (0.2-0.5 s)
    to decide how ``np.correlate``/``np.convolve`` compile. The kernels use neither: the check is
    deferred until a compilation asks for it, with the same answer. Any failure leaves numba as it is."""
    if "numba.np.arraymath" in sys.modules:
        return
    try:
        from numba.core.compiler_lock import global_compiler_lock
        from numba.np import linalg
    except ImportError:
        return
    real = linalg.ensure_blas

    def not_yet() -> None:
        raise ImportError("BLAS check deferred by arrayinit")

    with global_compiler_lock:  # numba compiles np.dot under this lock: it never sees not_yet
        linalg.ensure_blas = not_yet
        try:
            from numba.np import arraymath
        except Exception:
            return
        finally:
            linalg.ensure_blas = real
        arraymath.ensure_blas = real
        if not arraymath._HAVE_BLAS:
            arraymath._HAVE_BLAS = _LazyBlasCheck(arraymath._check_blas)


def _loaded_once(name: str, load):
    """``_loaded[name]``, from ``load()`` on first use (once, by the loader: ``_locks.load``)."""
    value = _loaded.get(name)
    if value is None:
        value = _locks.load(functools.partial(_load_once, name, load))
    return value


def _load_once(name: str, load):
    value = _loaded.get(name)
    if value is None:
        value = _loaded[name] = load()
    return value


def _load_numba_target():
    import numba
    from numba.core import entrypoints
    from numba.core.compiler_lock import global_compiler_lock

    _defer_numba_blas_check()
    entrypoints.init_all()  # numba's first dispatch would import extensions: done here, under the lock
    for dt in (np.float32, np.float64, np.uint16, np.uint32, np.int64):
        numba.typeof(np.empty(1, dt))  # the first typeof of an array imports numpy.ma
    cpu = importlib.import_module("arrayinit._targets.cpu")
    _locks.hold_during_fork(global_compiler_lock)  # a fork also waits for a compilation in another thread
    return cpu


def numba_target():
    """``arrayinit._targets.cpu`` (imports numba): for compiling a kernel where no machine code is at hand."""
    return _loaded_once("cpu", _load_numba_target)
