"""``torch.nn.init``-compatible in-place initializers, module and DTensor initialization.

Every function takes the signature of its ``torch.nn.init`` namesake plus a
keyword ``seed``. An int seed gives reproducible values on every library and
device. Without one, the seed is drawn from ``generator`` (or torch's default
generator), as torch's own functions draw their values: ``torch.manual_seed``
makes such calls repeatable, and each call consumes the generator. Fans follow
torch's convention: ``(out, in, *kernel)``.

``init_module(module, seed)`` initializes every parameter with its own seed
derived from its qualified name, and ``init_dtensor_`` fills each rank's
local shard of a DTensor so the global tensor equals single-process
initialization, whatever the mesh and placements, with no communication.
"""

from __future__ import annotations

import fnmatch
import functools
import math
import warnings
from collections.abc import Callable, Mapping

import numpy as np
import torch

from arrayinit import _dtypes, _torch_checkpoint
from arrayinit import _initializers as _I
from arrayinit import _variance as _V
from arrayinit import random as _random
from arrayinit._catalogue import CATALOGUE, preset
from arrayinit._errors import check_float, check_int, received
from arrayinit._seeds import derive_seed

__all__ = [
    "calculate_gain",
    "constant",
    "constant_",
    "dirac",
    "dirac_",
    "eye",
    "eye_",
    "init_dtensor_",
    "init_module",
    "kaiming_normal",
    "kaiming_normal_",
    "kaiming_uniform",
    "kaiming_uniform_",
    "normal",
    "normal_",
    "ones_",
    "orthogonal",
    "orthogonal_",
    "save_initialized",
    "sparse",
    "sparse_",
    "torch_defaults",
    "trunc_normal_",
    "uniform",
    "uniform_",
    "xavier_normal",
    "xavier_normal_",
    "xavier_uniform",
    "xavier_uniform_",
    "zeros_",
]


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
    return _V.torch_fans(tuple(tensor.shape))


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
    return _fill_constant(tensor, val, _I.Constant(val))


def ones_(tensor):
    """Fill ``tensor`` with ones (any dtype)."""
    return _fill_constant(tensor, 1, _I.Ones())


def zeros_(tensor):
    """Fill ``tensor`` with zeros (any dtype)."""
    return _fill_constant(tensor, 0, _I.Zeros())


def eye_(tensor):
    """Fill the 2-D ``tensor`` with the identity matrix."""
    if tensor.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _I.Identity().fill_(tensor)


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
    from arrayinit import _frontend

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
    q = _I.orthonormal_columns(flat)
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


# --- distributed ---------------------------------------------------------------------------


def _dtensor_types():
    try:
        from torch.distributed.tensor import DTensor
    except ImportError:  # pragma: no cover - torch without distributed
        return None
    return DTensor


def local_block(dtensor) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """``(local_shape, global_shape, global_offset)`` of this rank's shard of ``dtensor``."""
    from torch.distributed.tensor._utils import compute_local_shape_and_global_offset

    global_shape = tuple(dtensor.shape)
    local_shape, offset = compute_local_shape_and_global_offset(global_shape, dtensor.device_mesh, dtensor.placements)
    return tuple(local_shape), global_shape, tuple(offset)


def init_dtensor_(dtensor, initializer):
    """Fill this rank's local shard of ``dtensor`` so the global tensor equals single-process initialization.

    ``initializer`` is an arrayinit initializer (fans come from the global
    shape). No communication: each rank generates exactly its block.
    Replicated placements give every rank the same full values.
    """
    if _dtensor_types() is None or not isinstance(dtensor, _dtensor_types()):
        raise TypeError(
            f"Argument `dtensor` must be a torch.distributed.tensor.DTensor. {received('dtensor', type(dtensor))}"
        )
    local_shape, global_shape, offset = local_block(dtensor)
    local = dtensor.to_local()
    if tuple(local.shape) != local_shape:  # pragma: no cover - uneven shards are padded by some placements
        raise ValueError(f"Unexpected local shard shape {tuple(local.shape)} for expected {local_shape}")
    if local.numel():
        initializer(local_shape, out=local.detach(), full_shape=global_shape, offset=offset)
    torch.autograd.graph.increment_version(dtensor)  # the DTensor keeps its own version counter
    return dtensor


# --- torch's own default initialization, per module type ------------------------------------


def _torch_vs(scale: float, mode: str, distribution: str) -> _I.VarianceScaling:
    """A variance-scaling initializer with torch's fans ``(out, in, *kernel)`` (in axis 1, out axis 0)."""
    return _I.VarianceScaling(scale, mode, distribution, seed=0, in_axis=1, out_axis=0)  # type: ignore[arg-type]


def _torch_preset(name: str, scale: float | None = None) -> _I.VarianceScaling:
    """The torch function of catalogue row ``name`` as a variance scaling (its distribution, torch's fans).

    ``scale``: the squared gain where the function has one (kaiming_*), else the preset's.
    """
    row = CATALOGUE[name]
    preset_scale, mode, distribution = preset(name)
    return _torch_vs(preset_scale if scale is None else scale, mode, row.torch_distribution or distribution)


