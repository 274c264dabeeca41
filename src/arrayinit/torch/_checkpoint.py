"""The sharded checkpoint of a torch module, built on the meta device or anywhere: ``init_module``'s values,
tensor by tensor, named as in ``module.state_dict()``, written without allocating the module
(``arrayinit.torch.save_initialized``).

Each parameter's recipe is chosen as ``init_module`` chooses it (a rule, else torch's own default for its module,
``derive_seed(seed, name)``, torch's fans for variance scaling, torch's flattening for ``orthogonal``, the padding row
of an ``Embedding`` zeroed); the values are then generated block by block while the shards are written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
from collections.abc import Callable, Mapping

import numpy as np
import torch

from arrayinit import _checkpoint, _dtypes, _frontend, _safetensors
from arrayinit._blocks import tensor_blocks
from arrayinit._errors import check_seed, received
from arrayinit._initializers import Initializer, Orthogonal
from arrayinit.torch._modules import chosen_initializer, torch_defaults

_TORCH_DTYPES = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "int64": torch.int64,
    "uint32": torch.uint32,
}


@dataclasses.dataclass(frozen=True)
class ZeroRow:
    """An initializer's values with row ``row`` of axis 0 set to zero (``Embedding``'s ``padding_idx``)."""

    init: Initializer
    row: int

    def blocks(self, shape, dtype, written):
        row_len = math.prod(shape[1:])
        lo, hi = self.row * row_len, (self.row + 1) * row_len
        pos = 0
        for block in tensor_blocks(self.init, shape, dtype, written):
            flat = block.reshape(-1)  # a view: the blocks are C-contiguous
            a, b = max(lo, pos), min(hi, pos + flat.size)
            if a < b:
                flat[a - pos : b - pos] = 0  # +0.0 in every float format
            pos += flat.size
            yield block

    def fingerprint(self):
        return {**_checkpoint.initializer_fingerprint(self.init), "zero_row": self.row}


@dataclasses.dataclass(frozen=True)
class TorchLayoutOrthogonal:
    """``Orthogonal`` of a tensor of 3 or more dimensions in torch's layout: over ``(out, in * k...)``."""

    init: Orthogonal

    def blocks(self, shape, dtype, written):
        rows = shape[0]
        values = self.init((rows, math.prod(shape[1:])), "float64").reshape(shape)
        out = np.empty(shape, _dtypes.numpy_dtype(dtype))
        _frontend.from_values(values, dtype, None, out=out)
        yield out.view(_dtypes.storage_dtype(dtype))
        written(out.size)

    def fingerprint(self):
        return {**_checkpoint.initializer_fingerprint(self.init), "layout": "torch"}


@dataclasses.dataclass(frozen=True)
class TorchFunction:
    """An in-place function ``fn(tensor, seed=...)`` run on a CPU tensor of the parameter's shape and dtype."""

    fn: Callable
    seed: int

    def blocks(self, shape, dtype, written):
        t = torch.empty(shape, dtype=_TORCH_DTYPES[dtype])
        with torch.no_grad():
            self.fn(t, seed=self.seed)
        yield t.contiguous().reshape(-1).view(torch.uint8).numpy()
        written(t.numel())

    def fingerprint(self):
        return {"function": f"{self.fn.__module__}.{self.fn.__qualname__}", "seed": self.seed}


@dataclasses.dataclass(frozen=True)
class Filled:
    """Every element ``value`` (the running statistics of a norm layer built on the meta device)."""

    value: float

    def blocks(self, shape, dtype, written):
        dt = np.int64 if dtype == "int64" else _dtypes.numpy_dtype(dtype)
        out = np.full(shape, self.value, dt)
        yield out.reshape(-1).view(np.uint8)
        written(out.size)

    def fingerprint(self):
        return {"filled": self.value}


