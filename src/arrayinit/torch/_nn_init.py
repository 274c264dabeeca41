"""The ``torch.nn.init`` functions, with a keyword ``seed``, and torch's deprecated names."""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable

import numpy as np
import torch

from arrayinit import _dtypes, _frontend
from arrayinit import random as _random
from arrayinit._errors import check_float, check_int, received
from arrayinit._initializers import Constant, Identity, Ones, Zeros, orthonormal_columns
from arrayinit._variance import torch_fans


def _seed(seed, generator=None, tensor=None) -> int:
    """``seed``, or a 64-bit seed drawn from ``generator`` (else the default generator of ``tensor``'s device)."""
    if seed is not None:
        if generator is not None:
            raise ValueError(
                "Arguments `seed` and `generator` exclude each other: the seed fixes the values. "
                f"Received: seed={seed!r}, generator={generator!r}"
            )
        return seed
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"Argument `generator` must be a torch.Generator or None. {received('generator', generator)}")
    if generator is not None:
        device = generator.device
    elif isinstance(tensor, torch.Tensor) and tensor.device.type == "cuda":
        device = tensor.device  # as torch.nn.init: a CUDA tensor's values come from the CUDA generator
    else:
        device = torch.device("cpu")
    draw = torch.randint(-(2**63), 2**63 - 1, (), dtype=torch.int64, generator=generator, device=device)
    return int(draw) % 2**64


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended gain of ``torch.nn.init.calculate_gain``.

    Examples
    --------
    >>> from arrayinit.torch import calculate_gain
    >>> round(calculate_gain("relu"), 4), round(calculate_gain("leaky_relu", 0.2), 4)
    (1.4142, 1.3868)
    """
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
    if nonlinearity in linear or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _fans(tensor) -> tuple[int, int]:
    return torch_fans(tuple(tensor.shape))


def uniform_(tensor, a: float = 0.0, b: float = 1.0, generator=None, *, seed=None, full_shape=None, offset=None):
    """Fill ``tensor`` with values uniform on ``[a, b)``.

    Examples
    --------
    >>> import torch, arrayinit.torch as ait
    >>> w = ait.uniform_(torch.empty(3, 5), -1.0, 1.0, seed=0)
    >>> bool(w.abs().max() < 1)
    True
    """
    lo, hi = check_float("a", a), check_float("b", b)
    if hi < lo:
        raise ValueError(f"Argument `b` must be >= `a`. Received: a={a!r}, b={b!r}")
    return _random.uniform(
        tuple(tensor.shape),
        seed=_seed(seed, generator, tensor),
        minval=lo,
        maxval=hi,
        out=tensor,
        full_shape=full_shape,
        offset=offset,
    )


def normal_(tensor, mean: float = 0.0, std: float = 1.0, generator=None, *, seed=None, full_shape=None, offset=None):
    """Fill ``tensor`` with normal values (untruncated)."""
    mean, std = check_float("mean", mean), check_float("std", std, nonnegative=True)
    return _random.normal(
        tuple(tensor.shape),
        seed=_seed(seed, generator, tensor),
        mean=mean,
        stddev=std,
        out=tensor,
        full_shape=full_shape,
        offset=offset,
    )


def trunc_normal_(
    tensor,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator=None,
    *,
    seed=None,
    full_shape=None,
    offset=None,
):
    """Fill ``tensor`` with normal values truncated to the absolute interval ``[a, b]``.

    Exact for any ``std`` and dtype: the truncated CDF is inverted in float32
    (float64 for bounds far in a tail) and the bounds are rounded inward onto
    the tensor's dtype, so bfloat16 values never leave ``[a, b]``.

    Examples
    --------
    >>> import torch, arrayinit.torch as ait
    >>> w = ait.trunc_normal_(torch.empty(256, 256, dtype=torch.bfloat16), std=0.02, a=-0.04, b=0.04, seed=0)
    >>> bool(w.float().abs().max() <= 0.04)
    True
    """
    mean = check_float("mean", mean)
    if not check_float("std", std, nonnegative=True) > 0:
        raise ValueError(f"Argument `std` must be positive. Received: std={std!r}")
    return _random.truncated_normal(
        tuple(tensor.shape),
        seed=_seed(seed, generator, tensor),
        mean=mean,
        stddev=std,
        a=a,
        b=b,
        out=tensor,
        full_shape=full_shape,
        offset=offset,
    )


_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def _fill_constant(tensor, value, init):
    if isinstance(tensor, torch.Tensor) and tensor.dtype not in _FLOATS:
        # integer, bool, complex, float8 tensors: nothing random, torch's own fill (as torch.nn.init's)
        with torch.no_grad():
            try:
                return tensor.fill_(value)
            except (RuntimeError, OverflowError) as e:  # a value outside the dtype's range
                raise ValueError(
                    f"Argument `val` cannot be written to a {tensor.dtype} tensor ({e}). {received('val', value)}"
                ) from None
    return init.fill_(tensor)


def constant_(tensor, val: float):
    """Fill ``tensor`` with ``val`` (any dtype, as ``torch.nn.init.constant_``)."""
    return _fill_constant(tensor, val, Constant(val))


def ones_(tensor):
    """Fill ``tensor`` with ones (any dtype)."""
    return _fill_constant(tensor, 1, Ones())


def zeros_(tensor):
    """Fill ``tensor`` with zeros (any dtype)."""
    return _fill_constant(tensor, 0, Zeros())


def eye_(tensor):
    """Fill the 2-D ``tensor`` with the identity matrix."""
    if tensor.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return Identity().fill_(tensor)


def dirac_(tensor, groups: int = 1):
    """Fill the 3-, 4- or 5-D ``tensor`` with the Dirac delta (identity convolution), per group."""
    dims = tensor.dim()
    if dims not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tensor.shape
    groups = check_int("groups", groups, lo=1)
    if sizes[0] % groups != 0:
        raise ValueError(f"dim 0 must be divisible by groups. Received: groups={groups}, tensor.shape={tuple(sizes)}")
    out_per_group = sizes[0] // groups
    min_dim = min(out_per_group, sizes[1])
    values = np.zeros(tuple(sizes), np.float64)
    centre = tuple(s // 2 for s in sizes[2:])
    for g in range(groups if values.size else 0):  # an empty tensor has no centre to set
        for d in range(min_dim):
            values[(g * out_per_group + d, d, *centre)] = 1.0
    return _fill_values(tensor, values)


def _fill_values(tensor, values):

    return _frontend.from_values(values, _dtypes.dtype_name(tensor.dtype), None, out=tensor)


# The xavier_* and kaiming_* functions compute their bound or standard deviation with torch's own formula
# (a gain times a square root), not through arrayinit's variance scaling: the two are equal in exact
# arithmetic but may round differently, and these functions give the values they always gave.


def xavier_uniform_(tensor, gain: float = 1.0, generator=None, *, seed=None):
    """Glorot uniform with torch's fans: ``U(-a, a)``, ``a = gain * sqrt(6 / (fan_in + fan_out))``."""
    fan_in, fan_out = _fans(tensor)
    if fan_in + fan_out == 0:  # an empty tensor: nothing to fill
        return tensor
    a = check_float("gain", gain) * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -a, a, seed=_seed(seed, generator, tensor))


