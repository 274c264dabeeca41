"""The ``arrayinit`` command: ``demo``, ``sample``, ``materialize``, ``bench``.

``arrayinit demo`` samples he_normal, glorot_uniform and truncated_normal for
typical layer shapes, prints the sample statistics beside the values the
formulas predict, and draws each histogram over its theoretical density.

Errors in the user's input (arguments, spec, output path, device) are reported
as ``arrayinit <command>: error: ...`` with exit status 2, naming the argument
or the spec's parameter and the value received; no output file is left behind.
"""

from __future__ import annotations

import argparse
import json
import math
import numbers
import os
import pathlib
import sys
import time

import numpy as np

from arrayinit import _dtypes
from arrayinit._errors import DeviceUnavailableError, check_seed, received
from arrayinit._initializers import (
    TRUNCATION_STD,
    GlorotUniform,
    HeNormal,
    Initializer,
    TruncatedNormal,
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


def _phi(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def sample(name: str, shape: tuple[int, ...], seed: int, dtype: str = "float32"):
    """Draw one demo tensor; returns (array, theoretical std, lower bound, upper bound, density)."""
    if name in ("he_normal", "glorot_uniform"):
        init = {"he_normal": HeNormal, "glorot_uniform": GlorotUniform}[name](seed=seed)
        sampling = init.sampling(shape)
        if sampling.kind == "uniform":
            limit = sampling.limit

            def density(x):
                return np.where(np.abs(x) < limit, 1.0 / (2 * limit), 0.0)

            return init(shape, dtype), limit / math.sqrt(3.0), -limit, limit, density
        stddev = sampling.stddev
        return init(shape, dtype), stddev * TRUNCATION_STD, -2 * stddev, 2 * stddev, _truncnorm_pdf(stddev, 2.0)
    if name == "truncated_normal":
        x = TruncatedNormal(stddev=0.05, seed=seed)(shape, dtype)
        return x, 0.05 * TRUNCATION_STD, -0.1, 0.1, _truncnorm_pdf(0.05, 2.0)
    raise ValueError(f"Unknown demo initializer. Received: name={name!r}")


def _truncnorm_pdf(stddev: float, cut: float):
    mass = _phi(cut) - _phi(-cut)

    def pdf(x):
        z = np.asarray(x) / stddev
        return np.where(np.abs(z) <= cut, np.exp(-0.5 * z * z) / (math.sqrt(2 * math.pi) * stddev * mass), 0.0)

    return pdf


def _as_f64(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32).astype(np.float64) if x.dtype.itemsize == 2 else np.asarray(x, np.float64)


def outside_bounds(row: dict) -> bool:
    """Whether a demo row's sample has a value outside its theoretical bounds."""
    return not (row["lo"] <= row["min"] and row["max"] <= row["hi"])


def demo(seed: int = 0, dtype: str = "float32", out=None, plot: str | None = None) -> list[dict]:
    out = sys.stdout if out is None else out
    rows, samples = [], []
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
        xf = _as_f64(x)
        row = {
            "initializer": name,
            "shape": shape,
            "mean": float(xf.mean()),
            "std": float(xf.std()),
            "std_theory": std_theory,
            "min": float(xf.min()),
            "max": float(xf.max()),
            "lo": lo,
            "hi": hi,
        }
        rows.append(row)
        samples.append((name, shape, xf, density, lo, hi))
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
    if plot:
        if _plot_histograms(samples, plot, f"arrayinit demo (seed={seed}, {dtype})"):
            print(f"wrote {plot}", file=out)
        else:
            print("matplotlib is not installed: no plot (pip install 'arrayinit[cli]')", file=out)
    return rows


def _plot_histograms(samples, path, title) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    cols = 3
    nrows = math.ceil(len(samples) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.2 * nrows), squeeze=False)
    for ax, (name, shape, x, density, lo, hi) in zip(axes.flat, samples):
        span = hi - lo
        ax.hist(
            x.ravel(), bins=120, range=(lo - 0.05 * span, hi + 0.05 * span), density=True, color="#4c72b0", alpha=0.7
        )
        if density is not None:
            grid = np.linspace(lo - 0.05 * span, hi + 0.05 * span, 600)
            ax.plot(grid, density(grid), color="#c44e52", lw=1.5, label="theory")
            ax.legend(fontsize=7)
        ax.set_title(f"{name} {shape}", fontsize=9)
    for ax in list(axes.flat)[len(samples) :]:
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


# --- sample ----------------------------------------------------------------------------------


def _parse_initializer(text: str) -> Initializer:
    text = text.strip()
    if text.startswith("{"):
        try:
            spec = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"INIT is not valid JSON: {e}. Received: {text!r}") from None
        return get(spec)
    return get(text)


