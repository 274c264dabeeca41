"""One source of initializer math: fan rules, the dialects of variance scaling, their checks and parameters.

Every variance scaling is computed here: the core classes
(``arrayinit.VarianceScaling`` and its named variants, which ``arrayinit.keras``
and ``arrayinit.torch``'s module defaults use), ``arrayinit.compat.v1``,
``arrayinit.flax`` and the CLI. A surface passes its fan rule's fans and its
``Dialect`` (``KERAS``, ``TF1``, ``JAX``): which modes and distribution names it
accepts, and whether the fan is clamped at 1. ``arrayinit.torch``'s
``xavier_*``/``kaiming_*`` functions keep torch's own formulas (with a gain),
which give torch's bounds bit for bit.

Fan rules
---------
- Keras (``keras_fans``): rank 0 gives ``(1, 1)``, rank 1 ``(n, n)``, rank 2
  ``(in, out)``, higher ranks ``(..., in, out)`` with the product of the leading
  axes as receptive field.
- Keras 3.15 (``keras_axes_fans``): with both ``input_axes`` and
  ``output_axes``, the plain products of the dims of those axes.
- JAX (``jax_fans``): ``receptive = prod(shape) / (in_size * out_size *
  batch_size)``, ``fan_in = in_size * receptive``, ``fan_out = out_size *
  receptive``, exactly as ``jax.nn.initializers`` computes them (overlapping
  axes included, where the fans can be fractional).
- torch (``torch_fans``): ``(out, in, *kernel)``; ``fan_in = in * prod(kernel)``,
  ``fan_out = out * prod(kernel)``; fewer than 2 dims is an error.

Variance scaling
----------------
With ``n`` the fan of ``mode`` (``fan_in``, ``fan_out``, ``(fan_in + fan_out) /
2`` or ``sqrt(fan_in * fan_out)``) and ``variance = scale / max(1, n)`` (Keras,
TF) or ``scale / n`` (JAX):

- truncated normal at two standard deviations, ``stddev = sqrt(variance) /
  0.87962566103423978`` before the cut;
- untruncated normal, ``stddev = sqrt(variance)``;
- uniform on ``[-limit, limit)``, ``limit = sqrt(3 * variance)``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from arrayinit import _complex, _dtypes, _plans
from arrayinit._errors import check_shape, received

__all__ = [
    "JAX",
    "JAX_DISTRIBUTIONS",
    "KERAS",
    "KERAS_DISTRIBUTIONS",
    "MODES",
    "TF1",
    "TRUNCATION_STD",
    "Dialect",
    "Sampling",
    "check_axes",
    "check_distribution",
    "check_mode",
    "check_scale",
    "fan_of_mode",
    "jax_fans",
    "keras_axes_fans",
    "keras_fans",
    "torch_fans",
    "variance_scaling",
]

#: Standard deviation of a standard normal truncated to [-2, 2] (the constant Keras and TF use).
TRUNCATION_STD = 0.87962566103423978
# jax's divisor of the complex truncated normal's stddev (jax/_src/nn/initializers.py,
# variance_scaling). Under it E|z|**2 is (1 - 5 e**-4) / (1 - e**-4) / 0.95311...**2 = 1.0187
# times the variance, in jax and here alike.
COMPLEX_TRUNCATION_STD = 0.95311164380491208

Mode = Literal["fan_in", "fan_out", "fan_avg", "fan_geo_avg"]
Kind = Literal["truncated_normal", "normal", "uniform"]

MODES: tuple[str, ...] = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")

#: Keras 3 / TF names -> the sampled distribution. ``"normal"`` is Keras' legacy name of the truncated normal.
KERAS_DISTRIBUTIONS: Mapping[str, Kind] = {
    "truncated_normal": "truncated_normal",
    "untruncated_normal": "normal",
    "uniform": "uniform",
    "normal": "truncated_normal",
}
#: jax.nn.initializers names: ``"normal"`` is the untruncated normal there (``"untruncated_normal"`` accepted).
JAX_DISTRIBUTIONS: Mapping[str, Kind] = {
    "truncated_normal": "truncated_normal",
    "normal": "normal",
    "uniform": "uniform",
    "untruncated_normal": "normal",
}
#: tf.compat.v1 names: Keras' (``"normal"``, the truncated normal, is deprecated there), in TensorFlow's order
TF1_DISTRIBUTIONS: Mapping[str, Kind] = {
    "normal": "truncated_normal",
    "uniform": "uniform",
    "truncated_normal": "truncated_normal",
    "untruncated_normal": "normal",
}
#: the Keras 3 name of each sampled distribution (what a Keras config says)
KERAS_NAMES: Mapping[Kind, str] = {
    "truncated_normal": "truncated_normal",
    "normal": "untruncated_normal",
    "uniform": "uniform",
}


def check_scale(scale: object, name: str = "scale") -> float:
    """A positive, finite scale as a float; TypeError for a non-number, ValueError otherwise."""
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
        raise TypeError(f"Argument `{name}` must be positive float. {received(name, scale)}")
    try:
        x = float(scale)
    except OverflowError:  # an int beyond the float range
        raise ValueError(f"Argument `{name}` must be a finite positive float. {received(name, scale)}") from None
    if not (math.isfinite(x) and x > 0):
        raise ValueError(f"Argument `{name}` must be positive float. {received(name, scale)}")
    return x


def check_mode(mode: object, modes: Sequence[str] = MODES) -> str:
    """``mode`` if it is one of ``modes``, else a ValueError listing them."""
    if not isinstance(mode, str) or mode not in modes:
        raise ValueError(
            f"Invalid `mode` argument: {mode!r}. Please use one of {list(modes)}. {received('mode', mode)}"
        )
    return mode


def check_distribution(distribution: object, table: Mapping[str, Kind] = KERAS_DISTRIBUTIONS) -> Kind:
    """The sampled distribution (``truncated_normal``, ``normal`` = untruncated, ``uniform``) of a name.

    Names are matched case-insensitively against ``table`` (Keras and JAX
    disagree on ``"normal"``); anything else is a ValueError listing the names.
    """
    key = distribution.lower() if isinstance(distribution, str) else None
    if key is None or key not in table:
        shown = [k for k in table if k != "normal" or table is JAX_DISTRIBUTIONS]
        raise ValueError(
            f"Invalid `distribution` argument: {distribution!r}. Please use one of {shown}. "
            f"{received('distribution', distribution)}"
        )
    return table[key]


def check_axes(name: str, value: object) -> int | tuple[int, ...]:
    """Axes as given: an int stays an int (jax tells ``-2`` from ``(-2,)``), a sequence becomes a tuple of ints."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, (str, bytes)):
        raise TypeError(f"Argument `{name}` must be an int or a sequence of ints. {received(name, value)}")
    try:
        axes: tuple[object, ...] = tuple(value)  # type: ignore[arg-type]  # TypeError below for non-sequences
    except TypeError:
        raise TypeError(f"Argument `{name}` must be an int or a sequence of ints. {received(name, value)}") from None
    if not all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axes):
        raise TypeError(f"Argument `{name}` must be an int or a sequence of ints. {received(name, value)}")
    return tuple(int(a) for a in axes)  # type: ignore[call-overload]  # checked integral above