@dataclasses.dataclass(frozen=True)
class Values:
    """The bytes of a buffer that holds values (not on the meta device)."""

    data: bytes

    def blocks(self, shape, dtype, written):
        yield np.frombuffer(self.data, np.uint8)
        written(len(self.data) // _safetensors.ITEMSIZE[dtype])

    def fingerprint(self):
        return {"sha256": hashlib.sha256(self.data).hexdigest()}


def _dtype_of(name: str, tensor) -> str:
    for key, value in _TORCH_DTYPES.items():
        if tensor.dtype == value:
            return key
    raise ValueError(
        f"Argument `module`: {name!r} is a {tensor.dtype} tensor; a checkpoint holds float16, bfloat16, float32, "
        f"float64, int64 and uint32 tensors. Received: {name}.dtype={tensor.dtype}"
    )


def _owner(module, name: str):
    prefix = name.rpartition(".")[0]
    return module.get_submodule(prefix) if prefix else module


def _parameter_source(module, name: str, param, seed: int, rules, defaults):
    """The recipe of parameter ``name``, chosen as ``init_module`` chooses it."""
    init, after, pseed = chosen_initializer(name, param, seed, rules, defaults)
    row = None
    if after is not None:
        owner = _owner(module, name)
        if not isinstance(owner, (torch.nn.Embedding, torch.nn.EmbeddingBag)) or owner.padding_idx is None:
            raise NotImplementedError(f"no checkpoint recipe for the adjustment of {name!r}")  # pragma: no cover
        row = int(owner.padding_idx)
    if isinstance(init, Initializer):
        if isinstance(init, Orthogonal) and param.dim() > 2:
            return TorchLayoutOrthogonal(init)
        return _checkpoint.FromInitializer(init) if row is None else ZeroRow(init, row)
    return TorchFunction(init, pseed)


_RUNNING = {"running_mean": 0.0, "running_var": 1.0, "num_batches_tracked": 0}


def _buffer_source(module, name: str, tensor):
    """The recipe of buffer ``name``: its values, or a norm layer's initial running statistics on the meta device."""
    if tensor.device.type != "meta":
        return Values(tensor.detach().to("cpu").contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    local = name.rpartition(".")[2]
    if isinstance(_owner(module, name), torch.nn.modules.batchnorm._NormBase) and local in _RUNNING:
        return Filled(_RUNNING[local])
    raise ValueError(
        f"Argument `module`: the buffer {name!r} is on the meta device, so it has no values to write, and it is not "
        "a norm layer's running statistics (the only buffers given their initial values here); give it values "
        f"or register it with persistent=False. Received: {name} on device 'meta'"
    )


def tensors_of(module, seed: int, rules) -> list[_checkpoint.Tensor]:
    """The tensors of ``module.state_dict()``, in its order, each with the recipe of its values."""
    table = torch_defaults(module)
    canonical = {id(p): n for n, p in module.named_parameters()}  # a tied parameter takes its first name's values
    params = dict(module.named_parameters())
    out = []
    for name, tensor in module.state_dict(keep_vars=True).items():
        dtype = _dtype_of(name, tensor)
        if id(tensor) in canonical:
            first = canonical[id(tensor)]
            source = _parameter_source(module, first, params[first], seed, rules, table)
        else:
            source = _buffer_source(module, name, tensor)
        out.append(_checkpoint.Tensor(name, tuple(int(d) for d in tensor.shape), dtype, source))
    return out


def _progress_bar(enabled: bool, label: str):
    if not enabled:
        return None

    def start(total: int, done: int):
        from tqdm.auto import tqdm

        bar = tqdm(total=total, initial=done, desc=label, unit="B", unit_scale=True, mininterval=0.2)
        bars.append(bar)
        return bar.update

    bars: list = []
    start.bars = bars  # type: ignore[attr-defined]
    return start


def save_initialized(
    module,
    seed: int,
    out_dir: str | os.PathLike,
    *,
    rules: Mapping[str, object] | Callable[[str, object], object] | None = None,
    max_shard_size: int | str = "5GB",
    workers: int = 1,
    executor=None,
    progress: bool = False,
) -> str:
    """Write the checkpoint ``init_module(module, seed, rules=rules)`` would give, without allocating the module.

    ``module`` may be built on the meta device (``with torch.device("meta"):``):
    only its parameters' names, shapes, dtypes and module types are read.
    Each tensor of ``module.state_dict()`` is generated block by block into
    a folder of safetensors shards (``model-00001-of-0000N.safetensors``)
    and their index (``model.safetensors.index.json``), so a process holds
    at most one block (one tensor for ``orthogonal``, a function rule or an
    ``Embedding`` with ``padding_idx``) beside the interpreter, never the
    model.

    Parameters
    ----------
    module : torch.nn.Module
        The model; its parameters may be on the meta device.
    seed : int
        Root seed, as for ``init_module``: parameter ``name`` gets ``derive_seed(seed, name)``.
    out_dir : str or os.PathLike
        The checkpoint's folder, created when missing.
    rules : mapping or callable, optional
        As for ``init_module``. A function rule ``fn(tensor, seed=...)`` runs on a
        CPU tensor of the parameter's shape.
    max_shard_size : int or str
        The most bytes of tensor data per shard: an int, or ``"5GB"``, ``"500MB"``
        (decimal units, as the common tools count) or ``"2GiB"`` (binary).
        Tensors stay whole; a larger tensor gets a shard alone.
    workers : int
        Processes writing shards at once (each holds one block at a time).
    executor : concurrent.futures.Executor, optional
        Write the shards as its tasks instead, e.g. ``client.get_executor()``
        of a ``dask.distributed`` client; ``out_dir`` must be a folder its
        workers can write.
    progress : bool
        A tqdm bar of the bytes written.

    Returns
    -------
    str
        The path of the index file.

    Notes
    -----
    Parameters shared by several modules (tied weights) appear under
    each of their ``state_dict`` names, with the values of the first
    name. Buffers are written with their values; on the meta device only
    the running statistics of torch's norm layers have values to write
    (zeros, ones and a zero count), any other meta buffer is an error. A
    rerun into the same folder keeps the shards that match the plan (see
    the PyTorch guide). Every shard's and the index's metadata hold
    ``generator``, ``seed`` and ``format`` (``pt``).

    Examples
    --------
    >>> import json, os, tempfile, torch, arrayinit.torch as ait
    >>> from safetensors.torch import load_file
    >>> with torch.device("meta"):
    ...     net = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.LayerNorm(32))
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     index = ait.save_initialized(net, 0, folder, max_shard_size="8kB")
    ...     with open(index) as f:
    ...         files = sorted(set(json.load(f)["weight_map"].values()))
    ...     state = {k: v for name in files for k, v in load_file(os.path.join(folder, name)).items()}
    >>> files
    ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']
    >>> _ = net.load_state_dict(state, assign=True)
    >>> ref = ait.init_module(torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.LayerNorm(32)), seed=0)
    >>> all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), ref.state_dict().values()))
    True
    """
    seed = check_seed(seed)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"Argument `workers` must be a positive integer. {received('workers', workers)}")
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"Argument `module` must be a torch.nn.Module. {received('module', type(module))}")
    tensors = tensors_of(module, seed, rules)
    meta = {"generator": "arrayinit", "seed": str(seed), "format": "pt"}
    ckpt = _checkpoint.plan(tensors, max_shard_size, meta)
    folder = _checkpoint.output_folder(out_dir)
    start = _progress_bar(progress, os.path.basename(os.path.normpath(folder)))
    try:
        return _checkpoint.write_checkpoint(ckpt, folder, workers=workers, executor=executor, progress=start)
    finally:
        for bar in getattr(start, "bars", ()):
            bar.close()
