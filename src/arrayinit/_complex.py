"""Complex values (complex64, complex128) from real draws of the arrayinit stream.

Complex element ``g`` of a tensor of shape ``S`` uses the real stream elements
``2g`` and ``2g + 1``: the real tensor of shape ``S + (2,)`` (float32 for
complex64, float64 for complex128). A block ``(shape, full_shape, offset)`` of
the complex tensor is the block ``(shape + (2,), full_shape + (2,), offset +
(0,))`` of the real one, so blocks, chunks and shards stay bit-identical to the
whole tensor (docs/stream-contract.md, "Complex values").

- ``normal``: ``mean + stddev * (a + i b) / sqrt(2)`` with ``(a, b)`` standard
  normals at ``2g`` and ``2g + 1``; ``E|z - mean|^2 = stddev^2`` (jax's complex
  normal).
- ``uniform``: real and imaginary parts each uniform in ``[minval, maxval)``
  (torch's ``rand`` on complex dtypes).
- variance scaling (jax's complex semantics, ``E|z|^2 = scale / n``): the
  normal above; ``"uniform"`` on the disk of radius ``sqrt(2 * variance)``;
  ``"truncated_normal"`` a circular normal whose modulus is cut at two standard
  deviations (``stddev = sqrt(variance) / 0.95311164380491208``).

The disk and the circular truncated normal are computed from the two uniforms
``(u_r, u_t)`` of the element in float64 with +, -, *, /, sqrt and exact
operations only (own polynomial ``log``, ``sin``, ``cos``; no libm), then
rounded once to the part dtype: the values are the same on every CPU.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

from arrayinit import _dtypes
from arrayinit._errors import check_float, received

__all__ = ["PART", "complex_name", "draw_sampling", "initializer_call", "normal", "requested", "uniform"]

#: complex dtype -> the dtype of its real and imaginary parts
PART = {"complex64": "float32", "complex128": "float64"}

_ALIASES = {
    "complex64": "complex64",
    "c8": "complex64",
    "cfloat": "complex64",
    "complex128": "complex128",
    "c16": "complex128",
    "cdouble": "complex128",
    "complex": "complex128",
}

# 1 - e**-4 rounded to float64 (computed with mpmath at 50 digits): the CDF of the
# squared modulus (in units of the variance) at a cut of two standard deviations
_ONE_MINUS_EXP_M4 = 0.9816843611112658
# jax's divisor of the complex truncated normal's stddev (jax/_src/nn/initializers.py,
# variance_scaling). Under it E|z|**2 is (1 - 5 e**-4) / (1 - e**-4) / 0.95311...**2 = 1.0187
# times the variance, in jax and here alike.
_COMPLEX_TRUNCATION_STD = 0.95311164380491208
_LN2 = 0.6931471805599453  # log(2) rounded to float64
_HALF_PI = 1.5707963267948966  # pi / 2 rounded to float64
_SQRT_HALF = 0.7071067811865476  # sqrt(1/2) rounded to float64


def complex_name(dtype: object) -> str | None:
    """``"complex64"``/``"complex128"`` when ``dtype`` names a complex dtype (any library), else None; never raises."""
    if dtype is None:
        return None
    if isinstance(dtype, np.dtype):  # the common case, without the name lookups below
        return _ALIASES.get(dtype.name) if dtype.kind == "c" else None
    inner = getattr(dtype, "_np_dtype", None)  # array_api_strict dtypes wrap a numpy dtype
    if isinstance(inner, np.dtype):
        dtype = inner
    if isinstance(dtype, str):
        key: Any = dtype.lower().removeprefix("torch.").removeprefix("jnp.").removeprefix("np.")
    else:
        text = str(dtype)
        if text.startswith("torch."):
            key = text[len("torch.") :]
        else:
            try:
                key = np.dtype(dtype).name  # type: ignore[call-overload]
            except (TypeError, ValueError):
                key = getattr(dtype, "name", None)
    return _ALIASES.get(key) if isinstance(key, str) else None


def requested(dtype: object, like: object = None, out: object = None) -> str | None:
    """The complex dtype a call asks for (``dtype``, else ``out``'s, else ``like``'s), or None."""
    if dtype is not None:
        return complex_name(dtype)
    for arr in (out, like):
        if arr is not None:
            return complex_name(getattr(arr, "dtype", None))
    return None


def _block(shape, full_shape, offset):
    """The checked complex block; its real block (a trailing axis of 2) must index below 2**63 too."""
    from arrayinit._plan import resolve_block

    shape, full, off = resolve_block(shape, full_shape, offset)
    if math.prod(full) >= 2**62:
        which = "shape" if full_shape is None else "full_shape"
        raise ValueError(
            f"Argument `{which}` has {math.prod(full)} complex elements, two real elements of the stream each; "
            f"element indices are 64-bit and must stay below 2**63, so complex tensors have fewer than 2**62 "
            f"elements. Received: {which}={full}"
        )
    return shape, full, off


def _pairs(shape, full, off) -> dict:
    """The real block behind a complex block: a trailing axis of 2 (real, imaginary)."""
    return {"full_shape": (*full, 2), "offset": (*off, 0)}


def _new_block(bshape: tuple[int, ...], name: str) -> tuple[np.ndarray, np.ndarray]:
    """A new complex block and its parts, a real view of shape ``bshape + (2,)`` that the real stream fills.

    Allocated before anything else, so a block too large for the machine is a ValueError naming the
    user's `shape`, not the real stream's ``bshape + (2,)``.
    """
    block = _dtypes.empty(bshape, np.dtype(name))
    return block, block.reshape(-1).view(PART[name]).reshape((*bshape, 2))


def _deliver(make_block, shape, full, off, name: str, out, xp, device, like, chunks):
    """``make_block(bshape, boff) -> numpy complex`` at the requested library, device or ``out``."""
    from arrayinit import _frontend

    if out is not None:  # written through the array's backend (numpy, torch, array_api_strict, cupy, ...)
        backend = _frontend.out_backend(out)
        out_shape = tuple(int(d) for d in out.shape)
        if out_shape != shape or complex_name(out.dtype) != name:
            raise ValueError(
                f"Argument `out` must be a {name} array of shape {shape}. "
                f"Received: out.shape={out_shape}, out.dtype={out.dtype}"
            )
        return _frontend.write_out(backend, out, make_block(shape, off), name)
    jax_x32 = "jax" in sys.modules and not sys.modules["jax"].config.read("jax_enable_x64")
    if name == "complex128" and jax_x32 and like is None and "jax" in getattr(xp, "__name__", ""):
        raise ValueError(
            "jax is running without 64-bit types: enable them with jax.config.update('jax_enable_x64', True) "
            "or the JAX_ENABLE_X64=1 environment variable, or ask for complex64. Received: dtype='complex128'"
        )
    # the destination of the parts' dtype (library, device, chunks; the library's support of the width)
    dest = _frontend.resolve(shape, PART[name], xp=xp, device=device, like=like, chunks=chunks)
    if dest.backend.lazy:
        return _frontend.lazy(dest, make_block, shape, off, name)
    return _frontend.hand_over(dest, make_block(shape, off), name)


def _checked(name: object) -> str:
    if isinstance(name, str) and name in PART:
        return name
    found = complex_name(name)
    if found is None:
        raise ValueError(f"Argument `dtype` must be complex64 or complex128. {received('dtype', name)}")
    return found


def normal(
    shape=(),
    *,
    seed,
    mean=0.0,
    stddev=1.0,
    dtype,
    full_shape=None,
    offset=None,
    stream=0,
    out=None,
    xp=None,
    device=None,
    like=None,
    chunks=None,
):
    """Complex normal values: ``mean + stddev * (a + i b) / sqrt(2)`` (module docstring).

    ``mean`` may be complex; ``stddev`` is the square root of ``E|z - mean|**2``.
    """
    from arrayinit import random as _random

    name = _checked(dtype)
    shape, full, off = _block(shape, full_shape, offset)
    mu = complex(mean) if isinstance(mean, complex) else complex(check_float("mean", mean))
    if not (math.isfinite(mu.real) and math.isfinite(mu.imag)):
        raise ValueError(f"Argument `mean` must be finite. {received('mean', mean)}")
    sd = check_float("stddev", stddev, nonnegative=True)
    part = PART[name]
    # each part reaches |mean part| + 9.2 * stddev / sqrt(2) at most: refuse what could round to infinity
    if any(_dtypes.overflows(abs(m) + 9.2 * sd * _SQRT_HALF, part) for m in (mu.real, mu.imag)):
        raise ValueError(
            f"Arguments `mean` and `stddev` would overflow {name}. {received('mean', mean)}, "
            f"{received('stddev', stddev)[len('Received: ') :]}"
        )

    def make_block(bshape, boff):
        block, parts = _new_block(bshape, name)
        _random.normal(
            (*bshape, 2),
            seed=seed,
            stddev=sd * _SQRT_HALF,
            dtype=part,
            stream=stream,
            out=parts,
            **_pairs(bshape, full, boff),
        )
        if mu.real:
            parts[..., 0] += parts.dtype.type(mu.real)
        if mu.imag:
            parts[..., 1] += parts.dtype.type(mu.imag)
        return block

    return _deliver(make_block, shape, full, off, name, out, xp, device, like, chunks)


def uniform(
    shape=(),
    *,
    seed,
    minval=0.0,
    maxval=1.0,
    dtype,
    full_shape=None,
    offset=None,
    stream=0,
    out=None,
    xp=None,
    device=None,
    like=None,
    chunks=None,
):
    """Complex values whose real and imaginary parts are each uniform in ``[minval, maxval)``."""
    from arrayinit import random as _random

    name = _checked(dtype)
    shape, full, off = _block(shape, full_shape, offset)
    part = PART[name]
    lo, hi = check_float("minval", minval), check_float("maxval", maxval)

    def make_block(bshape, boff):
        block, parts = _new_block(bshape, name)
        _random.uniform(
            (*bshape, 2),
            seed=seed,
            minval=lo,
            maxval=hi,
            dtype=part,
            stream=stream,
            out=parts,
            **_pairs(bshape, full, boff),
        )
        return block

    return _deliver(make_block, shape, full, off, name, out, xp, device, like, chunks)


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
        acc = acc * x2 + c
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


def _polar(u: np.ndarray, kind: str, scale: float) -> np.ndarray:
    """Complex parts ``(..., 2)`` in float64 from uniforms ``u`` of shape ``(..., 2)`` (``u_r``, ``u_t``)."""
    ur = u[..., 0].astype(np.float64)
    ut = u[..., 1].astype(np.float64)
    if kind == "uniform":  # disk of radius sqrt(2) * scale: E|z|^2 = scale^2
        r = np.sqrt(ur * 2.0) * scale
    else:  # circular normal cut at modulus 2 (before the scale)
        r = np.sqrt(_neg_log1m(ur * _ONE_MINUS_EXP_M4)) * scale
    cos, sin = _cos_sin_turn(ut)
    return np.stack([r * cos, r * sin], axis=-1)


def draw_sampling(
    sampling,
    shape,
    *,
    seed: int,
    dtype,
    full_shape=None,
    offset=None,
    out=None,
    xp=None,
    device=None,
    like=None,
    chunks=None,
):
    """Complex values of a variance-scaling ``Sampling`` (``arrayinit._variance``), by jax's complex semantics."""
    from arrayinit import _variance as _V
    from arrayinit import random as _random

    name = _checked(dtype)
    kwargs = {"full_shape": full_shape, "offset": offset, "out": out, "xp": xp, "device": device, "like": like}
    kwargs["chunks"] = chunks
    if sampling.kind == "normal":
        return normal(shape, seed=seed, stddev=sampling.stddev, dtype=name, **kwargs)
    shape, full, off = _block(shape, full_shape, offset)
    part = PART[name]
    if sampling.kind == "uniform":
        sd = sampling.limit / math.sqrt(3.0)  # the variance is limit**2 / 3
    else:  # the real form's stddev is sqrt(variance) / TRUNCATION_STD
        sd = sampling.stddev * _V.TRUNCATION_STD / _COMPLEX_TRUNCATION_STD

    def make_block(bshape, boff):
        block, parts = _new_block(bshape, name)
        _random.uniform((*bshape, 2), seed=seed, dtype=part, out=parts, **_pairs(bshape, full, boff))
        try:
            parts[...] = _polar(parts, sampling.kind, sd)  # rounded once to the part dtype
        except MemoryError:
            raise ValueError(
                f"Argument `shape` asks for more memory than this machine can allocate: the complex "
                f"{sampling.kind} form works in float64 temporaries several times the size of the result. "
                f"Received: shape={bshape}"
            ) from None
        return block

    return _deliver(make_block, shape, full, off, name, out, xp, device, like, chunks)


