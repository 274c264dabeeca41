"""``arrayinit materialize``: every parameter of a model spec generated, block by block, into one safetensors file
that appears only when complete, or into a folder of safetensors shards and their index (written in parallel,
resumable), after the whole spec was checked against the machine."""

from __future__ import annotations

import math
import os
import time

from arrayinit import _checkpoint, _dtypes, _safetensors
from arrayinit._blocks import tensor_blocks, working_memory
from arrayinit.cli._messages import human_size
from arrayinit.cli._progress import Progress
from arrayinit.cli._resources import check_disk, check_memory, check_writable
from arrayinit.cli._spec import load_spec, plan_spec, spec_metadata


def check_resources(entries, out_path: str, metadata: dict[str, str]) -> None:
    """The whole spec against the machine, before anything is written: the output path (a writable folder,
    not a folder itself), the file against the free disk, each tensor's generation against the available
    memory, and bfloat16 against the installed packages."""
    check_writable(out_path, "--out")
    if any(d == "bfloat16" for _, _, d, _ in entries):
        _dtypes.numpy_dtype("bfloat16")  # ml_dtypes: a TypeError saying how to install it
    check_disk(_safetensors.file_size([(n, s, d) for n, s, d, _ in entries], metadata), out_path)
    name, shape, dtype, init = max(entries, key=lambda e: working_memory(e[3], e[1], e[2]))
    check_memory(working_memory(init, shape, dtype), f"parameter {name!r} ({type(init).__name__}, shape {shape})")


def is_sharded(out_path: str) -> bool:
    """Whether ``--out`` names a folder of shards (anything but a name ending in ``.safetensors``)."""
    return not os.fspath(out_path).endswith(".safetensors")


def materialize(
    spec,
    out_path: str,
    progress: bool = True,
    stream=None,
    *,
    max_shard_size: int | str = "5GB",
    workers: int = 1,
    executor=None,
) -> list[tuple[str, tuple[int, ...], str]]:
    """Generate every parameter of ``spec`` into a safetensors file (atomically), or a folder of shards.

    ``out_path`` ending in ``.safetensors`` is one file; any other path is a
    folder (created when missing) of shards of at most ``max_shard_size``
    bytes of data each and their index (``materialize_sharded``), written
    by ``workers`` processes or as tasks of ``executor``.

    The whole spec is validated first (``plan_spec``), then checked against
    the machine (``check_resources``: free disk, available memory); nothing is
    generated nor written when either fails. Tensors are generated block by
    block straight into the file (peak memory: one block, or the whole matrix
    for Orthogonal). The file's ``__metadata__`` holds ``generator``, the root
    ``seed`` and the spec's own ``metadata`` entries. ``progress``: a bar on
    ``stream`` (default stderr) advancing with the values written.
    """
    if is_sharded(out_path):
        return materialize_sharded(spec, out_path, progress, stream, max_shard_size, workers, executor)
    if workers != 1 or executor is not None:
        raise ValueError(
            f"--workers and an executor write shards: give a folder as --out (not a .safetensors file). "
            f"Received: --out {out_path!r}, --workers {workers}"
        )
    entries = plan_spec(spec)
    meta = spec_metadata(spec)
    check_resources(entries, out_path, meta)
    inits = {name: (shape, dtype, init) for name, shape, dtype, init in entries}
    total = sum(math.prod(s) for _, s, _, _ in entries)
    bar = Progress(total, os.path.basename(out_path), stream, progress)

    def produce(name):
        shape, dtype, init = inits[name]
        try:
            yield from tensor_blocks(init, shape, dtype, lambda n: bar.update(n, name))
        except MemoryError:  # passed check_resources, yet the allocation failed (a process limit, another process)
            need = human_size(working_memory(init, shape, dtype))
            raise ValueError(
                f"parameter {name!r} ({type(init).__name__}, shape {shape}) needs about {need} of memory, more than "
                "could be allocated"
            ) from None

    try:
        _safetensors.write(out_path, [(n, s, d) for n, s, d, _ in entries], produce, metadata=meta)
    finally:
        bar.close()
    return [(n, s, d) for n, s, d, _ in entries]


def checkpoint_of(
    entries, metadata: dict[str, str], max_shard_size: int | str, argument: str = "max_shard_size"
) -> _checkpoint.Checkpoint:
    """The sharded checkpoint of a spec's ``plan_spec`` entries: its tensors in spec order and its metadata."""
    meta = {**metadata, "format": "pt"}  # "pt": the metadata loaders such as transformers expect
    tensors = [_checkpoint.Tensor(n, s, d, _checkpoint.FromInitializer(i)) for n, s, d, i in entries]
    return _checkpoint.plan(tensors, max_shard_size, meta, argument)


def materialize_sharded(
    spec, out_dir: str, progress: bool, stream, max_shard_size: int | str, workers: int, executor
) -> list[tuple[str, tuple[int, ...], str]]:
    """A folder of shards and their index; shards already there as planned are kept (a resumed run)."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"--workers must be a positive integer. Received: --workers {workers!r}")
    entries = plan_spec(spec)
    ckpt = checkpoint_of(entries, spec_metadata(spec), max_shard_size, "--max-shard-size")
    if any(d == "bfloat16" for _, _, d, _ in entries):
        _dtypes.numpy_dtype("bfloat16")  # ml_dtypes: a TypeError saying how to install it
    folder = _checkpoint.output_folder(out_dir, "--out")
    name, shape, dtype, init = max(entries, key=lambda e: working_memory(e[3], e[1], e[2]))
    parallel = 1 if executor is not None else min(workers, ckpt.num_shards)
    check_memory(
        working_memory(init, shape, dtype) * parallel,
        f"parameter {name!r} ({type(init).__name__}, shape {shape})"
        + (f" in each of {parallel} worker processes" if parallel > 1 else ""),
    )
    index_path = os.path.join(folder, _checkpoint.INDEX_NAME)
    bars: list[Progress] = []

    def start(total: int, done: int):
        bars.append(Progress(total, os.path.basename(os.path.normpath(out_dir)), stream, progress, "B", done))
        return bars[0].update

    try:
        _checkpoint.write_checkpoint(
            ckpt,
            folder,
            workers=workers,
            executor=executor,
            check_disk=lambda need: check_disk(need, index_path, "--out", "the shards to write need"),
            progress=start,
        )
    finally:
        for bar in bars:
            bar.close()
    return [(n, s, d) for n, s, d, _ in entries]


def run(args) -> int:
    """The command: load the spec, materialize it, and say what was written."""
    spec = load_spec(args.spec)
    t0 = time.perf_counter()
    entries = materialize(
        spec, args.out, progress=not args.quiet, max_shard_size=args.max_shard_size, workers=args.workers
    )
    n = sum(math.prod(s) for _, s, _ in entries)
    where = f"{args.out} ({_checkpoint.INDEX_NAME} and its shards)" if is_sharded(args.out) else args.out
    print(f"wrote {where}: {len(entries)} tensors, {n} values in {time.perf_counter() - t0:.2f} s")
    return 0
