"""Host-value plans: initializers whose values are not a sampler of the stream element by element.

Constants (complex ones too), the (scaled) identity, orthogonal matrices and
values computed by an integration (torch's ``dirac_``, ``sparse_``, ...). Each
plan names its block ``(shape, full_shape, offset)`` and dtype like a
``FillPlan`` and writes the block into flat host storage in the output format
(``uint16`` bit patterns for 16-bit floats) with ``write``. Constants and the identity write
in place, with no intermediate of the output's size.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from arrayinit import _dtypes
from arrayinit._plan import FillPlan, normal_params

__all__ = ["ConstantPlan", "DiagonalPlan", "DrawnPlan", "OrthogonalPlan", "ValuesPlan", "orthonormal_columns"]


def _pattern(value: float, name: str):
    """``value`` in the storage format of ``name`` (a numpy scalar to ``fill`` with; ``value + 0j`` if complex)."""
    if name in _dtypes.COMPLEX_PARTS:
        return np.dtype(name).type(value)
    return _dtypes.float64_to_storage(np.array([value], np.float64), name)[0]


@dataclass(frozen=True)
class _HostPlan:
    shape: tuple[int, ...]
    full_shape: tuple[int, ...]
    offset: tuple[int, ...]
    dtype: str

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def block(self, shape: tuple[int, ...], offset: tuple[int, ...]):
        """The plan of another block of the same full tensor."""
        return dataclasses.replace(self, shape=shape, offset=offset)

    def write(self, out: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class ConstantPlan(_HostPlan):
    value: float = 0.0

    def write(self, out: np.ndarray) -> None:
        out.fill(_pattern(self.value, self.dtype))


@dataclass(frozen=True)
class DiagonalPlan(_HostPlan):
    """``gain`` on the diagonal of a 2-D tensor, zeros elsewhere."""

    gain: float = 1.0

    def write(self, out: np.ndarray) -> None:
        out.fill(_pattern(0.0, self.dtype))
        (r0, c0), (rows, cols) = self.offset, self.shape
        lo, hi = max(r0, c0), min(r0 + rows, c0 + cols)  # diagonal entries (i, i) inside the block
        if lo < hi:
            i = np.arange(lo, hi, dtype=np.int64)
            out[(i - r0) * cols + (i - c0)] = _pattern(self.gain, self.dtype)


def orthonormal_columns(a: np.ndarray) -> np.ndarray:
    """The Q of ``a``'s QR decomposition, each column's sign fixed by ``R``'s diagonal (a unique Q)."""
    q, r = np.linalg.qr(a)
    d = np.sign(np.diag(r))
    d[d == 0] = 1.0
    return q * d[None, :]


@dataclass(frozen=True)
class OrthogonalPlan(_HostPlan):
    """A (semi-)orthogonal matrix of the flattened full shape ``(prod(shape[:-1]), shape[-1])``, times ``gain``.

    The normal matrix of the larger by the smaller side comes from the stream
    (``seed``, float64), is factored in float64 with the sign of ``diag(R)``
    folded into ``Q``, and transposed if needed. A block computes the whole
    matrix and writes its part: orthogonality is a property of the whole.
    """

    gain: float = 1.0
    seed: int = 0

    def write(self, out: np.ndarray) -> None:
        from arrayinit import _engine

        full = self.full_shape
        rows, cols = math.prod(full[:-1]), full[-1]
        flat = (max(rows, cols), min(rows, cols))
        normal = np.empty(flat, np.float64)
        dist, c64, params = normal_params(0.0, 1.0, "float64")
        plan = FillPlan(flat, flat, (0, 0), dist, "float64", self.seed, 0, c64, params)
        _engine.run_cpu(plan, normal.reshape(-1))
        q = orthonormal_columns(normal)
        if rows < cols:
            q = q.T
        values = (self.gain * q).reshape(full)
        block = values[tuple(slice(o, o + s) for o, s in zip(self.offset, self.shape))]
        out[...] = _dtypes.float64_to_storage(np.ascontiguousarray(block).reshape(-1), self.dtype)


@dataclass(frozen=True, eq=False)
class ValuesPlan(_HostPlan):
    """Values computed on the host for the block (float64 or any float array of the block's shape)."""

    values: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))

    def block(self, shape, offset):
        rel = tuple(slice(o - b, o - b + s) for o, b, s in zip(offset, self.offset, shape))
        return dataclasses.replace(self, shape=shape, offset=offset, values=self.values[rel])

    def write(self, out: np.ndarray) -> None:
        out[...] = _dtypes.float64_to_storage(np.asarray(self.values, np.float64).reshape(-1), self.dtype)


@dataclass(frozen=True)
class DrawnPlan(_HostPlan):
    """Values of a block computed on the host by ``draw(seed, dtype, shape, offset)`` (an array of the block).

    For values that are a property of the whole tensor (a QR, a moved axis): ``draw`` may compute the whole
    tensor and keep the block.
    """

    seed: int = 0
    draw: Callable | None = None

    def write(self, out: np.ndarray) -> None:
        assert self.draw is not None
        values = np.asarray(self.draw(self.seed, self.dtype, self.shape, self.offset))
        if values.shape != self.shape:
            raise ValueError(f"A drawn block must have the shape {self.shape}. Received: shape={values.shape}")
        want = _dtypes.numpy_dtype(self.dtype)
        out[...] = np.ascontiguousarray(values, dtype=want).reshape(-1).view(out.dtype)
