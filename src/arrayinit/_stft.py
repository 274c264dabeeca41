"""``STFT``: the kernel of a short-time Fourier transform written as a convolution (Keras 3 ``STFT``)."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from arrayinit import _dtypes
from arrayinit._errors import received
from arrayinit._initializers import Initializer
from arrayinit._values import _HostPlan

__all__ = ["STFT"]

_SIDES = ("real", "imag")
_SCALINGS = ("density", "spectrum")


def _named_window(name: str, length: int, periodic: bool) -> np.ndarray:
    """``scipy.signal.get_window(name, length, fftbins=periodic)`` (scipy is needed for named windows only)."""
    try:
        from scipy import signal
    except ImportError:  # pragma: no cover - scipy is installed with the test extra
        raise ImportError(
            f"A named STFT window needs scipy (scipy.signal.get_window); install scipy or give the window "
            f"values as an array. Received: window={name!r}"
        ) from None
    return np.asarray(signal.get_window(name, length, fftbins=periodic), dtype=np.float64)


class STFT(Initializer, row="STFT"):
    """Kernel of a short-time Fourier transform as a convolution (Keras 3 ``STFT``).

    For a kernel of shape ``(frame_length, channels, bins)``, with ``n =
    2 * (bins - 1)`` the FFT length, element ``[t, c, f]`` is ``cos(-2 pi t f
    / n)`` (``side="real"``) or ``sin(-2 pi t f / n)`` (``side="imag"``),
    times ``window[t] / s``: ``s`` is ``sqrt(sum(window**2))`` for
    ``scaling="density"``, ``sum(abs(window))`` for ``"spectrum"``, 1 for
    ``None``. Only the first ``bins = n // 2 + 1`` frequencies are used (the
    others are their conjugates). Every channel gets the same kernel (Keras
    builds the single-channel kernel ``(frame_length, 1, bins)``).

    Parameters
    ----------
    side : {"real", "imag"}
        Which part of the transform the kernel computes (default ``"real"``).
    window : str, array_like or None
        A window name of ``scipy.signal.get_window`` (``"hann"``, default;
        ``"hamming"``, ``"tukey"``, ...), the ``frame_length`` window values,
        or ``None`` for no window.
    scaling : {"density", "spectrum"} or None
        Normalisation of the window: L2 (``"density"``, default), L1
        (``"spectrum"``), or none.
    periodic : bool
        Named windows: periodic (``True``, for spectral analysis) or symmetric
        (``False``, default), as ``fftbins`` of ``scipy.signal.get_window``.

    Notes
    -----
    Deterministic: there is no seed. The values are computed in float64 and
    rounded once to the output dtype.

    Examples
    --------
    >>> import arrayinit as ai, numpy as np
    >>> k = ai.STFT("real", window=None, scaling=None)((4, 1, 3), dtype="float64")
    >>> np.round(k[:, 0, :], 6).tolist()
    [[1.0, 1.0, 1.0], [1.0, 0.0, -1.0], [1.0, -1.0, 1.0], [1.0, -0.0, -1.0]]
    """

    def __init__(self, side="real", window="hann", scaling="density", periodic=False):
        if not isinstance(side, str) or side not in _SIDES:
            raise ValueError(f"Argument `side` must be one of {list(_SIDES)}. {received('side', side)}")
        if scaling is not None and (not isinstance(scaling, str) or scaling not in _SCALINGS):
            raise ValueError(
                f"Argument `scaling` must be None, 'density' or 'spectrum'. {received('scaling', scaling)}"
            )
        if not isinstance(periodic, (bool, np.bool_)):
            raise TypeError(f"Argument `periodic` must be a bool. {received('periodic', periodic)}")
        if isinstance(window, str):
            try:
                _named_window(window, 1, bool(periodic))
            except ValueError as e:
                raise ValueError(f"Unknown STFT window: {e}. {received('window', window)}") from None
        elif window is not None:
            values = np.asarray(window)
            if values.ndim != 1 or values.size == 0 or values.dtype.kind not in "biuf":
                raise ValueError(
                    f"Argument `window` must be a window name, a 1-D sequence of real numbers or None. "
                    f"{received('window', window)}"
                )
            if not np.all(np.isfinite(values)):
                raise ValueError(f"Argument `window` must hold finite values. {received('window', window)}")
            # JSON-safe and exact: ints stay ints, floats become Python floats
            window = [int(v) if isinstance(v, numbers.Integral) else float(v) for v in values.tolist()]
        self.side = side
        self.window = window
        self.scaling = scaling
        self.periodic = bool(periodic)

    def _check_shape(self, shape: tuple[int, ...]) -> None:
        if len(shape) != 3:
            raise ValueError(
                f"The STFT initializer needs a shape (frame_length, channels, bins) of rank 3. Received: shape={shape}"
            )
        frames, _channels, bins = shape
        if bins < 2:
            raise ValueError(
                "The STFT initializer needs at least 2 frequency bins (an FFT length of 2 or more). "
                f"Received: shape={shape}"
            )
        if isinstance(self.window, list) and len(self.window) != frames:
            raise ValueError(
                f"The STFT window must have frame_length={frames} values. "
                f"Received: {len(self.window)} window values for shape={shape}"
            )

    def values(self, shape) -> np.ndarray:
        """The float64 kernel of ``shape`` ``(frame_length, channels, bins)`` (a read-only broadcast view)."""
        shape = tuple(shape)
        self._check_shape(shape)
        frames, _channels, bins = shape
        n = 2 * (bins - 1)
        t = np.arange(frames, dtype=np.float64)[:, None]
        f = np.arange(bins, dtype=np.float64)[None, :]
        phase = (-2.0 * math.pi / n) * (t * f)
        kernel = np.cos(phase) if self.side == "real" else np.sin(phase)
        if self.window is not None:
            if isinstance(self.window, str):
                win = _named_window(self.window, frames, self.periodic)
            else:
                win = np.asarray(self.window, dtype=np.float64)
            if self.scaling == "density":
                scale = math.sqrt(float(np.sum(win * win)))
            elif self.scaling == "spectrum":
                scale = float(np.sum(np.abs(win)))
            else:
                scale = 1.0
            if not scale > 0:
                raise ValueError(f"The STFT window is all zeros: it cannot be scaled. Received: window={self.window!r}")
            kernel = kernel * (win / scale)[:, None]
        return np.broadcast_to(kernel[:, None, :], shape)

    def _plan(self, shape, full_shape, offset, dtype):
        self._check_shape(tuple(full_shape))
        return _STFTPlan(shape, full_shape, offset, dtype, self)

    def get_config(self):
        return {"side": self.side, "window": self.window, "scaling": self.scaling, "periodic": self.periodic}


@dataclass(frozen=True, eq=False)
class _STFTPlan(_HostPlan):
    """The block ``(shape, full_shape, offset)`` of an STFT kernel, computed in float64 when written."""

    init: STFT | None = None

    def write(self, out: np.ndarray) -> None:
        assert self.init is not None
        full = self.init.values(self.full_shape)
        block = full[tuple(slice(o, o + s) for o, s in zip(self.offset, self.shape))]
        out[...] = _dtypes.float64_to_storage(np.ascontiguousarray(block).reshape(-1), self.dtype)
