"""DTensor shards: each rank fills its own block of the global tensor, with no communication."""

from __future__ import annotations

import torch

from arrayinit._errors import received


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
