"""Histograms drawn over their theoretical densities with matplotlib (an optional dependency) and written
atomically; a plot path is checked before anything is sampled."""

from __future__ import annotations

import math
import os

import numpy as np

from arrayinit import _safetensors
from arrayinit.cli._resources import check_writable
from arrayinit.cli._theory import Theory


def pyplot():
    """matplotlib.pyplot with the Agg backend, or None when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def check_plot_path(path: str, option: str = "--plot") -> None:
    """Refuse a plot path that cannot be written (folder, format), before anything is sampled."""
    plt = pyplot()
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
    check_writable(path, option)


def plot_range(st: dict[str, float], th: Theory | None) -> tuple[float, float]:
    """The values a sample's histogram spans: its own range and its theory's bounds (or 4.5 std), plus 5%."""
    lo, hi = st["min"], st["max"]
    if th is not None:
        lo = min(lo, th.lo if math.isfinite(th.lo) else th.mean - 4.5 * th.std)
        hi = max(hi, th.hi if math.isfinite(th.hi) else th.mean + 4.5 * th.std)
    span = hi - lo
    if not span > 0:
        span = max(abs(lo), 1.0)
    return lo - 0.05 * span, hi + 0.05 * span


def draw(panels, path: str, title: str, cols: int, figsize=None) -> None:
    """Histograms ``(title, (densities, edges), pdf or None)`` with their theory curves, written atomically.

    ``path`` passed ``check_plot_path`` (matplotlib is installed).
    """
    plt = pyplot()
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
