"""arrayinit.STFT: the Keras 3 STFT kernel (values from the formula, windows from scipy)."""

import math

import numpy as np
import pytest

import arrayinit as ai

signal = pytest.importorskip("scipy.signal", reason="scipy is installed by the test extra")


def _expected(shape, side, window, scaling, periodic):
    frames, _channels, bins = shape
    n = 2 * (bins - 1)
    t = np.arange(frames)[:, None, None]
    f = np.arange(bins)[None, None, :]
    part = np.cos if side == "real" else np.sin
    k = part(-2 * math.pi * t * f / n)
    if window is not None:
        w = signal.get_window(window, frames, periodic) if isinstance(window, str) else np.asarray(window, float)
        w = w / {"density": np.sqrt(np.sum(w**2)), "spectrum": np.sum(np.abs(w)), None: 1.0}[scaling]
        k = k * w[:, None, None]
    return np.broadcast_to(k, shape)


@pytest.mark.parametrize(
    ("side", "window", "scaling", "periodic"),
    [
        ("real", None, None, False),
        ("imag", None, "density", False),
        ("real", "hann", "density", False),
        ("imag", "hann", "density", True),
        ("real", "hamming", None, True),
        ("imag", "tukey", "spectrum", False),
        ("real", [0.5, 1.0, 2.0, 1.0, 0.5, 0.25, 0.1, 0.0], "spectrum", False),
    ],
)
def test_values_follow_the_formula(side, window, scaling, periodic):
    shape = (8, 2, 5) if not isinstance(window, list) else (8, 1, 5)
    init = ai.STFT(side, window, scaling, periodic)
    got = init(shape, dtype="float64")
    np.testing.assert_allclose(got, _expected(shape, side, window, scaling, periodic), rtol=0, atol=1e-15)
    np.testing.assert_array_equal(init(shape), got.astype(np.float32))
    # one block of the full kernel, bit for bit
    np.testing.assert_array_equal(init((3, 1, 2), full_shape=shape, offset=(4, 0, 1)), init(shape)[4:7, 0:1, 1:3])
    assert ai.deserialize(ai.serialize(init)).get_config() == init.get_config()


def test_config_names_and_defaults():
    init = ai.STFT()
    assert init.get_config() == {"side": "real", "window": "hann", "scaling": "density", "periodic": False}
    assert type(ai.get("stft")) is ai.STFT
    assert type(ai.get("STFTInitializer")) is ai.STFT
    assert ai.STFT(window=np.arange(1, 4)).get_config()["window"] == [1, 2, 3]


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="`side`"):
        ai.STFT("imaginary")
    with pytest.raises(ValueError, match="`scaling`"):
        ai.STFT(scaling="l2")
    with pytest.raises(ValueError, match="window"):
        ai.STFT(window="unknown")
    with pytest.raises(ValueError, match="`window`"):
        ai.STFT(window=[[1.0, 2.0]])
    with pytest.raises(ValueError, match="rank 3"):
        ai.STFT()((4, 5))
    with pytest.raises(ValueError, match="frame_length=4"):
        ai.STFT(window=[1.0, 2.0])((4, 1, 3))
    with pytest.raises(ValueError, match="2 frequency bins"):
        ai.STFT(window=None)((4, 1, 1))
    with pytest.raises(ValueError, match="all zeros"):
        ai.STFT(window=[0.0, 0.0])((2, 1, 3))
