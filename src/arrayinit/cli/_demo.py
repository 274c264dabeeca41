"""``arrayinit demo``: typical initializers sampled for typical layer shapes, their statistics printed beside the
theory and their histograms drawn over the theoretical densities."""

from __future__ import annotations

import sys
import time

from arrayinit._initializers import GlorotUniform, HeNormal, TruncatedNormal
from arrayinit.cli._plots import check_plot_path, draw, pyplot
from arrayinit.cli._stats import histogram, stats
from arrayinit.cli._theory import theory

# (initializer, shape) pairs of typical layers: dense, conv kernels (Keras layout: (*k, in, out))
DEMO_CASES = [
    ("he_normal", (256, 128)),
    ("he_normal", (3, 3, 64, 128)),
    ("glorot_uniform", (784, 512)),
    ("glorot_uniform", (5, 5, 32, 64)),
    ("truncated_normal", (1024, 1024)),
    ("truncated_normal", (4096, 512)),
]


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
    drawing = pyplot() is not None if plot else False
    if plot and drawing:
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
        if drawing:
            span = hi - lo
            hist = histogram(x, lo - 0.05 * span, hi + 0.05 * span)
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
    if plot and not drawing:
        print("matplotlib is not installed: no plot (pip install 'arrayinit[cli]')", file=out)
    elif plot:
        draw(panels, plot, f"arrayinit demo (seed={seed}, {dtype})", cols=3)
        print(f"wrote {plot}", file=out)
    return rows


def run(args) -> int:
    """The command: exit status 1 when a sample has a value outside its theoretical bounds."""
    rows = demo(seed=args.seed, dtype=args.dtype, plot=None if args.no_plot else args.plot)
    return 1 if any(outside_bounds(r) for r in rows) else 0
