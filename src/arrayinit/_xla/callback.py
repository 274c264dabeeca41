"""What an XLA op runs: one block of a plan written into XLA's output buffer (no jax import here).

The op's operands are the keys (uint32 words, ``batch + (key words,)``) and a
*where* row: the offset of the device's tile in the full (batched) array and
the device's CUDA ordinal, as uint32 words (``where_words``). Its result is the
device's tile of ``batch + shape``. The body reads the seed of each key with
the surface's rule (``Spec.seed_of``), reseeds the plan and writes the block
at the tile's offset: the values of every tile are those of the unsharded
array (``plan.block``). Tiles of uneven shards reach past the array's end;
their padding is written with zeros (XLA never reads it).
"""

from __future__ import annotations

import ctypes
import dataclasses
import math
import mmap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from arrayinit import _dtypes, _engine, _frontend, _locks
from arrayinit._complex import ComplexPlan

__all__ = [
    "Spec",
    "device_storage",
    "fill_device",
    "fill_host",
    "on_cpu",
    "on_gpu",
    "read_where",
    "where_words",
    "with_seed",
]


@dataclass(frozen=True)
class Spec:
    """What an op makes: ``template`` (the plan of the whole tensor, any seed) for each key of ``batch``.

    ``seed_of`` turns a key's words (1-D uint32) into the seed (the surface's rule).
    """

    template: Any  # FillPlan, ComplexPlan or a host-value plan of the whole tensor (offset zero)
    seed_of: Callable[[np.ndarray], int]
    key_words: int
    batch: tuple[int, ...] = ()

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.template.full_shape)

    @property
    def dtype(self) -> str:
        return self.template.dtype

    @property
    def full(self) -> tuple[int, ...]:
        """The shape of the op's result: ``batch + shape``."""
        return self.batch + self.shape

    def batched(self, size: int) -> Spec:
        """The spec of a vmap over ``size`` keys (a new leading batch axis)."""
        return dataclasses.replace(self, batch=(size, *self.batch))


def with_seed(plan, seed: int):
    """``plan`` drawing from ``seed`` (plans without a seed, constants and the identity, unchanged)."""
    if isinstance(plan, ComplexPlan):
        return dataclasses.replace(plan, parts=dataclasses.replace(plan.parts, seed=seed))
    if any(f.name == "seed" for f in dataclasses.fields(plan)):
        return dataclasses.replace(plan, seed=seed)
    return plan


def where_words(offset: tuple[int, ...], ordinal: int | None) -> np.ndarray:
    """The where row: ``(lo, hi)`` uint32 words of each offset, then the CUDA ordinal + 1 (0: not known)."""
    words = []
    for o in offset:
        words += [o & 0xFFFFFFFF, o >> 32]
    words.append(0 if ordinal is None else ordinal + 1)
    return np.array(words, np.uint32)


def read_where(words: np.ndarray, ndim: int) -> tuple[tuple[int, ...], int | None]:
    """``where_words`` read back: the offsets and the ordinal (None: not known)."""
    w = [int(x) for x in np.asarray(words).reshape(-1)]
    if len(w) != 2 * ndim + 1:
        raise ValueError(f"The where row of an arrayinit op must have {2 * ndim + 1} words. Received: {len(w)} words")
    offset = tuple(w[2 * i] | (w[2 * i + 1] << 32) for i in range(ndim))
    return offset, (w[-1] - 1 if w[-1] else None)


def _blocks(spec: Spec, keys: np.ndarray, offset: tuple[int, ...], tile: tuple[int, ...]):
    """``(batch index in the tile, plan of the block)`` of each key whose block lies (partly) in the tile."""
    nb = len(spec.batch)
    full = spec.full
    valid = tuple(max(0, min(t, f - o)) for t, f, o in zip(tile, full, offset))
    if 0 in valid:
        return
    inner_shape, inner_off = valid[nb:], offset[nb:]
    for local in np.ndindex(*valid[:nb]):
        g = tuple(o + i for o, i in zip(offset[:nb], local))
        seed = spec.seed_of(keys[g].reshape(-1))
        yield local, with_seed(spec.template, seed).block(inner_shape, inner_off)


def _write_tile(plan, region: np.ndarray) -> None:
    """Write ``plan``'s block at the origin of ``region`` (host storage, C-contiguous), zeros around it."""
    if plan.shape == region.shape:
        _frontend.write_host(plan, region.reshape(-1))
        return
    region[...] = 0  # padding of an uneven shard
    differ = [i for i, (b, r) in enumerate(zip(plan.shape, region.shape)) if b != r]
    if len(differ) == 1 and all(d == 1 for d in region.shape[: differ[0]]):  # a prefix of the tile's memory
        _frontend.write_host(plan, region.reshape(-1)[: plan.size])
        return
    block = np.empty(plan.shape, region.dtype)
    _frontend.write_host(plan, block.reshape(-1))
    region[tuple(slice(0, b) for b in plan.shape)] = block


_MADV_HUGEPAGE = 14
_HUGE_FROM = 4 << 20  # numpy asks for huge pages from 4 MiB on, too