def _parse_shape(text: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(d) for d in text.replace("x", ",").split(",") if d.strip())
    except ValueError:
        raise ValueError(f"--shape must be integers separated by commas, e.g. 256,128. Received: {text!r}") from None
    if any(d < 0 for d in dims):
        raise ValueError(f"--shape must be non-negative. Received: {text!r}")
    return dims


_OUT_FORMATS = (".npy", ".safetensors")


def check_out_path(path: str, dtype: str) -> None:
    """Refuse an ``--out`` path that cannot be written, before anything is sampled."""
    from arrayinit import _safetensors

    if not path.endswith(_OUT_FORMATS):
        raise ValueError(f"--out must end in .npy or .safetensors. Received: --out {path!r}")
    if path.endswith(".npy") and dtype == "bfloat16":
        raise ValueError(
            "--out: the .npy format cannot describe bfloat16 (np.load would return raw 2-byte values, dtype |V2); "
            f"write a .safetensors file (it stores BF16) or choose another --dtype. Received: --out {path!r}, "
            "--dtype 'bfloat16'"
        )
    _safetensors.output_folder(path)


def _save(path: str, x: np.ndarray, dtype: str, name: str = "x") -> None:
    """Write ``x`` to ``path`` atomically (``path`` passed ``check_out_path`` before sampling)."""
    from arrayinit import _safetensors

    if path.endswith(".npy"):
        with _safetensors.atomic_file(path) as fh:
            np.save(fh, x)
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
    dtype = _dtypes.dtype_name(args.dtype)
    if args.out:
        check_out_path(args.out, dtype)
    if args.plot:
        from arrayinit import _safetensors

        _safetensors.output_folder(args.plot)
    seed, drawn = args.seed, False
    cfg = init.get_config() if isinstance(init, Initializer) else {}
    if seed is None and "seed" in cfg and cfg["seed"] is None:
        # no seed from the command line nor the config: draw one here, so it can be printed and reused
        seed, drawn = fresh_seed(), True
    init = reseeded(init, seed)
    if args.device and args.device != "cpu":
        x = _sample_on_device(init, shape, dtype, args.device)
    else:
        x = init(shape, dtype)
    xf = _as_f64(x)
    print(f"{init!r} shape={shape} dtype={dtype}")
    if drawn:
        print(f"seed={seed} (drawn at random; pass --seed {seed} to reproduce this sample)")
    if xf.size:
        print(f"mean={xf.mean():+.6g} std={xf.std():.6g} min={xf.min():+.6g} max={xf.max():+.6g}")
    if args.out:
        _save(args.out, x, dtype)
        print(f"wrote {args.out}")
    if args.plot and not xf.size:
        print(f"no plot: the sample of shape {shape} is empty")
    elif args.plot:
        span = float(xf.max() - xf.min()) or 1.0
        lo, hi = float(xf.min()) - 0.05 * span, float(xf.max()) + 0.05 * span
        if _plot_histograms([(type(init).__name__, shape, xf, None, lo, hi)], args.plot, repr(init)):
            print(f"wrote {args.plot}")
    return 0


# --- materialize -----------------------------------------------------------------------------

_SPEC_KEYS = {"seed", "dtype", "parameters", "metadata"}
_PARAM_KEYS = {"shape", "initializer", "dtype", "seed"}