def _axis_list(name: str, axes: int | tuple[int, ...], rank: int) -> tuple[int, ...]:
    group = (axes,) if isinstance(axes, int) else axes
    for a in group:
        if not -rank <= a < rank:
            raise ValueError(f"Argument `{name}` is out of range for a shape of rank {rank}. {received(name, axes)}")
    return tuple(a % rank for a in group)


def keras_fans(shape) -> tuple[int, int]:
    """``(fan_in, fan_out)`` by the Keras rule (``(..., in, out)``)."""
    shape = check_shape("shape", shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def keras_axes_fans(shape, input_axes, output_axes) -> tuple[int, int]:
    """``(fan_in, fan_out)`` by the Keras 3.15 rule: plain products of the dims of ``input_axes``/``output_axes``."""
    shape = check_shape("shape", shape)
    rank = len(shape)
    fans = []
    for name, axes in (("input_axes", input_axes), ("output_axes", output_axes)):
        group = _axis_list(name, check_axes(name, axes), rank)
        fans.append(math.prod(shape[a] for a in group))
    return fans[0], fans[1]


def _int_if_integral(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


def jax_fans(shape, in_axis=-2, out_axis=-1, batch_axis=()) -> tuple[float, float]:
    """``(fan_in, fan_out)`` by the ``jax.nn.initializers`` rule (module docstring); fractional where jax's are.

    An empty group product (a zero dim in an axis group) gives ``(0, 0)``:
    jax would divide by zero, and the fans of an empty tensor are never used.
    """
    shape = check_shape("shape", shape)
    rank = len(shape)
    ins = check_axes("in_axis", in_axis)
    outs = check_axes("out_axis", out_axis)
    batch = check_axes("batch_axis", batch_axis)
    if rank <= 1 and ins == -2:
        raise ValueError(
            f"Can't compute input and output sizes of a {rank}-dimensional weights tensor with default in_axis. "
            f"Must be at least 2D or specify in_axis explicitly. Received: shape={shape}"
        )
    in_size = math.prod(shape[a] for a in _axis_list("in_axis", ins, rank))
    out_size = math.prod(shape[a] for a in _axis_list("out_axis", outs, rank))
    batch_size = math.prod(shape[a] for a in _axis_list("batch_axis", batch, rank))
    if in_size * out_size * batch_size == 0:
        return 0, 0
    receptive = math.prod(shape) / in_size / out_size / batch_size
    return _int_if_integral(in_size * receptive), _int_if_integral(out_size * receptive)


def torch_fans(shape) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight in torch's ``(out, in, *kernel)`` layout."""
    shape = check_shape("shape", shape)
    if len(shape) < 2:
        raise ValueError(
            f"Fan in and fan out can not be computed for a tensor with fewer than 2 dimensions. Received: shape={shape}"
        )
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def fan_of_mode(mode: str, fan_in: float, fan_out: float) -> float:
    """The ``n`` of a mode: ``fan_in``, ``fan_out``, their mean or their geometric mean."""
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    if mode == "fan_avg":
        return (fan_in + fan_out) / 2.0
    return math.sqrt(fan_in * fan_out)


@dataclass(frozen=True)
class Sampling:
    """What a variance-scaling initializer draws.

    ``kind`` is ``"truncated_normal"`` (cut at ``[-2, 2]`` standard deviations;
    ``stddev`` is the standard deviation before the cut), ``"normal"``
    (untruncated, ``stddev``) or ``"uniform"`` (``[-limit, limit)``).

    Complex dtypes follow jax's complex semantics (``E|z|^2`` is the
    variance): the normal is the complex normal, ``"uniform"`` the disk of
    radius ``sqrt(2 * variance)``, ``"truncated_normal"`` a circular normal
    whose modulus is cut at two standard deviations (``stddev =
    sqrt(variance) / 0.95311164380491208``); see ``arrayinit._complex``.
    """

    kind: Kind
    stddev: float = 0.0
    limit: float = 0.0

    def reach(self, dtype: str) -> float:
        """The largest magnitude the values can take in ``dtype`` (for overflow checks)."""
        if self.kind == "truncated_normal":
            return 2.0 * self.stddev
        if self.kind == "normal":  # the normal sampler's |z| stays below 6.4 (32-bit) and 9.1 (float64)
            return (9.2 if dtype == "float64" else 6.5) * self.stddev
        return self.limit

    def plan(self, shape, full_shape, offset, dtype: str, seed: int, stream: int = 0):
        """The plan of a checked block in ``dtype``: a ``FillPlan``, or a ``ComplexPlan`` for complex dtypes."""
        if dtype in _dtypes.COMPLEX_PARTS:
            return self._complex_plan(shape, full_shape, offset, dtype, seed, stream)
        if self.kind == "truncated_normal":
            return _plans.truncnorm_plan(
                shape, full_shape, offset, dtype, seed, stream, 0.0, self.stddev, -2.0, 2.0, None, None
            )
        if self.kind == "normal":
            return _plans.normal_plan(shape, full_shape, offset, dtype, seed, stream, 0.0, self.stddev)
        return _plans.uniform_plan(shape, full_shape, offset, dtype, seed, stream, -self.limit, self.limit)

    def _complex_plan(self, shape, full_shape, offset, dtype: str, seed: int, stream: int):
        """jax's complex forms (class docstring): the same variance, spread over the two parts."""
        block = (shape, full_shape, offset, dtype, seed, stream)
        if self.kind == "normal":
            return _complex.normal_plan(*block, 0.0, self.stddev)
        if self.kind == "uniform":  # the variance is limit**2 / 3
            return _complex.polar_plan(*block, "disk", self.limit / math.sqrt(3.0))
        # the real form's stddev is sqrt(variance) / TRUNCATION_STD
        return _complex.polar_plan(*block, "circular", self.stddev * TRUNCATION_STD / COMPLEX_TRUNCATION_STD)


def variance_scaling(
    scale: float, mode: str, kind: Kind, fan_in: float, fan_out: float, *, clamp: bool = True
) -> Sampling:
    """The ``Sampling`` of a variance-scaling initializer (arguments already checked).

    ``clamp``: divide by ``max(1, n)`` as Keras and TF do; ``False`` divides by
    ``n`` as jax does (``n > 0`` is the caller's to ensure).
    """
    n = fan_of_mode(mode, fan_in, fan_out)
    variance = scale / (max(1.0, n) if clamp else n)
    if kind == "truncated_normal":
        return Sampling(kind, stddev=math.sqrt(variance) / TRUNCATION_STD)
    if kind == "normal":
        return Sampling(kind, stddev=math.sqrt(variance))
    return Sampling(kind, limit=math.sqrt(3.0 * variance))


@dataclass(frozen=True)
class Dialect:
    """How a framework names, checks and computes a variance scaling.

    ``modes`` are the modes it accepts, ``distributions`` its names of the
    sampled distributions (Keras and TF1 read ``"normal"`` as the truncated
    normal, jax as the untruncated one), ``clamp`` whether the fan is clamped
    at 1 (Keras and TF divide by ``max(1, n)``, jax by ``n``).
    """

    name: str
    modes: tuple[str, ...]
    distributions: Mapping[str, Kind]
    clamp: bool = True

    def check(self, scale: object, mode: object, distribution: object) -> tuple[float, str, Kind]:
        """``(scale, mode, kind)`` checked (Keras-style errors naming the argument), the distribution as sampled."""
        return check_scale(scale), check_mode(mode, self.modes), check_distribution(distribution, self.distributions)

    def sampling(self, scale: object, mode: object, distribution: object, fan_in: float, fan_out: float) -> Sampling:
        """The ``Sampling`` of the arguments as they are now.

        Initializers pass their attributes at call time: an attribute assigned
        after construction counts, and is checked as the constructor checks it.
        """
        scale, mode, kind = self.check(scale, mode, distribution)
        return variance_scaling(scale, mode, kind, fan_in, fan_out, clamp=self.clamp)


#: Keras 3 (the core classes, ``arrayinit.keras``, ``arrayinit.torch``'s module defaults)
KERAS = Dialect("keras", MODES, KERAS_DISTRIBUTIONS)
#: ``tf.compat.v1`` (no ``fan_geo_avg``)
TF1 = Dialect("tf1", MODES[:3], TF1_DISTRIBUTIONS)
#: ``jax.nn.initializers`` (``arrayinit.flax``)
JAX = Dialect("jax", MODES, JAX_DISTRIBUTIONS, clamp=False)
