"""Complex plans: complex values (complex64, complex128) as a plan over the real stream.

Complex element ``g`` of a tensor of shape ``S`` is made of the real stream
elements ``2g`` and ``2g + 1``: the real tensor of shape ``S + (2,)`` (float32
for complex64, float64 for complex128). A ``ComplexPlan`` holds that real plan
(``parts``, a ``FillPlan``) and a form; a block ``(shape, full_shape, offset)``
of the complex tensor is the block ``(shape + (2,), full_shape + (2,), offset +
(0,))`` of the real one, so blocks, chunks and shards stay bit-identical to the
whole tensor (docs/stream-contract.md, "Complex values").

Forms:

- ``"cartesian"``: the parts are the real values themselves. The frontend
  realises ``parts`` straight into the complex output viewed as its float parts
  (host memory, or a CUDA buffer), wherever a real plan runs. ``normal`` is
  ``mean + stddev * (a + i b) / sqrt(2)`` with ``(a, b)`` standard normals at
  ``2g`` and ``2g + 1`` (``E|z - mean|^2 = stddev^2``, jax's complex normal; a
  non-zero ``mean`` is added to the parts after the draw, on the host);
  ``uniform`` has real and imaginary parts each uniform in ``[minval, maxval)``
  (torch's ``rand`` on complex dtypes).
- ``"disk"`` and ``"circular"`` (jax's complex variance scaling): the parts
  are the element's two uniforms ``(u_r, u_t)``, turned on the host into a
  point of the disk of radius ``sqrt(2) * scale`` or of a circular normal
  whose modulus is cut at two standard deviations (``scale`` its standard
  deviation), in float64 with +, -, *, /, sqrt and exact operations only (own
  polynomial ``log``, ``sin``, ``cos``; no libm), then rounded once to the
  part dtype: the values are the same on every CPU.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from arrayinit import _dtypes
from arrayinit._errors import check_float, received
from arrayinit._plan import FillPlan, resolve_block
from arrayinit._plans import normal_plan as _real_normal_plan
from arrayinit._plans import uniform_plan as _real_uniform_plan

__all__ = ["ComplexPlan", "call_block", "normal_plan", "polar_plan", "refuse", "uniform_plan"]

# 1 - e**-4 rounded to float64 (computed with mpmath at 50 digits): the CDF of the
# squared modulus (in units of the variance) at a cut of two standard deviations
_ONE_MINUS_EXP_M4 = 0.9816843611112658
_LN2 = 0.6931471805599453  # log(2) rounded to float64
_HALF_PI = 1.5707963267948966  # pi / 2 rounded to float64
_SQRT_HALF = 0.7071067811865476  # sqrt(1/2) rounded to float64

FORMS = ("cartesian", "disk", "circular")


@dataclass(frozen=True)
class ComplexPlan:
    """Complex values of a block: the real plan ``parts`` over ``shape + (2,)`` and the form that reads it.

    ``scale`` is the radius scale of the ``"disk"`` and ``"circular"`` forms;
    ``shift`` the mean added to the parts of the ``"cartesian"`` form.
    """

    parts: FillPlan
    dtype: str  # complex64 or complex128
    form: str = "cartesian"
    scale: float = 0.0
    shift: complex = 0j

    @property
    def shape(self) -> tuple[int, ...]:
        return self.parts.shape[:-1]

    @property
    def full_shape(self) -> tuple[int, ...]:
        return self.parts.full_shape[:-1]

    @property
    def offset(self) -> tuple[int, ...]:
        return self.parts.offset[:-1]

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def on_device(self) -> bool:
        """Whether the values are the real plan's alone (no host transform): it runs wherever ``parts`` runs."""
        return self.form == "cartesian" and not self.shift

    def block(self, shape: tuple[int, ...], offset: tuple[int, ...]) -> ComplexPlan:
        """The plan of another block of the same full tensor."""
        return dataclasses.replace(self, parts=self.parts.block((*shape, 2), (*offset, 0)))

    def transform(self, parts: np.ndarray) -> None:
        """Turn the real values ``parts`` (flat, the float view of the block) into this form's, in place."""
        pairs = parts.reshape(-1, 2)
        if self.form == "cartesian":
            if self.shift.real:
                pairs[:, 0] += pairs.dtype.type(self.shift.real)
            if self.shift.imag:
                pairs[:, 1] += pairs.dtype.type(self.shift.imag)
            return
        try:
            # in slices whose float64 temporaries stay in the core's caches; rounded once to the part dtype
            for i in range(0, pairs.shape[0], _POLAR_SLICE):
                pairs[i : i + _POLAR_SLICE] = _polar(pairs[i : i + _POLAR_SLICE], self.form, self.scale)
        except MemoryError:
            kind = "uniform" if self.form == "disk" else "truncated_normal"
            raise ValueError(
                f"Argument `shape` asks for more memory than this machine can allocate: the complex "
                f"{kind} form works in float64 temporaries several times the size of the result. "
                f"Received: shape={self.shape}"
            ) from None


