"""torch's own default initialization per module type, and ``init_module``: every parameter of a module
from its own seed."""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from arrayinit._catalogue import CATALOGUE, preset
from arrayinit._initializers import (
    Constant,
    Initializer,
    Ones,
    Orthogonal,
    RandomNormal,
    RandomUniform,
    VarianceScaling,
    Zeros,
    reseeded,
)
from arrayinit._seeds import derive_seed
from arrayinit._variance import torch_fans
from arrayinit.torch._dtensor import _dtensor_types, init_dtensor_, local_block
from arrayinit.torch._nn_init import _fill_values


def _torch_vs(scale: float, mode: str, distribution: str) -> VarianceScaling:
    """A variance-scaling initializer with torch's fans ``(out, in, *kernel)`` (in axis 1, out axis 0)."""
    return VarianceScaling(scale, mode, distribution, seed=0, in_axis=1, out_axis=0)  # type: ignore[arg-type]


def _torch_preset(name: str, scale: float | None = None) -> VarianceScaling:
    """The torch function of catalogue row ``name`` as a variance scaling (its distribution, torch's fans).

    ``scale``: the squared gain where the function has one (kaiming_*), else the preset's.
    """
    row = CATALOGUE[name]
    preset_scale, mode, distribution = preset(name)
    return _torch_vs(preset_scale if scale is None else scale, mode, row.torch_distribution or distribution)


def _kaiming_uniform_sqrt5() -> VarianceScaling:
    # kaiming_uniform_(a=sqrt(5)): gain**2 = 2 / (1 + 5) = 1/3, so U(-sqrt(1 / fan_in), sqrt(1 / fan_in))
    return _torch_preset("HeUniform", 1.0 / 3.0)


def _symmetric_uniform(bound: float) -> RandomUniform:
    return RandomUniform(-bound, bound, seed=0)


def _fan_in_bound(weight) -> RandomUniform:
    """``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` with ``fan_in`` of ``weight`` in torch's layout (0 for an empty fan)."""
    fan_in, _ = torch_fans(tuple(weight.shape))
    return _symmetric_uniform(1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0)


def _hidden_bound(hidden_size: int) -> RandomUniform:
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
            return RandomNormal(0.0, 1.0, seed=0), (None if pad is None else _zero_row(pad))
    elif isinstance(module, _NORMS):
        if name == "weight":
            return Ones(), None
        if name == "bias":
            return Zeros(), None
    elif isinstance(module, (nn.RNNBase, nn.RNNCellBase)):
        return _hidden_bound(module.hidden_size), None
    elif isinstance(module, nn.MultiheadAttention):
        if name in ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight"):
            return _torch_preset("GlorotUniform"), None  # xavier_uniform_
        if name == "in_proj_bias":
            return Zeros(), None
        if name in ("bias_k", "bias_v"):
            return _torch_preset("GlorotNormal"), None  # xavier_normal_
    elif isinstance(module, nn.PReLU) and name == "weight":
        return Constant(float(module.init)), None
    return None


def _fallback(name: str, param):
    """Parameters of module types outside the table: kaiming_uniform_(a=sqrt(5)), zeros for biases, else ones."""
    if param.dim() >= 2:
        return _kaiming_uniform_sqrt5(), None
    if name.endswith("bias"):
        return Zeros(), None
    return Ones(), None


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
                rules[f"{dot}out_proj.bias"] = (Zeros(), None)
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
    defaults = torch_defaults(module)
    for name, param in module.named_parameters():
        init, after, pseed = chosen_initializer(name, param, seed, rules, defaults)
        if isinstance(init, Initializer):
            dt = _dtensor_types()
            is_dtensor = dt is not None and isinstance(param, dt)
            if isinstance(init, Orthogonal) and param.dim() > 2:
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
        else:
            with torch.no_grad():
                init(param, seed=pseed)
        if after is not None:
            after(param)
    return module


def chosen_initializer(name: str, param, seed: int, rules, defaults: Mapping) -> tuple[Any, Callable | None, int]:
    """``(initializer, after, parameter seed)`` of parameter ``name`` as ``init_module`` chooses it.

    The first matching rule, else torch's own default (``defaults``: ``torch_defaults``'s table); an
    arrayinit initializer comes back reseeded with ``derive_seed(seed, name)`` and, for variance scaling
    without its own axes, with torch's fans; a function rule comes back as it is.
    """
    from arrayinit._registry import get

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
    if isinstance(init, Initializer):
        init = reseeded(init, pseed)
        if isinstance(init, VarianceScaling) and not init.has_axes and param.dim() >= 2:
            # torch layout (out, in, *k): fans from axis 1 (in) and 0 (out), for plain and DTensor parameters
            init = VarianceScaling(
                init.scale,
                init.mode,  # type: ignore[arg-type]
                init.distribution,  # type: ignore[arg-type]
                pseed,
                in_axis=1,
                out_axis=0,
            )
        return init, after, pseed
    if callable(init) and not hasattr(init, "get_config"):
        return init, after, pseed
    raise TypeError(
        f"Argument `rules`: the rule for {name!r} must be an arrayinit initializer (arrayinit.HeNormal(), ...), a "
        "registered name, a config dict or a function (tensor, seed=...) -> None; initializers of arrayinit.keras "
        f"or arrayinit.compat.v1 are not (use arrayinit.get with their name). Received: {chosen!r}"
    )