def _huge_pages(out: np.ndarray) -> None:
    """Ask for transparent huge pages on the whole pages of a large buffer (as numpy does for its arrays).

    XLA allocates each result anew: a 128 MiB buffer is 32768 page faults of 4 KiB on its first write, about
    as long as generating the values; with huge pages, 64. Only advice: nothing changes where it is refused.
    """
    madvise = _engine.libc_function("madvise", ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    if madvise is None or out.nbytes < _HUGE_FROM:
        return
    page = mmap.PAGESIZE
    start = out.ctypes.data
    first = -(-start // page) * page
    end = (start + out.nbytes) // page * page
    if end > first:
        madvise(first, end - first, _MADV_HUGEPAGE)


def fill_host(spec: Spec, keys: np.ndarray, where: np.ndarray, out: np.ndarray) -> None:
    """The CPU body: the device's tile ``out`` (XLA's buffer as a numpy array) filled in place."""
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError("arrayinit's XLA op needs a writeable, C-contiguous output buffer (the default layout)")
    _huge_pages(out)
    storage = out.view(_dtypes.storage_dtype(spec.dtype))
    offset, _ = read_where(where, len(spec.full))
    nb = len(spec.batch)
    if any(o + t > f for o, t, f in zip(offset, out.shape, spec.full)):
        storage[...] = 0  # tiles reaching past the end (uneven shards): zero padding
    for local, plan in _blocks(spec, keys, offset, out.shape):
        _write_tile(plan, storage[local] if nb else storage)


def on_cpu(spec: Spec, ctx, keys, where, out) -> tuple:
    """The host callback of CPU devices: ``buffer_callback``'s buffers as numpy arrays (zero copy)."""
    fill_host(spec, np.asarray(keys), np.asarray(where), np.asarray(out))
    return ()


# --- GPU devices: the CUDA target on XLA's stream ----------------------------------------------------


def fill_device(spec: Spec, stream_ptr: int, keys, where, out, tile: tuple[int, ...]) -> None:
    """The GPU body: ``out``, a flat numba device array of the tile's real storage (16-bit floats as
    uint16, complex values as their float parts) whose logical shape is ``tile``, filled on the CUDA stream
    ``stream_ptr`` (0: the default stream).

    ``keys`` and ``where`` are numba device arrays; their few words are read back first. Blocks of a
    ``FillPlan`` (or of a cartesian ``ComplexPlan``) that fill their whole tile run the CUDA kernel straight
    into XLA's buffer; host-value plans, complex forms transformed on the host and the tiles of uneven shards
    are made on the host and copied in.
    """
    cuda = _locks.lazy_import("numba.cuda")
    stream: Any = cuda.external_stream(stream_ptr) if stream_ptr else 0
    keys_h = keys.copy_to_host(stream=stream).reshape(*spec.batch, spec.key_words)
    where_h = where.copy_to_host(stream=stream)
    if stream_ptr:
        stream.synchronize()
    offset, ordinal = read_where(where_h, len(spec.full))
    nb = len(spec.batch)
    inner = tuple(tile[nb:])
    per = math.prod(inner) * (2 if spec.dtype in _dtypes.COMPLEX_PARTS else 1)  # real words per batch entry
    entries = {local: i for i, local in enumerate(np.ndindex(*tile[:nb]))}
    staged = []  # host arrays being copied in: kept alive until the stream is done with them
    written = set()
    for local, plan in _blocks(spec, keys_h, offset, tuple(tile)):
        i = entries[local]
        region = out[i * per : (i + 1) * per]
        dplan = _frontend.device_plan(plan) if plan.shape == inner else None
        if dplan is not None:
            _engine.run_cuda_library(dplan, region, ordinal, stream_ptr or None)
        else:
            host = np.empty(inner, _dtypes.storage_dtype(spec.dtype))
            _write_tile(plan, host)
            host = host.reshape(-1).view(out.dtype)
            region.copy_to_device(host, stream=stream)
            staged.append(host)
        written.add(i)
    missing = [i for i in range(len(entries)) if i not in written]
    if missing:  # batch entries wholly past the array's end (uneven shards): zeros
        zeros = np.zeros(per, out.dtype)
        for i in missing:
            out[i * per : (i + 1) * per].copy_to_device(zeros, stream=stream)
        staged.append(zeros)
    if staged and stream_ptr:
        stream.synchronize()


def device_storage(buf, name: str) -> tuple[Any, tuple[int, ...]]:
    """XLA's GPU buffer as a flat numba device array of ``name``'s real storage, and its logical shape."""
    cuda = _locks.lazy_import("numba.cuda")
    desc = dict(buf.__cuda_array_interface__)
    shape = tuple(int(d) for d in desc["shape"])
    part = _dtypes.COMPLEX_PARTS.get(name)
    storage = _dtypes.storage_dtype(part or name)
    desc.update(shape=(math.prod(shape) * (2 if part else 1),), strides=None, typestr=storage.str)
    desc.pop("mask", None)
    return cuda.from_cuda_array_interface(desc, owner=buf, sync=False), shape


def on_gpu(spec: Spec, ctx, keys, where, out, *, as_device=device_storage) -> tuple:
    """The host callback of GPU devices: the CUDA target on XLA's stream (``ctx.stream``), into XLA's buffer.

    ``as_device(buffer, name)`` gives ``(flat numba device array, logical shape)`` of a buffer (default:
    through its ``__cuda_array_interface__``; the simulator tests pass their own arrays).
    """
    keys_d, _ = as_device(keys, "uint32")
    where_d, _ = as_device(where, "uint32")
    out_d, tile = as_device(out, spec.dtype)
    fill_device(spec, int(ctx.stream or 0), keys_d, where_d, out_d, tile)
    return ()