def load_spec(path: str) -> dict:
    """Read a JSON (or YAML, with PyYAML) model spec."""
    text = pathlib.Path(path).read_text()
    if path.endswith((".yaml", ".yml")):
        try:
            import yaml
        except ImportError:
            raise ValueError("YAML specs need PyYAML (pip install pyyaml); or write the spec as JSON") from None
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ValueError(f"The spec {path} is not valid YAML: {e}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"The spec {path} is not valid JSON: {e}") from None


def _in(where: str, e: Exception) -> Exception:
    """``e``'s message prefixed with ``where`` (TypeError stays TypeError, anything else is a ValueError)."""
    return (TypeError if isinstance(e, TypeError) else ValueError)(f"{where}: {e}")


def _spec_shape(where: str, value) -> tuple[int, ...]:
    """A parameter's shape: a list of non-negative integers (no floats, booleans nor strings)."""
    msg = f"{where}: 'shape' must be a list of non-negative integers. Received: shape={value!r}"
    if not isinstance(value, (list, tuple)):
        raise TypeError(msg)
    for d in value:
        if isinstance(d, bool) or not isinstance(d, numbers.Integral):
            raise TypeError(msg)
        if d < 0:
            raise ValueError(msg)
    return tuple(int(d) for d in value)


def check_generates(init: Initializer, shape: tuple[int, ...], dtype: str) -> None:
    """Run ``init``'s argument, shape and dtype checks for a ``shape`` tensor without generating it."""
    from arrayinit._plan import resolve_block

    init._check(resolve_block(shape, None, None)[1], dtype)


_RESERVED_METADATA = ("generator", "seed")


def spec_metadata(spec: dict) -> dict[str, str]:
    """The safetensors ``__metadata__`` of a spec: generator and root seed, then the spec's ``metadata``."""
    meta = {"generator": "arrayinit", "seed": str(spec.get("seed", 0))}
    user = spec.get("metadata")
    if user is None:
        return meta
    if not isinstance(user, dict):
        raise TypeError(f"The spec's 'metadata' must be a mapping of strings to strings. Received: metadata={user!r}")
    for k, v in user.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(
                "The spec's 'metadata' must map strings to strings (safetensors stores text). "
                f"Received: metadata[{k!r}]={v!r}"
            )
        if k in _RESERVED_METADATA:
            raise ValueError(
                f"The spec's 'metadata' cannot set {k!r}: arrayinit writes {', '.join(_RESERVED_METADATA)} itself "
                f"(the spec's own 'seed' is the root seed). Received: metadata[{k!r}]={v!r}"
            )
    return {**meta, **user}


def plan_spec(spec) -> list[tuple[str, tuple[int, ...], str, Initializer]]:
    """Validate a spec completely and return ``[(name, shape, dtype, initializer)]``; nothing is generated.

    Besides the spec's structure, every initializer's own checks (rank, fans,
    dtype, range) run for its parameter's shape and dtype (``check_generates``),
    so that a spec that fails does so before any tensor is generated, with the
    parameter named.
    """
    from arrayinit._safetensors import METADATA_KEY

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
    default_dtype = spec.get("dtype", "float32")
    try:
        _dtypes.dtype_name(default_dtype)
    except (TypeError, ValueError) as e:
        raise _in("The spec's 'dtype'", e) from None
    spec_metadata(spec)
    out = []
    for name, p in params.items():
        where = f"parameter {name!r}"
        if not isinstance(name, str):
            raise TypeError(f"{where}: parameter names must be strings. {received('name', name)}")
        if name == METADATA_KEY:
            raise ValueError(
                f"{where}: the name {METADATA_KEY!r} is reserved by the safetensors format for the file's "
                "metadata (use the spec's top-level 'metadata' mapping for that)"
            )
        if not isinstance(p, dict):
            raise ValueError(f"{where}: expected a mapping with 'shape' and 'initializer'. {received(name, p)}")
        bad = set(p) - _PARAM_KEYS
        if bad:
            raise ValueError(f"{where}: unknown keys {sorted(bad, key=str)}; allowed: {sorted(_PARAM_KEYS)}")
        if "shape" not in p or "initializer" not in p:
            raise ValueError(f"{where}: 'shape' and 'initializer' are required")
        shape = _spec_shape(where, p["shape"])
        try:
            dtype = _dtypes.dtype_name(p.get("dtype", default_dtype))
            init = get(p["initializer"])
        except (TypeError, ValueError) as e:
            raise _in(where, e) from None
        if not isinstance(init, Initializer):
            raise ValueError(
                f"{where}: 'initializer' must name an arrayinit initializer. Received: {p['initializer']!r}"
            )
        try:
            explicit = init.get_config().get("seed") if isinstance(p["initializer"], dict) else None
            seed = p.get("seed", explicit if explicit is not None else derive_seed(root, name))
            check_seed(seed)  # an explicit seed: null would draw a new one on every run
            init = reseeded(init, seed)
            check_generates(init, shape, dtype)
        except (TypeError, ValueError) as e:
            raise _in(where, e) from None
        out.append((name, shape, dtype, init))
    return out


def materialize(spec, out_path: str, progress: bool = True) -> list[tuple[str, tuple[int, ...], str]]:
    """Generate every parameter of ``spec`` into a safetensors file (atomically).

    The whole spec is validated first (``plan_spec``); nothing is generated
    nor written when it fails. The file's ``__metadata__`` holds
    ``generator``, the root ``seed`` and the spec's own ``metadata`` entries.
    """
    from arrayinit import _safetensors

    entries = plan_spec(spec)
    meta = spec_metadata(spec)
    inits = {name: (shape, dtype, init) for name, shape, dtype, init in entries}
    total = sum(math.prod(s) for _, s, _, _ in entries)
    done = [0]
    t0 = time.perf_counter()

    def produce(name):
        shape, dtype, init = inits[name]
        x = init(shape, dtype)
        return x.view(np.uint16) if dtype in ("bfloat16", "float16") else x

    def report(i, n, name):
        done[0] += math.prod(inits[name][0])
        if progress:
            frac = done[0] / total if total else 1.0
            bar = "#" * int(30 * frac)
            rate = done[0] / max(time.perf_counter() - t0, 1e-9) / 1e6
            sys.stderr.write(f"\r[{bar:<30}] {i}/{n} tensors, {frac:6.1%}, {rate:8.1f} M values/s  ")
            if i == n:
                sys.stderr.write("\n")
            sys.stderr.flush()

    _safetensors.write(out_path, [(n, s, d) for n, s, d, _ in entries], produce, metadata=meta, progress=report)
    return [(n, s, d) for n, s, d, _ in entries]


def cmd_materialize(args) -> int:
    spec = load_spec(args.spec)
    t0 = time.perf_counter()
    entries = materialize(spec, args.out, progress=not args.quiet)
    n = sum(math.prod(s) for _, s, _ in entries)
    print(f"wrote {args.out}: {len(entries)} tensors, {n} values in {time.perf_counter() - t0:.2f} s")
    return 0


def cmd_bench(args) -> int:
    from arrayinit import _bench

    if os.path.exists(args.results) and not os.path.isdir(args.results):
        raise FileExistsError(
            f"--results must be a folder (it receives bench_cpu.json and bench_cpu.png; a missing one is "
            f"created). Received: --results {args.results!r}"
        )
    return _bench.run(args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="arrayinit", description="Weight initializers from one random stream.")
    sub = parser.add_subparsers(dest="command", required=True)

    p_demo = sub.add_parser("demo", help="sample typical initializers and compare with theory")
    p_demo.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    p_demo.add_argument("--dtype", default="float32", choices=["float32", "float64", "float16", "bfloat16"])
    p_demo.add_argument("--plot", default="arrayinit-demo.png", help="histogram PNG (default arrayinit-demo.png)")
    p_demo.add_argument("--no-plot", action="store_true", help="do not write the histogram PNG")

    p_sample = sub.add_parser("sample", help="sample one initializer and save it")
    p_sample.add_argument("init", help="registered name (he_normal) or a JSON config {'class_name':..., 'config':...}")
    p_sample.add_argument("--shape", required=True, help="e.g. 256,128")
    p_sample.add_argument(
        "--seed", type=int, default=None, help="seed (default: the config's, or a fresh one, printed for reuse)"
    )
    p_sample.add_argument("--dtype", default="float32", help="float32, float64, float16, bfloat16")
    p_sample.add_argument("--device", default="cpu", help="cpu, or cuda:N (through torch)")
    p_sample.add_argument("--out", help="x.npy or x.safetensors (bfloat16: .safetensors only)")
    p_sample.add_argument("--plot", help="histogram PNG")

    p_mat = sub.add_parser("materialize", help="generate every parameter of a model spec into a safetensors file")
    p_mat.add_argument(
        "spec", help="JSON or YAML: {seed, dtype, metadata?, parameters: {name: {shape, initializer, dtype?, seed?}}}"
    )
    p_mat.add_argument("--out", required=True, help="model.safetensors")
    p_mat.add_argument("--quiet", action="store_true", help="no progress bar")

    from arrayinit import _bench

    p_bench = sub.add_parser(
        "bench", help="CPU benchmark against numpy (and torch, jax when installed)", conflict_handler="resolve"
    )
    _bench.add_arguments(p_bench)
    p_bench.add_argument(  # replaces _bench's --results: the command writes into the current folder by default
        "--results",
        default=".",
        help="folder for bench_cpu.json and bench_cpu.png, created if missing (default: the current directory)",
    )

    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            rows = demo(seed=args.seed, dtype=args.dtype, plot=None if args.no_plot else args.plot)
            return 1 if any(outside_bounds(r) for r in rows) else 0
        if args.command == "sample":
            return cmd_sample(args)
        if args.command == "materialize":
            return cmd_materialize(args)
        return cmd_bench(args)
    except (ValueError, TypeError, OSError, DeviceUnavailableError) as e:
        print(f"arrayinit {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