Block = tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]

_POLAR_SLICE = 1 << 15  # complex elements per slice of the disk and circular forms


def call_block(shape, full_shape, offset, complex_values: bool) -> Block:
    """The checked block of a call (``resolve_block``).

    A complex tensor's real block (a trailing axis of 2) must index below 2**63
    too: complex tensors have fewer than 2**62 elements.
    """
    shape, full, off = resolve_block(shape, full_shape, offset)
    if complex_values and math.prod(full) >= 2**62:
        which = "shape" if full_shape is None else "full_shape"
        raise ValueError(
            f"Argument `{which}` has {math.prod(full)} complex elements, two real elements of the stream each; "
            f"element indices are 64-bit and must stay below 2**63, so complex tensors have fewer than 2**62 "
            f"elements. Received: {which}={full}"
        )
    return shape, full, off


def _parts_block(shape, full, off) -> Block:
    """The real block behind a complex block: a trailing axis of 2 (real, imaginary)."""
    return (*shape, 2), (*full, 2), (*off, 0)


def normal_plan(shape, full, off, name: str, seed: int, stream: int, mean, stddev) -> ComplexPlan:
    """Complex normal values ``mean + stddev * (a + i b) / sqrt(2)`` (``mean`` may be complex) of a checked block."""
    mu = complex(mean) if isinstance(mean, complex) else complex(check_float("mean", mean))
    if not (math.isfinite(mu.real) and math.isfinite(mu.imag)):
        raise ValueError(f"Argument `mean` must be finite. {received('mean', mean)}")
    sd = check_float("stddev", stddev, nonnegative=True)
    part = _dtypes.COMPLEX_PARTS[name]
    # each part reaches |mean part| + 9.2 * stddev / sqrt(2) at most: refuse what could round to infinity
    if any(_dtypes.overflows(abs(m) + 9.2 * sd * _SQRT_HALF, part) for m in (mu.real, mu.imag)):
        raise ValueError(
            f"Arguments `mean` and `stddev` would overflow {name}. {received('mean', mean)}, "
            f"{received('stddev', stddev)[len('Received: ') :]}"
        )
    pshape, pfull, poff = _parts_block(shape, full, off)
    parts = _real_normal_plan(pshape, pfull, poff, part, seed, stream, 0.0, sd * _SQRT_HALF)
    return ComplexPlan(parts, name, shift=mu)


def uniform_plan(shape, full, off, name: str, seed: int, stream: int, minval, maxval) -> ComplexPlan:
    """Complex values whose real and imaginary parts are each uniform in ``[minval, maxval)``."""
    lo, hi = check_float("minval", minval), check_float("maxval", maxval)
    pshape, pfull, poff = _parts_block(shape, full, off)
    parts = _real_uniform_plan(pshape, pfull, poff, _dtypes.COMPLEX_PARTS[name], seed, stream, lo, hi)
    return ComplexPlan(parts, name)


