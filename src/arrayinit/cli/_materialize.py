"""``arrayinit materialize``: every parameter of a model spec generated, block by block, into one safetensors file
that appears only when complete, after the whole spec was checked against the machine."""

from __future__ import annotations

import math
import os
import time

from arrayinit import _dtypes, _safetensors
from arrayinit.cli._blocks import tensor_blocks, working_memory
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


def materialize(spec, out_path: str, progress: bool = True, stream=None) -> list[tuple[str, tuple[int, ...], str]]:
    """Generate every parameter of ``spec`` into a safetensors file (atomically).

    The whole spec is validated first (``plan_spec``), then checked against
    the machine (``check_resources``: free disk, available memory); nothing is
    generated nor written when either fails. Tensors are generated block by
    block straight into the file (peak memory: one block, or the whole matrix
    for Orthogonal). The file's ``__metadata__`` holds ``generator``, the root
    ``seed`` and the spec's own ``metadata`` entries. ``progress``: a bar on
    ``stream`` (default stderr) advancing with the values written.
    """
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


def run(args) -> int:
    """The command: load the spec, materialize it, and say what was written."""
    spec = load_spec(args.spec)
    t0 = time.perf_counter()
    entries = materialize(spec, args.out, progress=not args.quiet)
    n = sum(math.prod(s) for _, s, _ in entries)
    print(f"wrote {args.out}: {len(entries)} tensors, {n} values in {time.perf_counter() - t0:.2f} s")
    return 0