def _kaiming_uniform_sqrt5() -> _I.VarianceScaling:
    # kaiming_uniform_(a=sqrt(5)): gain**2 = 2 / (1 + 5) = 1/3, so U(-sqrt(1 / fan_in), sqrt(1 / fan_in))
    return _torch_preset("HeUniform", 1.0 / 3.0)


def _symmetric_uniform(bound: float) -> _I.RandomUniform:
    return _I.RandomUniform(-bound, bound, seed=0)


def _fan_in_bound(weight) -> _I.RandomUniform:
    """``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` with ``fan_in`` of ``weight`` in torch's layout (0 for an empty fan)."""
    fan_in, _ = _V.torch_fans(tuple(weight.shape))
    return _symmetric_uniform(1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0)


def _hidden_bound(hidden_size: int) -> _I.RandomUniform:
    return _symmetric_uniform(1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0)


def _zero_row(index: int):
    """Zero row ``index`` (axis 0) of a parameter; of a DTensor, in the local shard that holds it."""

    def after(param) -> None:
        dt = _dtensor_types()
        with torch.no_grad():
            if dt is not None and isinstance(param, dt):
                local_shape, _global, offset = local_block(param)
                if local_shape and offset[0] <= index < offset[0] + local_shape[0]:
                    param.to_local()[index - offset[0]].fill_(0)
                torch.autograd.graph.increment_version(param)
            else:
                param[index].fill_(0)

    return after


_NORMS = (
    torch.nn.LayerNorm,
    torch.nn.GroupNorm,
    torch.nn.RMSNorm,
    torch.nn.modules.batchnorm._NormBase,  # BatchNorm1d/2d/3d, SyncBatchNorm, InstanceNorm1d/2d/3d
)


def _own_default(module, name: str, param):
    """``(initializer, after)`` of torch's own initialization of ``module``'s parameter ``name``, or None."""
    nn = torch.nn
    if isinstance(module, (nn.Linear, nn.modules.conv._ConvNd)):
        if name == "weight":
            return _kaiming_uniform_sqrt5(), None
        if name == "bias":
            return _fan_in_bound(module.weight), None
    elif isinstance(module, nn.Bilinear):
        if name in ("weight", "bias"):
            return _symmetric_uniform(1.0 / math.sqrt(module.weight.size(1))), None
    elif isinstance(module, (nn.Embedding, nn.EmbeddingBag)):
        if name == "weight":
            pad = module.padding_idx
            return _I.RandomNormal(0.0, 1.0, seed=0), (None if pad is None else _zero_row(pad))
    elif isinstance(module, _NORMS):
        if name == "weight":
            return _I.Ones(), None
        if name == "bias":
            return _I.Zeros(), None
    elif isinstance(module, (nn.RNNBase, nn.RNNCellBase)):
        return _hidden_bound(module.hidden_size), None
    elif isinstance(module, nn.MultiheadAttention):
        if name in ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight"):
            return _torch_preset("GlorotUniform"), None  # xavier_uniform_
        if name == "in_proj_bias":
            return _I.Zeros(), None
        if name in ("bias_k", "bias_v"):
            return _torch_preset("GlorotNormal"), None  # xavier_normal_
    elif isinstance(module, nn.PReLU) and name == "weight":
        return _I.Constant(float(module.init)), None
    return None


def _fallback(name: str, param):
    """Parameters of module types outside the table: kaiming_uniform_(a=sqrt(5)), zeros for biases, else ones."""
    if param.dim() >= 2:
        return _kaiming_uniform_sqrt5(), None
    if name.endswith("bias"):
        return _I.Zeros(), None
    return _I.Ones(), None


def torch_defaults(module) -> dict[str, tuple[object, Callable | None]]:
    """``{qualified name: (initializer, after)}``: torch's own initialization of each parameter of ``module``.

    Each parameter gets the rule of the module that owns it (Linear, Conv,
    Embedding, norms, RNNs, MultiheadAttention, ...; see the PyTorch guide),
    then the adjustments containers make after building their submodules:
    ``MultiheadAttention`` zeros ``out_proj.bias``, ``Transformer`` gives every
    parameter of 2 or more dimensions ``xavier_uniform_``. ``after`` (or None)
    runs on the parameter once it is filled (Embedding's ``padding_idx`` row).
    """
    rules: dict[str, tuple[object, Callable | None]] = {}
    modules = list(module.named_modules())
    for prefix, sub in modules:
        for name, param in sub.named_parameters(prefix=prefix, recurse=False):
            local = name.rsplit(".", 1)[-1]
            rules[name] = _own_default(sub, local, param) or _fallback(name, param)
    for prefix, sub in modules:
        dot = f"{prefix}." if prefix else ""
        if isinstance(sub, torch.nn.MultiheadAttention) and sub.in_proj_bias is not None:
            if sub.out_proj.bias is not None:
                rules[f"{dot}out_proj.bias"] = (_I.Zeros(), None)
        elif isinstance(sub, torch.nn.Transformer):
            for name, param in sub.named_parameters(prefix=prefix):
                if param.dim() > 1:
                    rules[name] = (_torch_preset("GlorotUniform"), None)  # xavier_uniform_
    return rules