def initializer_call(
    init, shape, dtype, *, xp=None, device=None, like=None, full_shape=None, offset=None, out=None, chunks=None
):
    """``init(shape, dtype=<complex>, ...)`` for a core initializer (``Initializer.__call__``)."""
    from arrayinit import _initializers as _I

    name = requested(dtype, like, out)
    block = {"full_shape": full_shape, "offset": offset, "out": out, "xp": xp, "device": device, "like": like}
    if isinstance(init, _I.VarianceScaling):
        full = _block(shape, full_shape, offset)[1]
        return draw_sampling(init.sampling(full), shape, seed=init.seed, dtype=name, chunks=chunks, **block)
    block["chunks"] = chunks
    if isinstance(init, _I.RandomNormal):
        return normal(shape, seed=init.seed, mean=init.mean, stddev=init.stddev, dtype=name, **block)
    if isinstance(init, _I.RandomUniform):
        return uniform(shape, seed=init.seed, minval=init.minval, maxval=init.maxval, dtype=name, **block)
    if isinstance(init, _I._Constant):
        if getattr(init, "_array", None) is not None:
            raise ValueError(
                "A Constant with an array value makes real values only; ask for a float dtype. "
                f"Received: dtype={name!r}"
            )

        shape, full, off = _block(shape, full_shape, offset)
        value = init._value
        if _dtypes.overflows(abs(value), PART[name]):
            raise ValueError(
                f"Argument `value` overflows {name} (it would round to infinity). {received('value', value)}"
            )

        def constant_block(bshape, boff):
            block = _dtypes.empty(bshape, np.dtype(name))  # a ValueError naming `shape` when too large
            block[...] = value
            return block

        return _deliver(
            constant_block,
            shape,
            full,
            off,
            name,
            out,
            xp,
            device,
            like,
            chunks,
        )
    refuse(type(init).__name__, dtype)
    return None  # pragma: no cover - refuse raises
