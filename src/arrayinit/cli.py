"""The ``arrayinit`` command: ``demo``, ``sample``, ``materialize``, ``warmup``, ``bench``.

``arrayinit demo`` samples he_normal, glorot_uniform and truncated_normal for
typical layer shapes, prints the sample statistics beside the values the
initializers predict, and draws each histogram over its theoretical density.

Errors in the user's input (arguments, spec, output path, device, sizes that
do not fit in memory or on disk) are reported as one line,
``arrayinit <command>: error: ...``, with exit status 2, naming the argument or
the spec's parameter and the value received; no output file is left behind.
An interrupt (Ctrl-C, ``SIGTERM``, ``SIGHUP``, ...) removes the file being
written, prints one line and exits with ``128 + the signal number`` (130 for
Ctrl-C, 143 for ``SIGTERM``).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import itertools
import json
import math
import numbers
import os
import pathlib
import re
import reprlib
import shutil
import signal
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from arrayinit import __version__, _dtypes, _safetensors
from arrayinit._errors import DeviceUnavailableError, check_seed
from arrayinit._initializers import (
    TRUNCATION_STD,
    GlorotUniform,
    HeNormal,
    Initializer,
    Orthogonal,
    RandomNormal,
    RandomUniform,
    TruncatedNormal,
    VarianceScaling,
    reseeded,
)
from arrayinit._registry import get
from arrayinit._seeds import derive_seed, fresh_seed

# (initializer, shape) pairs of typical layers: dense, conv kernels (Keras layout: (*k, in, out))
DEMO_CASES = [
    ("he_normal", (256, 128)),
    ("he_normal", (3, 3, 64, 128)),
    ("glorot_uniform", (784, 512)),
    ("glorot_uniform", (5, 5, 32, 64)),
    ("truncated_normal", (1024, 1024)),
    ("truncated_normal", (4096, 512)),
]

# TruncatedNormal and VarianceScaling's truncated normal cut at this many standard deviations (Keras)
_CUT = 2.0

# element indices are 64-bit (docs/stream-contract.md): every dimension and element count stays below this
_MAX_ELEMENTS = 2**63

# the most dimensions a numpy array can have (tensors are generated as numpy arrays): 64 since numpy 2.0, 32 before
_MAX_DIMS = 64 if np.lib.NumpyVersion(np.__version__) >= "2.0.0" else 32


class Interrupted(BaseException):
    """A signal that ends the command (raised by the handler that ``main`` installs)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


# --- theory: what an initializer draws, from the initializers themselves -----------------------


@dataclass(frozen=True)
class Theory:
    """The distribution an initializer draws for a shape: ``pdf`` on ``[lo, hi]``, mean and standard deviation."""

    label: str
    mean: float
    std: float
    lo: float
    hi: float
    pdf: Callable[[np.ndarray], np.ndarray]