def polar_plan(shape, full, off, name: str, seed: int, stream: int, form: str, scale: float) -> ComplexPlan:
    """The ``"disk"`` or ``"circular"`` form of radius scale ``scale`` (module docstring) of a checked block."""
    pshape, pfull, poff = _parts_block(shape, full, off)
    parts = _real_uniform_plan(pshape, pfull, poff, _dtypes.COMPLEX_PARTS[name], seed, stream, 0.0, 1.0)
    return ComplexPlan(parts, name, form, scale)


def refuse(what: str, dtype: object) -> None:
    """The error for an initializer without a complex form."""
    raise ValueError(
        f"{what} has no complex form (as in jax); complex dtypes are supported by normal, uniform and variance "
        f"scaling (He, Glorot, LeCun). {received('dtype', dtype)}"
    )


# --- exact float64 elementary functions (only +, -, *, / and exact operations) ---

_ATANH_COEFFS = [1.0 / (2 * k + 1) for k in range(13)]  # 1/(2k+1), correctly rounded by Python
_SIN_COEFFS = [(-1.0) ** k / math.factorial(2 * k + 1) for k in range(11)]  # up to x**21
_COS_COEFFS = [(-1.0) ** k / math.factorial(2 * k) for k in range(12)]  # up to x**22


def _horner(x2: np.ndarray, coeffs: list[float]) -> np.ndarray:
    acc = np.full_like(x2, coeffs[-1])
    for c in reversed(coeffs[:-1]):
        acc *= x2  # in place: the same roundings as ``acc * x2 + c``, without temporaries
        acc += c
    return acc


def _two_atanh(s: np.ndarray) -> np.ndarray:
    """``2 atanh(s) = log((1 + s) / (1 - s))`` for ``|s| <= 0.1716`` (series to ``s**25``: error below 1e-19)."""
    return 2.0 * s * _horner(s * s, _ATANH_COEFFS)


def _neg_log1m(t: np.ndarray) -> np.ndarray:
    """``-log(1 - t)`` for ``t`` in ``[0, 1)``, accurate for small ``t`` too."""
    small = _two_atanh(t / (2.0 - t))  # 1 - t = (1 - s) / (1 + s) with s = t / (2 - t)
    m, e = np.frexp(1.0 - t)  # exact: 1 - t = m * 2**e, m in [0.5, 1)
    low = m < _SQRT_HALF
    m = np.where(low, m * 2.0, m)
    e = np.where(low, e - 1, e).astype(np.float64)
    large = -(e * _LN2 + _two_atanh((m - 1.0) / (m + 1.0)))
    return np.where(t <= 0.25, small, large)


def _cos_sin_turn(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(cos(2 pi u), sin(2 pi u))`` for ``u`` in ``[0, 1)`` by exact quadrant reduction and Taylor polynomials."""
    q4 = u * 4.0  # exact
    q = np.floor(q4)
    x = (q4 - q) * _HALF_PI  # in [0, pi/2)
    x2 = x * x
    s = x * _horner(x2, _SIN_COEFFS)
    c = _horner(x2, _COS_COEFFS)
    quadrant = q.astype(np.int64) & 3
    cos = np.choose(quadrant, [c, -s, -c, s])
    sin = np.choose(quadrant, [s, c, -s, -c])
    return cos, sin


def _polar(u: np.ndarray, form: str, scale: float) -> np.ndarray:
    """Complex parts ``(..., 2)`` in float64 from uniforms ``u`` of shape ``(..., 2)`` (``u_r``, ``u_t``)."""
    ur = u[..., 0].astype(np.float64)
    ut = u[..., 1].astype(np.float64)
    if form == "disk":  # disk of radius sqrt(2) * scale: E|z|^2 = scale^2
        r = np.sqrt(ur * 2.0) * scale
    else:  # circular normal cut at modulus 2 (before the scale)
        r = np.sqrt(_neg_log1m(ur * _ONE_MINUS_EXP_M4)) * scale
    cos, sin = _cos_sin_turn(ut)
    return np.stack([r * cos, r * sin], axis=-1)