def xavier_normal_(tensor, gain: float = 1.0, generator=None, *, seed=None):
    """Glorot normal with torch's fans: ``N(0, std)``, ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = _fans(tensor)
    if fan_in + fan_out == 0:  # an empty tensor: nothing to fill
        return tensor
    std = check_float("gain", gain) * math.sqrt(2.0 / (fan_in + fan_out))
    return normal_(tensor, 0.0, std, seed=_seed(seed, generator, tensor))


def _kaiming_std(tensor, a, mode, nonlinearity):
    if not isinstance(mode, str) or mode.lower() not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out. {received('mode', mode)}")
    mode = mode.lower()
    fan_in, fan_out = _fans(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(
    tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator=None, *, seed=None
):
    """He uniform with torch's fans: ``U(-bound, bound)``, ``bound = gain * sqrt(3 / fan)``.

    Examples
    --------
    >>> import torch, arrayinit.torch as ait
    >>> w = ait.kaiming_uniform_(torch.empty(64, 128), a=5 ** 0.5, seed=0)   # torch's nn.Linear default
    >>> bool(w.abs().max() <= 1 / 128 ** 0.5)
    True
    """
    if tensor.numel() == 0:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, seed=_seed(seed, generator, tensor))


def kaiming_normal_(
    tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator=None, *, seed=None
):
    """He normal with torch's fans: ``N(0, std)``, ``std = gain / sqrt(fan)``."""
    if tensor.numel() == 0:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), seed=_seed(seed, generator, tensor))