def _phi(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _normal(mean: float, stddev: float, label: str) -> Theory:
    def pdf(x):
        z = (np.asarray(x, np.float64) - mean) / stddev
        return np.exp(-0.5 * z * z) / (math.sqrt(2 * math.pi) * stddev)

    return Theory(label, mean, stddev, -math.inf, math.inf, pdf)


def _truncated_normal(mean: float, stddev: float, label: str) -> Theory:
    mass = _phi(_CUT) - _phi(-_CUT)

    def pdf(x):
        z = (np.asarray(x, np.float64) - mean) / stddev
        inside = np.abs(z) <= _CUT
        return np.where(inside, np.exp(-0.5 * z * z) / (math.sqrt(2 * math.pi) * stddev * mass), 0.0)

    return Theory(label, mean, stddev * TRUNCATION_STD, mean - _CUT * stddev, mean + _CUT * stddev, pdf)


def _uniform(lo: float, hi: float, label: str) -> Theory:
    def pdf(x):
        x = np.asarray(x, np.float64)
        return np.where((x >= lo) & (x < hi), 1.0 / (hi - lo), 0.0)

    return Theory(label, (lo + hi) / 2, (hi - lo) / math.sqrt(12.0), lo, hi, pdf)


def theory(init: Initializer, shape: tuple[int, ...]) -> Theory | None:
    """What ``init`` draws for ``shape`` (None for constants, Identity, Orthogonal and unknown classes).

    The parameters come from the initializer (``VarianceScaling.sampling``
    for the fan-based ones): nothing is re-derived here.
    """
    if isinstance(init, VarianceScaling):
        s = init.sampling(shape)
        if s.kind == "uniform":
            return _uniform(-s.limit, s.limit, f"uniform [-{s.limit:.4g}, {s.limit:.4g})")
        if s.kind == "normal":
            return _normal(0.0, s.stddev, f"normal, std {s.stddev:.4g}")
        return _truncated_normal(0.0, s.stddev, f"normal std {s.stddev:.4g} cut at ±{_CUT:g} std")
    if isinstance(init, TruncatedNormal):
        return _truncated_normal(init.mean, init.stddev, f"normal std {init.stddev:.4g} cut at ±{_CUT:g} std")
    if isinstance(init, RandomNormal) and init.stddev > 0:
        return _normal(init.mean, init.stddev, f"normal, std {init.stddev:.4g}")
    if isinstance(init, RandomUniform) and init.maxval > init.minval:
        return _uniform(init.minval, init.maxval, f"uniform [{init.minval:.4g}, {init.maxval:.4g})")
    return None


# --- statistics and histograms, a block at a time (no float64 copy of a large sample) ---------

_STAT_BLOCK = 1 << 20


def _chunks(x: np.ndarray) -> Iterator[np.ndarray]:
    flat = x.reshape(-1)
    for i in range(0, flat.size, _STAT_BLOCK):
        c = flat[i : i + _STAT_BLOCK]
        yield c.astype(np.float32).astype(np.float64) if c.dtype.itemsize == 2 else c.astype(np.float64)


def stats(x: np.ndarray) -> dict[str, float]:
    """Mean, standard deviation, minimum and maximum of ``x`` (any float dtype), computed in float64."""
    n = x.size
    total, lo, hi = 0.0, math.inf, -math.inf
    for c in _chunks(x):
        total += float(c.sum())
        lo, hi = min(lo, float(c.min())), max(hi, float(c.max()))
    mean = total / n
    var = sum(float(np.square(c - mean).sum()) for c in _chunks(x)) / n
    return {"mean": mean, "std": math.sqrt(var), "min": lo, "max": hi}


def _histogram(x: np.ndarray, lo: float, hi: float, bins: int = 120) -> tuple[np.ndarray, np.ndarray]:
    """Density histogram of ``x`` on ``[lo, hi]``: ``(densities, edges)``."""
    counts = np.zeros(bins, np.int64)
    edges = np.linspace(lo, hi, bins + 1)
    for c in _chunks(x):
        counts += np.histogram(c, bins=edges)[0]
    return counts / max(x.size, 1) / np.diff(edges), edges


def _plot_range(st: dict[str, float], th: Theory | None) -> tuple[float, float]:
    lo, hi = st["min"], st["max"]
    if th is not None:
        lo = min(lo, th.lo if math.isfinite(th.lo) else th.mean - 4.5 * th.std)
        hi = max(hi, th.hi if math.isfinite(th.hi) else th.mean + 4.5 * th.std)
    span = hi - lo
    if not span > 0:
        span = max(abs(lo), 1.0)
    return lo - 0.05 * span, hi + 0.05 * span


# --- demo --------------------------------------------------------------------------------------


def sample(name: str, shape: tuple[int, ...], seed: int, dtype: str = "float32"):
    """Draw one demo tensor; returns (array, theoretical std, lower bound, upper bound, density)."""
    inits = {
        "he_normal": lambda: HeNormal(seed=seed),
        "glorot_uniform": lambda: GlorotUniform(seed=seed),
        "truncated_normal": lambda: TruncatedNormal(stddev=0.05, seed=seed),
    }
    if name not in inits:
        raise ValueError(f"Unknown demo initializer. Received: name={name!r}")
    init = inits[name]()
    th = theory(init, shape)
    assert th is not None  # every demo initializer is random
    return init(shape, dtype), th.std, th.lo, th.hi, th.pdf


def outside_bounds(row: dict) -> bool:
    """Whether a demo row's sample has a value outside its theoretical bounds."""
    return not (row["lo"] <= row["min"] and row["max"] <= row["hi"])


def demo(seed: int = 0, dtype: str = "float32", out=None, plot: str | None = None) -> list[dict]:
    """Sample the ``DEMO_CASES``, print their statistics beside the theory, and draw them into ``plot``."""
    out = sys.stdout if out is None else out
    plt = _pyplot() if plot else None
    if plot and plt is not None:
        check_plot_path(plot)
    rows, panels = [], []
    header = (
        f"{'initializer':<18}{'shape':<18}{'mean':>10}{'std':>10}{'std theory':>12}"
        f"{'min':>10}{'max':>10}{'bounds':>20}{'ms':>8}"
    )
    print(f"arrayinit demo: seed={seed}, dtype={dtype}", file=out)
    print(header, file=out)
    print("-" * len(header), file=out)
    for name, shape in DEMO_CASES:
        t0 = time.perf_counter()
        x, std_theory, lo, hi, density = sample(name, shape, seed, dtype)
        ms = (time.perf_counter() - t0) * 1e3
        st = stats(x)
        row = {"initializer": name, "shape": shape, **st, "std_theory": std_theory, "lo": lo, "hi": hi}
        rows.append(row)
        if plt is not None:
            span = hi - lo
            hist = _histogram(x, lo - 0.05 * span, hi + 0.05 * span)
            panels.append((f"{name} {shape}", hist, density))
        bounds = f"[{lo:+.4f}, {hi:+.4f}]"
        print(
            f"{name:<18}{shape!s:<18}{row['mean']:>+10.5f}{row['std']:>10.5f}{std_theory:>12.5f}"
            f"{row['min']:>+10.4f}{row['max']:>+10.4f}{bounds:>20}{ms:>8.1f}",
            file=out,
        )
    bad = [r for r in rows if outside_bounds(r)]
    if not bad:
        print("mean theory is 0 for all; every sample lies inside its bounds.", file=out)
    for r in bad:
        print(
            f"OUTSIDE ITS BOUNDS: {r['initializer']} {r['shape']}: min={r['min']:+.6g}, max={r['max']:+.6g}, "
            f"bounds [{r['lo']:+.6g}, {r['hi']:+.6g}]",
            file=out,
        )
    if plot and plt is None:
        print("matplotlib is not installed: no plot (pip install 'arrayinit[cli]')", file=out)
    elif plot:
        _plot(plt, panels, plot, f"arrayinit demo (seed={seed}, {dtype})", cols=3)
        print(f"wrote {plot}", file=out)
    return rows


def _pyplot():
    """matplotlib.pyplot with the Agg backend, or None when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def _plot(plt, panels, path: str, title: str, cols: int, figsize=None) -> None:
    """Histograms ``(title, (densities, edges), pdf or None)`` with their theory curves, written atomically."""
    cols = min(cols, len(panels))
    nrows = math.ceil(len(panels) / cols)
    figsize = figsize or (4.6 * cols, 3.6 * nrows)
    fig, axes = plt.subplots(nrows, cols, figsize=figsize, squeeze=False)
    for ax, (name, (dens, edges), pdf) in zip(axes.flat, panels):
        ax.stairs(dens, edges, fill=True, color="#4c72b0", alpha=0.7, label="sample")
        top = float(dens.max()) if dens.size else 1.0
        if pdf is not None:
            grid = np.linspace(edges[0], edges[-1], 800)
            curve = pdf(grid)
            ax.plot(grid, curve, color="#c44e52", lw=1.5, label="theory")
            top = max(top, float(np.max(curve)))
        # headroom above the bars for the legend, which then covers none of them
        ax.set_ylim(0, 1.3 * top if top > 0 else 1.0)
        ax.legend(loc="upper center", ncol=2, fontsize=8, frameon=False)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("value")
        ax.set_ylabel("probability density")
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    fmt = os.path.splitext(path)[1][1:].lower()
    try:
        with _safetensors.atomic_file(path) as fh:
            fig.savefig(fh, format=fmt, dpi=110)
    finally:
        plt.close(fig)


def check_plot_path(path: str, option: str = "--plot") -> None:
    """Refuse a plot path that cannot be written (folder, format), before anything is sampled."""
    plt = _pyplot()
    if plt is None:
        raise ValueError(
            f"{option} needs matplotlib, which is not installed (pip install 'arrayinit[cli]'). "
            f"Received: {option} {path!r}"
        )
    fmt = os.path.splitext(path)[1][1:].lower()
    fig = plt.figure()
    formats = fig.canvas.get_supported_filetypes()
    plt.close(fig)
    if fmt not in formats:
        raise ValueError(
            f"{option} must end in an image format matplotlib writes ({', '.join('.' + f for f in sorted(formats))})."
            f" Received: {option} {path!r}"
        )
    _check_writable(path, option)


def _check_writable(path: str, option: str) -> None:
    """Refuse an output path whose folder is missing or read-only, or that names anything but a regular file.

    A symbolic link is followed (the file it points to is written, the link
    stays a link); a folder, FIFO, socket or device is never replaced.
    """
    try:
        target = _safetensors.output_target(path)
    except OSError as e:
        raise type(e)(f"{option}: {_message(e)}") from None
    folder = os.path.dirname(os.path.abspath(target))
    if not os.access(folder, os.W_OK):
        raise PermissionError(f"{option}: cannot write {path!r}: the folder {folder!r} is not writable")


# --- sizes, memory and disk --------------------------------------------------------------------


def _size(nbytes: float) -> str:
    """``nbytes`` for people: ``1.5 GiB``."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if nbytes < 1024 or unit == "PiB":
            return f"{nbytes:.0f} {unit}" if unit == "bytes" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    raise AssertionError  # pragma: no cover


def _read_int(path: str) -> int | None:
    try:
        text = pathlib.Path(path).read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def available_memory() -> int | None:
    """Bytes of memory this process can still take: the system's available memory, within a cgroup's limit.

    None when the platform does not say (then no memory check is made).
    """
    found = []
    with contextlib.suppress(OSError, ValueError):
        for line in pathlib.Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    for limit, usage in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),  # cgroup v2
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),  # v1
    ):
        cap, used = _read_int(limit), _read_int(usage)
        if cap is not None and used is not None and cap < 2**60:
            found.append(max(cap - used, 0))
    if not found:
        with contextlib.suppress(ValueError, OSError, AttributeError):
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    return min(found) if found else None


