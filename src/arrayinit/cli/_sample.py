"""``arrayinit sample``: one tensor drawn from one initializer, its statistics printed beside the theory, and
optionally written to a ``.npy`` or ``.safetensors`` file and drawn as a histogram."""

from __future__ import annotations

import math
import textwrap

import numpy as np

from arrayinit import _dtypes, _safetensors
from arrayinit._blocks import working_memory
from arrayinit._errors import DeviceUnavailableError
from arrayinit._initializers import Initializer, Orthogonal, reseeded
from arrayinit._seeds import fresh_seed
from arrayinit.cli._arguments import parse_dtype, parse_initializer, parse_shape
from arrayinit.cli._checks import check_generates
from arrayinit.cli._messages import human_size
from arrayinit.cli._plots import check_plot_path, draw, plot_range
from arrayinit.cli._resources import check_disk, check_memory, check_writable
from arrayinit.cli._stats import histogram, stats
from arrayinit.cli._theory import theory

_OUT_FORMATS = (".npy", ".safetensors")


def check_out_path(path: str, dtype: str) -> None:
    """Refuse an ``--out`` path that cannot be written, before anything is sampled."""
    if not path.endswith(_OUT_FORMATS):
        raise ValueError(f"--out must end in .npy or .safetensors. Received: --out {path!r}")
    if path.endswith(".npy") and dtype == "bfloat16":
        raise ValueError(
            "--out: the .npy format cannot describe bfloat16 (np.load would return raw 2-byte values, dtype |V2); "
            f"write a .safetensors file (it stores BF16) or choose another --dtype. Received: --out {path!r}, "
            "--dtype 'bfloat16'"
        )
    check_writable(path, "--out")


def _save(path: str, x: np.ndarray, dtype: str, name: str = "x") -> None:
    """Write ``x`` to ``path`` atomically (``path`` passed ``check_out_path`` before sampling)."""
    if path.endswith(".npy"):
        x = x if x.flags.c_contiguous else x.copy(order="C")  # (np.ascontiguousarray makes a scalar 1-d)
        with _safetensors.atomic_file(path) as fh:
            # np.save's bytes, written through the file object: numpy's own writer (ndarray.tofile) reports a
            # full disk as "N requested and M written", without the error's cause
            np.lib.format.write_array_header_1_0(fh, np.lib.format.header_data_from_array_1_0(x))
            fh.write(x.reshape(-1).view(np.uint8).data)
    else:
        bits = x.view(np.uint16) if dtype in ("bfloat16", "float16") else x
        _safetensors.write(path, [(name, tuple(x.shape), dtype)], lambda _n: bits)


def _sample_on_device(init: Initializer, shape: tuple[int, ...], dtype: str, device: str) -> np.ndarray:
    """Sample through torch on ``device`` and return the values as numpy; DeviceUnavailableError naming it."""
    try:
        import torch
    except ImportError:
        raise DeviceUnavailableError(
            f"--device {device!r} samples through torch, which is not installed (pip install torch); "
            "or use --device cpu"
        ) from None
    x = init(shape, dtype, xp=torch, device=device).cpu()
    return x.view(torch.uint16).numpy().view(_dtypes.numpy_dtype(dtype)) if dtype == "bfloat16" else x.numpy()


def run(args) -> int:
    """The command: every check (paths, plotting, memory, disk) before sampling, then the summary and files."""
    init = parse_initializer(args.init)
    shape = parse_shape(args.shape)
    dtype = parse_dtype(args.dtype)
    if dtype == "bfloat16":
        _dtypes.numpy_dtype(dtype)  # a numpy bfloat16 array needs ml_dtypes: say so before sampling
    nbytes = math.prod(shape) * _dtypes.storage_dtype(dtype).itemsize
    # everything that can fail is checked before sampling: paths, plotting, memory, disk
    if args.out is not None:  # --out '' is refused, not ignored
        check_out_path(args.out, dtype)
    if args.plot is not None:
        check_plot_path(args.plot)
    check_generates(init, shape, dtype)
    need = working_memory(init, shape, dtype) if isinstance(init, Orthogonal) else nbytes
    check_memory(need, f"--shape {shape} in {dtype}")
    if args.out:
        check_disk(nbytes + 4096, args.out)
    seed, drawn = args.seed, False
    cfg = init.get_config()
    if seed is None and "seed" in cfg and cfg["seed"] is None:
        # no seed from the command line nor the config: draw one here, so it can be printed and reused
        seed, drawn = fresh_seed(), True
    init = reseeded(init, seed)
    device = args.device or "cpu"
    try:
        x = init(shape, dtype) if device == "cpu" else _sample_on_device(init, shape, dtype, device)
    except (MemoryError, RuntimeError) as e:
        # the memory check above passed, yet the allocation failed (a process limit, another process's use, a
        # GPU's memory: torch's OutOfMemoryError is a RuntimeError): the error names the option, never a bare
        # MemoryError
        if not isinstance(e, MemoryError) and type(e).__name__ != "OutOfMemoryError":
            raise
        where = "" if device == "cpu" else f" on {device}"
        raise ValueError(
            f"--shape {shape} in {dtype} needs about {human_size(need)} of memory{where}, more than could be "
            f"allocated. Received: --shape {args.shape!r}"
        ) from None
    print(f"{init!r} shape={shape} dtype={dtype} ({x.size} value{'' if x.size == 1 else 's'})")
    if drawn:
        print(f"seed={seed} (drawn at random; pass --seed {seed} to reproduce this sample)")
    st = stats(x) if x.size else None
    if st is not None:
        print(f"mean={st['mean']:+.6g} std={st['std']:.6g} min={st['min']:+.6g} max={st['max']:+.6g}")
    th = theory(init, shape)
    if th is not None:
        print(f"theory: {th.label}: mean={th.mean:+.6g} std={th.std:.6g}")
    if args.out:
        _save(args.out, x, dtype)
        print(f"wrote {args.out}")
    if args.plot and st is None:
        print(f"no plot: the sample of shape {shape} is empty")
    elif args.plot and st is not None:
        lo, hi = plot_range(st, th)
        title = "\n".join(textwrap.wrap(f"{init!r}", 100)) + f"\nshape {shape}, dtype {dtype}"
        panel = (f"{x.size} values", histogram(x, lo, hi), None if th is None else th.pdf)
        draw([panel], args.plot, title, cols=1, figsize=(9, 5.5))
        print(f"wrote {args.plot}")
    if not args.out:
        suffix = ".safetensors" if dtype == "bfloat16" else ".npy"
        print(f"not saved: add --out FILE{suffix} to write the values (.npy or .safetensors)", end="")
        print("" if args.plot else ", --plot FILE.png for a histogram")
    return 0
