"""The progress of a long write: a tqdm bar (rate, time left) on a terminal, a plain line per tenth elsewhere."""

from __future__ import annotations

import math
import os
import sys
import time


def _columns(stream) -> int:
    """The width of the terminal ``stream`` writes to; 0 when it reports none."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is an OSError and a ValueError
        return 0


class Progress:
    """Values (or bytes) written out of ``total``: a tqdm bar (rate, ETA) on a terminal, plain lines elsewhere.

    When ``stream`` is not a terminal (a log file, a pipe, CI), or tqdm is not
    installed, nothing is animated: one plain line each time another tenth of
    the values is written, from the first second on (a quick job prints none).
    ``unit``: ``"value"`` or ``"B"`` (bytes, shown in kB, MB, GB); ``initial``:
    the part already done before this run (the shards a resumed checkpoint keeps).
    """

    QUIET_FOR = 1.0  # seconds without plain lines: a quick job prints none

    def __init__(
        self, total: int, label: str, stream=None, enabled: bool = True, unit: str = "value", initial: int = 0
    ):
        self.total, self.done, self.label, self.unit = total, initial, label, unit
        self.initial = initial
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled and total > 0
        self.bar = None
        self.tenths = total and initial * 10 // total
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
                    unit=unit,
                    initial=initial,
                    unit_scale=True,
                    file=self.stream,
                    mininterval=0.2,
                    smoothing=0.1,
                    **width,
                )

    def update(self, n: int, name: str = "") -> None:
        """``n`` more values written (of the tensor ``name``, shown beside the bar)."""
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
            rate = (self.done - self.initial) / elapsed if elapsed > 0 else math.inf
            eta = (self.total - self.done) / rate if rate > 0 else math.inf
            units, speed = ("bytes", "MB/s") if self.unit == "B" else ("values", "M values/s")
            print(
                f"{self.label}: {10 * tenths}% ({self.done:,} of {self.total:,} {units}, "
                f"{rate / 1e6:,.1f} {speed}, {elapsed:.1f} s, about {eta:.0f} s left)",
                file=self.stream,
                flush=True,
            )

    def close(self) -> None:
        """Close the bar (the plain lines need no closing)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