def free_disk(path: str) -> int:
    """Free bytes in the folder that will hold ``path`` (where its symbolic links lead)."""
    return shutil.disk_usage(_safetensors.output_folder(path)).free


def check_memory(need: int, what: str) -> None:
    """A MemoryError-free refusal: ValueError when ``need`` bytes exceed the available memory."""
    avail = available_memory()
    if avail is not None and need > avail:
        raise ValueError(f"{what} needs about {_size(need)} of memory; this machine has {_size(avail)} available")


def check_disk(need: int, path: str, option: str = "--out") -> None:
    free = free_disk(path)
    if need > free:
        raise OSError(
            errno.ENOSPC, f"{option} {path!r}: the file needs {_size(need)} and its folder has {_size(free)} free"
        )


def working_memory(init: Initializer, shape: tuple[int, ...], dtype: str) -> int:
    """Bytes needed to generate a ``shape`` tensor of ``dtype`` as ``materialize`` does (block by block)."""
    n = math.prod(shape)
    item = _dtypes.storage_dtype(dtype).itemsize
    if isinstance(init, Orthogonal):
        # the whole float64 matrix: the normal draw, LAPACK's copy, Q, the scaled Q, and the output
        return n * (4 * 8 + item)
    # one block in the output format, plus float64 temporaries of a block for constants and Identity
    return min(n, max(BLOCK_VALUES, 1)) * (item + 16)


def _check_dims(where: str, shape: tuple[int, ...]) -> None:
    """At most ``_MAX_DIMS`` dimensions; every dimension and the element count below 2**63 (64-bit indices)."""
    if len(shape) > _MAX_DIMS:
        raise ValueError(
            f"{where}: a tensor has at most {_MAX_DIMS} dimensions (numpy's limit). "
            f"Received: shape={_short(shape)} ({len(shape)} dimensions)"
        )
    for d in shape:
        if d >= _MAX_ELEMENTS:
            raise ValueError(
                f"{where}: every dimension must be below 2**63 (element indices are 64-bit). "
                f"Received: shape={_short(shape)}"
            )
    n = math.prod(shape)
    if n >= _MAX_ELEMENTS:
        raise ValueError(
            f"{where}: the tensor would have {_short_int(n)} elements; element indices are 64-bit and must "
            f"stay below 2**63. Received: shape={_short(shape)}"
        )


def _short_int(n: int) -> str:
    text = str(n) if n < 10**30 else f"about 10**{len(str(n)) - 1}"
    return text


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxlong, _REPR.maxother = 3, 70, 40, 70
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 8


def _short(value: object) -> str:
    """A bounded repr of a value from the user (a string of megabytes, a structure of YAML aliases)."""
    text = _REPR.repr(value)
    if isinstance(value, str) and len(value) > _REPR.maxstring:
        text += f" ({len(value)} characters)"
    return text


# --- sample ----------------------------------------------------------------------------------


def _parse_initializer(text: str) -> Initializer:
    """``INIT``: a registered name or a JSON config, as an arrayinit initializer."""
    text = text.strip()
    identifier: object = text
    if text.startswith("{"):
        try:
            identifier = json.loads(text, parse_int=_parse_json_int)
        except RecursionError:
            raise ValueError(f"INIT is nested too deeply. Received: {_short(text)}") from None
        except ValueError as e:  # json.JSONDecodeError included
            raise ValueError(f"INIT is not valid JSON: {e}. Received: {_short(text)}") from None
    try:
        init = get(identifier)
    except RecursionError:
        raise ValueError(f"INIT is nested too deeply. Received: {_short(text)}") from None
    if not isinstance(init, Initializer):
        raise ValueError(f"INIT must name an arrayinit initializer. Received: {_short(text)}")
    return init


_DIM = re.compile(r"[0-9]+")


def _parse_shape(text: str) -> tuple[int, ...]:
    """``256,128`` (or ``256x128``, ``(256, 128)``, ``[256, 128]``; ``()`` is a scalar) as a tuple of ints."""
    usage = (
        "--shape must be non-negative integers separated by commas, e.g. 256,128 (or () for a scalar). "
        f"Received: --shape {_short(text)}"
    )
    body = text.strip()
    if len(body) >= 2 and body[0] + body[-1] in ("()", "[]"):
        body = body[1:-1].strip()
        if not body:
            return ()
    tokens = [t.strip() for t in re.split(r"[,x]", body)]
    if len(tokens) > 1 and tokens[-1] == "" and "," in body:
        tokens.pop()  # a trailing comma, as in (5,)
    if not tokens or any(not _DIM.fullmatch(t) for t in tokens):
        raise ValueError(usage)
    if any(len(t) > 30 for t in tokens):
        raise ValueError(f"--shape: every dimension must be below 2**63. Received: --shape {_short(text)}")
    dims = tuple(int(t) for t in tokens)
    _check_dims("--shape", dims)
    return dims


def _seed_arg(text: str) -> int:
    """``--seed``: an integer in [0, 2**64), refused with the value shortened (never a 4,300-digit echo)."""
    t = text.strip()
    if not _DIM.fullmatch(t) or len(t) > 25 or int(t) >= 2**64:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, 2**64). Received: {_short(text)}")
    return int(t)


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
    _check_writable(path, "--out")


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