def init_module(
    module,
    seed: int,
    rules: Mapping[str, object] | Callable[[str, object], object] | None = None,
):
    """Initialize every parameter of ``module`` with its own seed ``derive_seed(seed, name)``.

    The result does not depend on the order in which parameters were created.

    Parameters
    ----------
    module : torch.nn.Module
    seed : int
        Root seed.
    rules : mapping or callable, optional
        ``{pattern: initializer}`` (``fnmatch`` patterns on qualified parameter
        names; the first match wins) or ``rule(name, param) -> initializer``.
        An initializer is an arrayinit initializer, a registered name, or a
        ``fn(tensor, seed=...)`` in place function of this module. Parameters no
        rule matches get the distribution torch's own module would give them
        (``torch_defaults``: Linear and Conv weights ``kaiming_uniform_(a=sqrt(5))``
        and biases ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, Embedding ``N(0, 1)``
        with the ``padding_idx`` row zeroed, norm layers ones and zeros, RNNs
        ``U(-1/sqrt(hidden), 1/sqrt(hidden))``, MultiheadAttention, Transformer,
        ...; the table is in the PyTorch guide). Parameters of other module
        types: ``kaiming_uniform_(a=sqrt(5))`` for 2 or more dimensions, zeros
        for biases, ones otherwise.

    Examples
    --------
    >>> import torch, arrayinit.torch as ait
    >>> net = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.LayerNorm(4))
    >>> _ = ait.init_module(net, seed=0)           # torch's defaults, from the arrayinit stream
    >>> float(net[1].weight.detach().sum()), bool(net[0].bias.detach().abs().max() <= 8 ** -0.5)
    (4.0, True)
    >>> _ = ait.init_module(net, seed=0, rules={"0.weight": "glorot_uniform", "*.bias": "zeros"})
    >>> float(net[0].bias.detach().abs().sum())
    0.0
    """
    from arrayinit._registry import get

    defaults = torch_defaults(module)
    for name, param in module.named_parameters():
        after = None
        chosen = None
        if callable(rules) and not isinstance(rules, Mapping):
            chosen = rules(name, param)
        elif rules:
            for pattern, rule in rules.items():
                if fnmatch.fnmatchcase(name, pattern):
                    chosen = rule
                    break
        if chosen is None:
            chosen, after = defaults.get(name) or _fallback(name, param)
        pseed = derive_seed(seed, name)
        init = get(chosen) if isinstance(chosen, (str, dict)) else chosen
        if isinstance(init, _I.Initializer):
            init = _I.reseeded(init, pseed)
            if isinstance(init, _I.VarianceScaling) and not init.has_axes and param.dim() >= 2:
                # torch layout (out, in, *k): fans from axis 1 (in) and 0 (out), for plain and DTensor parameters
                init = _I.VarianceScaling(
                    init.scale,
                    init.mode,  # type: ignore[arg-type]
                    init.distribution,  # type: ignore[arg-type]
                    pseed,
                    in_axis=1,
                    out_axis=0,
                )
            dt = _dtensor_types()
            is_dtensor = dt is not None and isinstance(param, dt)
            if isinstance(init, _I.Orthogonal) and param.dim() > 2:
                # torch layout (out, in, *k): orthogonal over (out, in * k), not Keras' (out * in * ..., k[-1])
                rows = param.shape[0]
                values = init((rows, math.prod(param.shape[1:])), "float64").reshape(tuple(param.shape))
                if is_dtensor:
                    local_shape, _global, off = local_block(param)
                    block = values[tuple(slice(o, o + n) for o, n in zip(off, local_shape))]
                    _fill_values(param.to_local().detach(), np.ascontiguousarray(block))
                    torch.autograd.graph.increment_version(param)
                else:
                    _fill_values(param, values)
            elif is_dtensor:
                init_dtensor_(param, init)
            else:
                init.fill_(param)
        elif callable(init) and not hasattr(init, "get_config"):
            with torch.no_grad():
                init(param, seed=pseed)
        else:
            raise TypeError(
                f"Argument `rules`: the rule for {name!r} must be an arrayinit initializer (arrayinit.HeNormal(), ...),"
                " "
                "a registered name, a config dict or a function (tensor, seed=...) -> None; initializers of "
                "arrayinit.keras or arrayinit.compat.v1 are not (use arrayinit.get with their name). "
                f"Received: {chosen!r}"
            )
        if after is not None:
            after(param)
    return module


save_initialized = _torch_checkpoint.save_initialized_with(torch_defaults)