def orthogonal_(tensor, gain: float = 1, generator=None, *, seed=None):
    """A (semi-)orthogonal matrix with torch's flattening ``(shape[0], numel // shape[0])``.

    Examples
    --------
    >>> import torch, arrayinit.torch as ait
    >>> q = ait.orthogonal_(torch.empty(32, 64, dtype=torch.float64), seed=0)
    >>> bool(torch.allclose(q @ q.T, torch.eye(32, dtype=torch.float64)))
    True
    """
    if tensor.dim() < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    gain = check_float("gain", gain)
    name = _dtypes.dtype_name(tensor.dtype)
    if _dtypes.overflows(abs(gain), name):  # |values| <= |gain|
        raise ValueError(f"Argument `gain` overflows {name}. {received('gain', gain)}")
    return _fill_values(tensor, _orthogonal_values(tuple(tensor.shape), gain, _seed(seed, generator, tensor)))


def _orthogonal_values(shape: tuple[int, ...], gain: float, seed: int) -> np.ndarray:
    """float64 values of ``orthogonal_``: QR of a normal ``(shape[0], rest)`` matrix, signs fixed."""
    rows = shape[0]
    cols = math.prod(shape) // rows if rows else 0
    flat = _random.normal((rows, cols), seed=seed, dtype="float64")
    if rows < cols:
        flat = flat.T
    q = orthonormal_columns(flat)
    if rows < cols:
        q = q.T
    return (gain * q).reshape(shape)


def sparse_(tensor, sparsity: float, std: float = 0.01, generator=None, *, seed=None):
    """2-D sparse normal matrix: in every column, ``ceil(sparsity * rows)`` entries are zero.

    The values come from stream 0 of the seed and the positions of the zeros
    from stream 1 (the rows with the smallest stream words in each column).
    """
    if tensor.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    sparsity = check_float("sparsity", sparsity)
    if not 0.0 <= sparsity <= 1.0:  # a fraction of each column
        raise ValueError(f"Argument `sparsity` must be in [0, 1]. {received('sparsity', sparsity)}")
    rows, cols = tensor.shape
    num_zeros = math.ceil(sparsity * rows)
    s = _seed(seed, generator, tensor)
    values = _random.normal((rows, cols), seed=s, stddev=std, dtype="float64")
    if num_zeros:
        order = np.argsort(_random.bits((rows, cols), seed=s, stream=1), axis=0, kind="stable")
        np.put_along_axis(values, order[:num_zeros], 0.0, axis=0)
    return _fill_values(tensor, values)


# --- torch's deprecated names ----------------------------------------------------------------


def _deprecated(fn: Callable) -> Callable:
    """``fn`` under its name without the trailing underscore, warning as ``torch.nn.init`` does (FutureWarning)."""
    new_name = fn.__name__
    old_name = new_name[:-1]

    @functools.wraps(fn)
    def deprecated(*args, **kwargs):
        warnings.warn(
            f"`nn.init.{old_name}` is now deprecated in favor of `nn.init.{new_name}`.", FutureWarning, stacklevel=2
        )
        return fn(*args, **kwargs)

    deprecated.__name__ = deprecated.__qualname__ = old_name
    deprecated.__doc__ = (
        f"Deprecated name of ``{new_name}`` (as ``torch.nn.init.{old_name}``): warns with a FutureWarning, "
        f"then calls ``{new_name}``."
    )
    return deprecated


uniform = _deprecated(uniform_)
normal = _deprecated(normal_)
constant = _deprecated(constant_)
eye = _deprecated(eye_)
dirac = _deprecated(dirac_)
xavier_uniform = _deprecated(xavier_uniform_)
xavier_normal = _deprecated(xavier_normal_)
kaiming_uniform = _deprecated(kaiming_uniform_)
kaiming_normal = _deprecated(kaiming_normal_)
orthogonal = _deprecated(orthogonal_)
sparse = _deprecated(sparse_)