def cmd_sample(args) -> int:
    init = _parse_initializer(args.init)
    shape = _parse_shape(args.shape)
    try:
        dtype = _dtypes.dtype_name(args.dtype, "--dtype")
    except (TypeError, ValueError):
        raise ValueError(
            f"--dtype must be one of {', '.join(_dtypes.FLOAT_NAMES)} (or an alias: bf16, half, single, double). "
            f"Received: --dtype {args.dtype!r}"
        ) from None
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
            f"--shape {shape} in {dtype} needs about {_size(need)} of memory{where}, more than could be allocated. "
            f"Received: --shape {args.shape!r}"
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
        lo, hi = _plot_range(st, th)
        title = "\n".join(textwrap.wrap(f"{init!r}", 100)) + f"\nshape {shape}, dtype {dtype}"
        panel = (f"{x.size} values", _histogram(x, lo, hi), None if th is None else th.pdf)
        _plot(_pyplot(), [panel], args.plot, title, cols=1, figsize=(9, 5.5))
        print(f"wrote {args.plot}")
    if not args.out:
        suffix = ".safetensors" if dtype == "bfloat16" else ".npy"
        print(f"not saved: add --out FILE{suffix} to write the values (.npy or .safetensors)", end="")
        print("" if args.plot else ", --plot FILE.png for a histogram")
    return 0


# --- materialize -----------------------------------------------------------------------------

_SPEC_KEYS = {"seed", "dtype", "parameters", "metadata"}
_PARAM_KEYS = {"shape", "initializer", "dtype", "seed"}


class _DuplicateKey(ValueError):
    def __init__(self, key, line: int | None = None):
        super().__init__(key, line)
        self.key, self.line = key, line


def _unique_pairs(pairs: list) -> dict:
    """``json`` ``object_pairs_hook``: a mapping, refusing a key given twice."""
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKey(k)
        out[k] = v
    return out


def _parse_json_int(text: str) -> int:
    """``json`` ``parse_int`` (and the YAML loader's check): no integer of thousands of digits (Python
    refuses those with an error about its own settings)."""
    if len(text) > 4000:  # Python refuses int() of more than 4,300 digits
        raise ValueError(
            f"a number of {len(text)} digits is too large for any field of a spec (seeds are below 2**64, "
            f"dimensions below 2**63). Received: {text[:20]}...{text[-8:]}"
        )
    return int(text)


def _yaml_load(yaml, text: str):
    """``yaml.safe_load`` that refuses a key given twice in one mapping (PyYAML keeps the last silently)."""

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            if isinstance(node, yaml.MappingNode):
                seen = set()
                for key_node, _ in node.value:
                    if key_node.tag == "tag:yaml.org,2002:merge":  # '<<: *base' merges; explicit keys override
                        continue
                    key = self.construct_object(key_node, deep=True)
                    with contextlib.suppress(TypeError):  # unhashable keys: PyYAML's own error follows
                        if key in seen:
                            raise _DuplicateKey(key, key_node.start_mark.line + 1)
                        seen.add(key)
            return super().construct_mapping(node, deep)

        def construct_yaml_int(self, node):
            _parse_json_int(str(node.value))  # no integer of thousands of digits
            return super().construct_yaml_int(node)

    UniqueKeyLoader.add_constructor("tag:yaml.org,2002:int", UniqueKeyLoader.construct_yaml_int)
    spec = yaml.load(text, Loader=UniqueKeyLoader)  # a SafeLoader: plain data only
    _check_expansion(spec)
    return spec


_MAX_NODES = 1_000_000


def _check_expansion(obj) -> None:
    """Refuse a document whose aliases expand it beyond ``_MAX_NODES`` values (a YAML "billion laughs")."""
    stack, seen = [obj], 0
    while stack:
        x = stack.pop()
        seen += 1
        if seen > _MAX_NODES:
            raise ValueError(
                f"it expands to more than {_MAX_NODES:,} values (through YAML aliases); a model spec needs far fewer"
            )
        if isinstance(x, dict):
            stack.extend(x.keys())
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)


def _at(mark) -> str:
    """A PyYAML mark (0-based) as people count: ``line 3, column 7``."""
    return f"line {mark.line + 1}, column {mark.column + 1}"


def _yaml_problem(e, text: str) -> str:
    """A PyYAML error on one line: where, the problem, and what was being read (PyYAML's own text spans several
    lines, with a copy of the offending line and a caret under it). ``text`` is the document read."""
    problem, mark = getattr(e, "problem", None), getattr(e, "problem_mark", None)
    if problem is None:  # a ReaderError (a character YAML forbids) or an error without a position
        reason, position, char = (getattr(e, a, None) for a in ("reason", "position", "character"))
        if isinstance(reason, str) and isinstance(position, int) and isinstance(char, int):
            line = text.count("\n", 0, position) + 1
            column = position - (text.rfind("\n", 0, position) + 1) + 1
            return f"line {line}, column {column}: the character U+{char:04X}: {reason}"
        return " ".join(str(e).split())
    message = f"{_at(mark)}: {problem}" if mark is not None else str(problem)
    context, context_mark = getattr(e, "context", None), getattr(e, "context_mark", None)
    if context:
        message += f" ({context}" + (f" that starts at {_at(context_mark)})" if context_mark is not None else ")")
    note = getattr(e, "note", None)
    return message + (f"; {note}" if note else "")


def load_spec(path: str) -> dict:
    """Read a JSON (or YAML, with PyYAML) model spec; a key given twice in one mapping is an error."""
    try:
        text = pathlib.Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise type(e)(e.errno, f"cannot read the spec {path!r}: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise ValueError(f"The spec {path} is not UTF-8 text: {e}") from None
    try:
        if path.endswith((".yaml", ".yml")):
            try:
                import yaml
            except ImportError:
                raise ValueError("YAML specs need PyYAML (pip install pyyaml); or write the spec as JSON") from None
            try:
                return _yaml_load(yaml, text)
            except yaml.YAMLError as e:
                raise ValueError(f"The spec {path} is not valid YAML: {_yaml_problem(e, text)}") from None
        try:
            return json.loads(text, object_pairs_hook=_unique_pairs, parse_int=_parse_json_int)
        except json.JSONDecodeError as e:
            raise ValueError(f"The spec {path} is not valid JSON: line {e.lineno}, column {e.colno}: {e.msg}") from None
    except _DuplicateKey as e:
        where = "" if e.line is None else f" (line {e.line})"
        raise ValueError(
            f"The spec {path} gives the key {e.key!r} twice in one mapping{where}: a parameter (or any key) may "
            "appear once; the second would silently replace the first"
        ) from None
    except RecursionError:
        raise ValueError(f"The spec {path} is nested too deeply") from None
    except ValueError as e:
        if str(e).startswith("The spec"):
            raise
        raise ValueError(f"The spec {path}: {e}") from None


def _in(where: str, e: Exception) -> Exception:
    """``e``'s message prefixed with ``where`` (TypeError stays TypeError, anything else is a ValueError)."""
    if isinstance(e, RecursionError):
        return ValueError(f"{where}: nested too deeply")
    return (TypeError if isinstance(e, TypeError) else ValueError)(f"{where}: {e}")


def _spec_shape(where: str, value) -> tuple[int, ...]:
    """A parameter's shape: a list of non-negative integers (no floats, booleans nor strings), below 2**63."""

    def msg():
        return f"{where}: 'shape' must be a list of non-negative integers. Received: shape={_short(value)}"

    if not isinstance(value, (list, tuple)):
        raise TypeError(msg())
    for d in value:
        if isinstance(d, bool) or not isinstance(d, numbers.Integral):
            raise TypeError(msg())
        if d < 0:
            raise ValueError(msg())
    shape = tuple(int(d) for d in value)
    _check_dims(where, shape)
    return shape


def check_generates(init: Initializer, shape: tuple[int, ...], dtype: str) -> None:
    """Run ``init``'s argument, shape and dtype checks for a ``shape`` tensor without generating it."""
    from arrayinit._plan import resolve_block

    init._check(resolve_block(shape, None, None)[1], dtype)


_RESERVED_METADATA = ("generator", "seed")


def spec_metadata(spec: dict) -> dict[str, str]:
    """The safetensors ``__metadata__`` of a spec: generator and root seed, then the spec's ``metadata``."""
    from arrayinit._safetensors import check_text

    meta = {"generator": "arrayinit", "seed": str(spec.get("seed", 0))}
    user = spec.get("metadata")
    if user is None:
        return meta
    if not isinstance(user, dict):
        raise TypeError(
            f"The spec's 'metadata' must be a mapping of strings to strings. Received: metadata={_short(user)}"
        )
    for k, v in user.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(
                "The spec's 'metadata' must map strings to strings (safetensors stores text). "
                f"Received: metadata[{_short(k)}]={_short(v)}"
            )
        if k in _RESERVED_METADATA:
            raise ValueError(
                f"The spec's 'metadata' cannot set {k!r}: arrayinit writes {', '.join(_RESERVED_METADATA)} itself "
                f"(the spec's own 'seed' is the root seed). Received: metadata[{k!r}]={_short(v)}"
            )
        check_text(f"The spec's 'metadata' key {_short(k)}", k)
        check_text(f"The spec's 'metadata'[{_short(k)}]", v)
    return {**meta, **user}


def _spec_dtype(value, default: str) -> str:
    """A spec's ``dtype``: null or absent means ``default``."""
    return default if value is None else _dtypes.dtype_name(value)


def plan_spec(spec) -> list[tuple[str, tuple[int, ...], str, Initializer]]:
    """Validate a spec completely and return ``[(name, shape, dtype, initializer)]``; nothing is generated.

    Besides the spec's structure, every initializer's own checks (rank, fans,
    dtype, range) run for its parameter's shape and dtype (``check_generates``),
    so that a spec that fails does so before any tensor is generated, with the
    parameter named. A ``dtype`` that is absent or null is the spec's
    ``dtype``, and that one, absent or null, is float32.
    """
    from arrayinit._safetensors import METADATA_KEY, check_text

    if not isinstance(spec, dict):
        raise ValueError(f"A spec is a mapping with a 'parameters' mapping. Received: {type(spec).__name__}")
    unknown = set(spec) - _SPEC_KEYS
    if unknown:
        raise ValueError(f"Unknown keys in the spec: {sorted(unknown, key=str)}; allowed: {sorted(_SPEC_KEYS)}")
    params = spec.get("parameters")
    if not isinstance(params, dict) or not params:
        raise ValueError("The spec needs a non-empty 'parameters' mapping of name -> {shape, initializer}")
    root = spec.get("seed", 0)
    try:
        check_seed(root)
    except (TypeError, ValueError) as e:
        raise _in("The spec's 'seed'", e) from None
    try:
        default_dtype = _spec_dtype(spec.get("dtype"), "float32")
    except (TypeError, ValueError) as e:
        raise _in("The spec's 'dtype'", e) from None
    spec_metadata(spec)
    out = []
    for name, p in params.items():
        where = f"parameter {_short(name)}"
        if not isinstance(name, str):
            raise TypeError(f"{where}: parameter names must be strings. Received: name={_short(name)}")
        check_text(f"The parameter name {_short(name)}", name)
        if name == METADATA_KEY:
            raise ValueError(
                f"{where}: the name {METADATA_KEY!r} is reserved by the safetensors format for the file's "
                "metadata (use the spec's top-level 'metadata' mapping for that)"
            )
        if not isinstance(p, dict):
            raise ValueError(f"{where}: expected a mapping with 'shape' and 'initializer'. Received: {_short(p)}")
        bad = set(p) - _PARAM_KEYS
        if bad:
            raise ValueError(f"{where}: unknown keys {sorted(bad, key=str)}; allowed: {sorted(_PARAM_KEYS)}")
        if "shape" not in p or "initializer" not in p:
            raise ValueError(f"{where}: 'shape' and 'initializer' are required")
        shape = _spec_shape(where, p["shape"])
        try:
            dtype = _spec_dtype(p.get("dtype"), default_dtype)
            init = get(p["initializer"])
        except (TypeError, ValueError, RecursionError) as e:
            raise _in(where, e) from None
        if not isinstance(init, Initializer):
            raise ValueError(
                f"{where}: 'initializer' must name an arrayinit initializer. Received: {_short(p['initializer'])}"
            )
        try:
            explicit = init.get_config().get("seed") if isinstance(p["initializer"], dict) else None
            seed = p.get("seed", explicit if explicit is not None else derive_seed(root, name))
            check_seed(seed)  # an explicit seed: null would draw a new one on every run
            init = reseeded(init, seed)
            check_generates(init, shape, dtype)
        except (TypeError, ValueError, RecursionError) as e:
            raise _in(where, e) from None
        out.append((name, shape, dtype, init))
    return out


def check_resources(entries, out_path: str, metadata: dict[str, str]) -> None:
    """The whole spec against the machine, before anything is written: the output path (a writable folder,
    not a folder itself), the file against the free disk, each tensor's generation against the available
    memory, and bfloat16 against the installed packages."""
    _check_writable(out_path, "--out")
    if any(d == "bfloat16" for _, _, d, _ in entries):
        _dtypes.numpy_dtype("bfloat16")  # ml_dtypes: a TypeError saying how to install it
    check_disk(_safetensors.file_size([(n, s, d) for n, s, d, _ in entries], metadata), out_path)
    name, shape, dtype, init = max(entries, key=lambda e: working_memory(e[3], e[1], e[2]))
    check_memory(working_memory(init, shape, dtype), f"parameter {name!r} ({type(init).__name__}, shape {shape})")


# values generated at once for a large tensor (32 MiB of float32): large enough that a call's fixed cost (a parallel
# launch waits for a scheduler tick on a busy machine) is small beside its work, small beside any model
BLOCK_VALUES = 1 << 23


def _block_grid(shape: tuple[int, ...], limit: int) -> Iterator[tuple[tuple[int, ...], tuple[int, ...]]]:
    """``(block shape, offset)`` of consecutive C-order blocks of ``shape``, each of at most ``limit`` values.

    Blocks cut the first axis whose trailing sub-tensors hold at most
    ``limit`` values; the axes before it advance one index at a time.
    """
    nd = len(shape)
    inner = [1] * (nd + 1)  # inner[i] = values of one index of axis i - 1 ... : prod(shape[i:])
    for i in range(nd - 1, -1, -1):
        inner[i] = inner[i + 1] * shape[i]
    axis = next(i for i in range(nd) if inner[i + 1] <= limit)
    rows = max(1, limit // inner[axis + 1])
    for lead in itertools.product(*(range(d) for d in shape[:axis])):
        for start in range(0, shape[axis], rows):
            k = min(rows, shape[axis] - start)
            yield (1,) * axis + (k, *shape[axis + 1 :]), (*lead, start) + (0,) * (nd - axis - 1)


def tensor_blocks(
    init: Initializer, shape: tuple[int, ...], dtype: str, written: Callable[[int], None] = lambda n: None
) -> Iterator[np.ndarray]:
    """The storage bytes (uint16 for 16-bit floats) of ``init(shape, dtype)``, block after block.

    A tensor of more than ``BLOCK_VALUES`` values is generated in blocks
    (``full_shape``/``offset``: bit-identical to the whole tensor) into one
    reused buffer, so memory stays at one block whatever the tensor's size.
    Orthogonal (whose every block factors the whole matrix), scalars and small
    tensors are generated whole. ``written(n)`` is called once the consumer
    has taken each block of ``n`` values.
    """
    n = math.prod(shape)
    storage = _dtypes.storage_dtype(dtype)
    if n == 0:
        return
    if n <= BLOCK_VALUES or isinstance(init, Orthogonal):
        yield init(shape, dtype).view(storage)
        written(n)
        return
    buf = _dtypes.aligned_empty((min(n, BLOCK_VALUES),), _dtypes.numpy_dtype(dtype))
    for bshape, offset in _block_grid(shape, BLOCK_VALUES):
        m = math.prod(bshape)
        block = buf[:m].reshape(bshape)
        init(bshape, dtype, full_shape=shape, offset=offset, out=block)
        yield block.view(storage)
        written(m)


def _columns(stream) -> int:
    """The width of the terminal ``stream`` writes to; 0 when it reports none."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is an OSError and a ValueError
        return 0


class Progress:
    """Values written out of ``total``: a tqdm bar (rate, ETA) on a terminal, plain lines elsewhere.

    When ``stream`` is not a terminal (a log file, a pipe, CI), or tqdm is not
    installed, nothing is animated: one plain line each time another tenth of
    the values is written, from the first second on (a quick job prints none).
    """

    QUIET_FOR = 1.0  # seconds without plain lines: a quick job prints none

    def __init__(self, total: int, label: str, stream=None, enabled: bool = True):
        self.total, self.done, self.label = total, 0, label
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled and total > 0
        self.bar = None
        self.tenths = 0
        self.t0 = time.perf_counter()
        isatty = getattr(self.stream, "isatty", None)
        if self.enabled and callable(isatty) and isatty():
            try:
                from tqdm import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                # a terminal that reports no width (a pty without a size) would get an empty bar
                width = {"dynamic_ncols": True} if _columns(self.stream) > 0 else {"ncols": 100, "nrows": 20}
                self.bar = tqdm(
                    total=total,
                    desc=label,
                    unit="value",
                    unit_scale=True,
                    file=self.stream,
                    mininterval=0.2,
                    smoothing=0.1,
                    **width,
                )

    def update(self, n: int, name: str = "") -> None:
        self.done += n
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.set_postfix_str(name, refresh=False)
            self.bar.update(n)
            return
        tenths = min(10, self.done * 10 // self.total)
        elapsed = time.perf_counter() - self.t0
        if tenths > self.tenths and elapsed >= self.QUIET_FOR:
            self.tenths = tenths
            rate = self.done / elapsed if elapsed > 0 else math.inf
            eta = (self.total - self.done) / rate if rate > 0 else math.inf
            print(
                f"{self.label}: {10 * tenths}% ({self.done:,} of {self.total:,} values, "
                f"{rate / 1e6:,.1f} M values/s, {elapsed:.1f} s, about {eta:.0f} s left)",
                file=self.stream,
                flush=True,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


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
            need = _size(working_memory(init, shape, dtype))
            raise ValueError(
                f"parameter {name!r} ({type(init).__name__}, shape {shape}) needs about {need} of memory, more than "
                "could be allocated"
            ) from None

    try:
        _safetensors.write(out_path, [(n, s, d) for n, s, d, _ in entries], produce, metadata=meta)
    finally:
        bar.close()
    return [(n, s, d) for n, s, d, _ in entries]


def cmd_materialize(args) -> int:
    spec = load_spec(args.spec)
    t0 = time.perf_counter()
    entries = materialize(spec, args.out, progress=not args.quiet)
    n = sum(math.prod(s) for _, s, _ in entries)
    print(f"wrote {args.out}: {len(entries)} tensors, {n} values in {time.perf_counter() - t0:.2f} s")
    return 0


# --- warmup ------------------------------------------------------------------------------------

# (label, dtype) of each dtype family of the CPU kernels: float16 and bfloat16 share their 16-bit kernels
_WARMUP_DTYPES = [("float32", "float32"), ("float64", "float64"), ("16-bit (float16, bfloat16)", "float16")]


def _warmup_draws():
    from arrayinit import random as ar

    return [
        ("normal", lambda n, dt: ar.normal((n,), seed=0, dtype=dt)),
        ("uniform", lambda n, dt: ar.uniform((n,), seed=0, dtype=dt)),
        ("truncated normal", lambda n, dt: ar.truncated_normal((n,), seed=0, dtype=dt)),
        # bounds far in a tail take the float64 arithmetic whatever the output dtype
        (
            "truncated normal, far tail",
            lambda n, dt: ar.truncated_normal((n,), seed=0, lower=10.0, upper=11.0, dtype=dt),
        ),
    ]


def kernel_cache() -> str | None:
    """The folder the CPU kernels' machine code is read from, or None when it is built in memory only."""
    from arrayinit._targets import native

    path = native.cached_path("fill32", "float32")
    return None if path is None else str(path.parent)


def warmup(out=None) -> list[tuple[str, str, float]]:
    """Compile (or load from the cache) every CPU kernel: each distribution in each dtype family.

    Each case runs a small call (on the calling thread) and a large one (shared
    with the engine's helper threads); both use the same compiled kernel.
    Returns ``[(distribution, dtype family, seconds)]``.
    """
    from arrayinit import random as ar

    out = sys.stdout if out is None else out
    print("arrayinit warmup: building the CPU kernels for this machine (seconds the first time after an", file=out)
    print("install or an upgrade; later processes load them from the cache in milliseconds)", file=out)
    small, large = 256, 1 << 16  # below and above the size from which calls are shared between threads
    rows = []
    t_all = time.perf_counter()
    cases = [("random bits", "uint32", lambda n, dt: ar.bits((n,), seed=0))]
    cases += [(f"{dist}", label, fn) for label, _ in _WARMUP_DTYPES for dist, fn in _warmup_draws()]
    dtypes = dict(_WARMUP_DTYPES)
    for dist, family, fn in cases:
        t0 = time.perf_counter()
        for n in (small, large):
            fn(n, dtypes.get(family, "float32"))
        dt = time.perf_counter() - t0
        rows.append((dist, family, dt))
        print(f"  {family:<28}{dist:<28}{dt:>8.2f} s", file=out, flush=True)
    total = time.perf_counter() - t_all
    where = kernel_cache()
    if where:
        print(f"kernel cache: {where}", file=out)
        print(f"  (valid for arrayinit {__version__} and these kernel sources; an upgrade compiles anew)", file=out)
    else:
        print(
            "kernel cache: none (no writable folder: the package folder, NUMBA_CACHE_DIR and the user cache "
            "folder are read-only); every new process builds the kernels again. Set NUMBA_CACHE_DIR to a "
            "writable folder to keep them.",
            file=out,
        )
    print(f"done in {total:.1f} s", file=out)
    return rows


def cmd_warmup(args) -> int:
    warmup()
    return 0


def cmd_bench(args) -> int:
    from arrayinit import _bench

    if os.path.exists(args.results) and not os.path.isdir(args.results):
        raise FileExistsError(
            f"--results must be a folder (it receives bench_cpu.json and bench_cpu.png; a missing one is "
            f"created). Received: --results {args.results!r}"
        )
    if os.path.isdir(args.results):  # checked now, not after minutes of benchmarking
        for name in ("bench_cpu.json", "bench_cpu.png"):
            _check_writable(os.path.join(args.results, name), "--results")
    return _bench.run(args)


# --- the command line ---------------------------------------------------------------------------

_FORMATTER = argparse.RawDescriptionHelpFormatter


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arrayinit",
        formatter_class=_FORMATTER,
        description=textwrap.dedent(
            """\
            Keras-style weight initializers from one counter-based random stream: the same seed gives
            the same tensor on every library, device, chunking and thread count.

            Errors in what you give a command are one line, 'arrayinit COMMAND: error: ...', exit status 2;
            an interrupted command leaves no partial file and exits with 130 (Ctrl-C) or 128 + the signal."""
        ),
        epilog=textwrap.dedent(
            """\
            examples:
              arrayinit demo
              arrayinit sample he_normal --shape 256,128 --seed 0 --out w.npy --plot w.png
              arrayinit materialize model.json --out model.safetensors
              arrayinit warmup
            Run 'arrayinit COMMAND --help' for a command's options."""
        ),
    )
    parser.add_argument("--version", action="version", version=f"arrayinit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p_demo = sub.add_parser(
        "demo",
        help="sample typical initializers and compare them with theory",
        formatter_class=_FORMATTER,
        description=textwrap.dedent(
            """\
            Sample he_normal, glorot_uniform and truncated_normal for typical layer shapes (dense and
            convolution kernels), print each sample's mean, standard deviation, minimum and maximum beside
            what the initializer predicts, and draw each histogram over its theoretical density.
            Exit status 1 when a value lies outside its theoretical bounds."""
        ),
    )
    p_demo.add_argument("--seed", type=_seed_arg, default=0, help="seed, an integer in [0, 2**64) (default 0)")
    p_demo.add_argument(
        "--dtype",
        default="float32",
        choices=["float32", "float64", "float16", "bfloat16"],
        help="dtype of the samples (default float32; bfloat16 needs ml_dtypes)",
    )
    p_demo.add_argument(
        "--plot", default="arrayinit-demo.png", metavar="FILE", help="histogram image (default arrayinit-demo.png)"
    )
    p_demo.add_argument("--no-plot", action="store_true", help="do not draw the histograms")

    example = json.dumps({"class_name": "TruncatedNormal", "config": {"stddev": 0.02}})
    p_sample = sub.add_parser(
        "sample",
        help="sample one initializer: statistics, and optionally a file and a histogram",
        formatter_class=_FORMATTER,
        description=textwrap.dedent(
            f"""\
            Draw one tensor from an initializer and print its statistics beside the theory. Nothing is
            written unless --out or --plot is given; every path is checked before sampling.

            examples:
              arrayinit sample he_normal --shape 256,128 --seed 0
              arrayinit sample '{example}' --shape 4096,4096 --dtype bfloat16 --out w.safetensors
              arrayinit sample glorot_uniform --shape 3,3,64,128 --plot w.png"""
        ),
    )
    p_sample.add_argument(
        "init",
        metavar="INIT",
        help=f"a registered name (he_normal, glorot_uniform, orthogonal, ...) or a JSON config: '{example}'",
    )
    p_sample.add_argument(
        "--shape", required=True, help="dimensions separated by commas, e.g. 256,128 or 3,3,64,128; () for a scalar"
    )
    p_sample.add_argument(
        "--seed",
        type=_seed_arg,
        default=None,
        help="seed in [0, 2**64) (default: the config's, or a fresh one, printed for reuse)",
    )
    p_sample.add_argument("--dtype", default="float32", help="float32 (default), float64, float16 or bfloat16")
    p_sample.add_argument("--device", default="cpu", help="cpu (default), or cuda:N to sample on a GPU through torch")
    p_sample.add_argument(
        "--out", metavar="FILE", help="write the values to FILE.npy or FILE.safetensors (bfloat16: .safetensors only)"
    )
    p_sample.add_argument("--plot", metavar="FILE", help="draw the histogram and the theoretical density to FILE.png")

    p_mat = sub.add_parser(
        "materialize",
        help="generate every parameter of a model spec into a safetensors file",
        formatter_class=_FORMATTER,
        description=textwrap.dedent(
            """\
            Generate every parameter of a JSON or YAML model spec into one safetensors file:

              {"seed": 42, "dtype": "bfloat16", "metadata": {"model": "demo"},
               "parameters": {"embed.weight": {"shape": [32000, 4096], "initializer": "he_normal"},
                              "norm.weight": {"shape": [4096], "initializer": "ones", "dtype": "float32"}}}

            Each parameter gets derive_seed(seed, name) unless it gives its own 'seed'; a 'dtype' that is
            absent or null is the spec's, and the spec's, absent or null, is float32. The whole spec is
            checked first (structure, every initializer's arguments for its shape and dtype, the file's
            size against the free disk, the memory needed); tensors are then generated block by block
            straight into the file, which appears only when complete."""
        ),
    )
    p_mat.add_argument("spec", metavar="SPEC", help="model spec, a .json file (or .yaml/.yml, with PyYAML)")
    p_mat.add_argument("--out", required=True, metavar="FILE", help="the safetensors file to write")
    p_mat.add_argument("--quiet", action="store_true", help="no progress report")

    sub.add_parser(
        "warmup",
        help="compile the CPU kernels ahead of time and say where they are cached",
        formatter_class=_FORMATTER,
        description=textwrap.dedent(
            """\
            The first call of each kind in a new installation compiles its CPU kernels with numba (a few
            seconds each); the compiled code is cached on disk and later processes load it quickly.
            'arrayinit warmup' compiles them all now (every distribution in float32, float64 and the
            16-bit formats, small and large calls), reports how long each took and where the
            cache lives. Run it after installing or upgrading arrayinit, e.g. when building an image.
            CUDA kernels are compiled in each process on first use and are not cached."""
        ),
    )

    from arrayinit import _bench

    p_bench = sub.add_parser(
        "bench",
        help="CPU benchmark against numpy (and torch, jax when installed)",
        conflict_handler="resolve",
        formatter_class=_FORMATTER,
        description=textwrap.dedent(
            """\
            Measure the throughput of arrayinit's CPU kernels (values per second, float32 and bfloat16)
            beside numpy's generators (and torch's and jax's, when installed), and write the figures
            to bench_cpu.json and a plot to bench_cpu.png."""
        ),
    )
    _bench.add_arguments(p_bench)
    p_bench.add_argument(  # replaces _bench's --results: the command writes into the current folder by default
        "--results",
        default=".",
        metavar="FOLDER",
        help="folder for bench_cpu.json and bench_cpu.png, created if missing (default: the current directory)",
    )
    return parser


# signals whose default action ends the process: each becomes an Interrupted exception, so that the file
# being written is removed; a signal the parent set to be ignored (nohup's SIGHUP) stays ignored
_CAUGHT = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGXCPU")


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {}

    def handler(signum, frame):
        for s in previous:  # one interrupt is enough: the clean-up runs undisturbed
            signal.signal(s, signal.SIG_IGN)
        raise Interrupted(signum)

    for name in _CAUGHT:
        s = getattr(signal, name, None)
        if s is None:
            continue
        current = signal.getsignal(s)
        if current is signal.SIG_DFL or current is signal.default_int_handler:
            previous[s] = current
            signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


_COMMANDS = {"sample": cmd_sample, "materialize": cmd_materialize, "warmup": cmd_warmup, "bench": cmd_bench}


def _run(args) -> int:
    if args.command == "demo":
        rows = demo(seed=args.seed, dtype=args.dtype, plot=None if args.no_plot else args.plot)
        return 1 if any(outside_bounds(r) for r in rows) else 0
    return _COMMANDS[args.command](args)


def _message(e: BaseException) -> str:
    """An error's text for the one error line (an OSError without its ``[Errno N]`` prefix, never two lines)."""
    if isinstance(e, OSError) and e.strerror:
        text = f"{e.filename!r}: {e.strerror}" if e.filename else e.strerror
    else:
        text = str(e)
    return " ".join(text.split()) if "\n" in text or "\r" in text else text


def main(argv: list[str] | None = None) -> int:
    """Run the ``arrayinit`` command with ``argv`` (default ``sys.argv[1:]``); returns the exit status.

    Ctrl-C (or another signal of ``_CAUGHT``) at any moment, also while the
    options are parsed, a module is imported or an error is reported, ends the
    command with one line and ``128 +`` the signal number, never a traceback.
    """
    prefix = "arrayinit"
    try:
        with _signals_raise():
            try:
                args = build_parser().parse_args(argv)
                prefix = f"arrayinit {args.command}"
                return _run(args)
            except (Interrupted, KeyboardInterrupt) as e:
                _safetensors.remove_partial_files()
                signum = e.signum if isinstance(e, Interrupted) else signal.SIGINT
                name = signal.Signals(signum).name
                print(f"\n{prefix}: interrupted by {name}; no partial file left", file=sys.stderr)
                return 128 + signum
            except BrokenPipeError:
                # the reader of stdout went away (``arrayinit demo | head -1``): end quietly, as a SIGPIPE would
                _safetensors.remove_partial_files()
                with contextlib.suppress(OSError, ValueError):
                    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                return 128 + getattr(signal, "SIGPIPE", 13)
            except (ValueError, TypeError, OSError, DeviceUnavailableError) as e:
                print(f"{prefix}: error: {_message(e)}", file=sys.stderr)
                return 2
            except MemoryError as e:
                print(f"{prefix}: error: out of memory{f' ({_message(e)})' if str(e) else ''}", file=sys.stderr)
                return 2
            except RecursionError:
                print(f"{prefix}: error: the input is nested too deeply", file=sys.stderr)
                return 2
    except (Interrupted, KeyboardInterrupt) as e:  # a signal while an error line was printed: that line is enough
        _safetensors.remove_partial_files()
        return 128 + (e.signum if isinstance(e, Interrupted) else signal.SIGINT)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
