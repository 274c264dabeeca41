"""Bad inputs give a ValueError/TypeError naming the argument; host-value initializers fill in place."""

import re
import tracemalloc

import numpy as np
import pytest

import arrayinit as ai
import arrayinit.random as ar


def _read_only(x: np.ndarray) -> np.ndarray:
    x.flags.writeable = False
    return x


BAD_CALLS = [
    ("scale", ValueError, lambda: ai.VarianceScaling(scale=10**400)),
    ("scale", ValueError, lambda: ai.VarianceScaling(scale=1e300)((4, 4))),
    ("scale", ValueError, lambda: ai.VarianceScaling(1e10)((2, 2), "float16")),
    ("shape", ValueError, lambda: ai.HeNormal(seed=0)((0, 2**70))),
    ("shape", ValueError, lambda: ai.HeNormal(seed=0)((2**40, 2**40))),
    ("shape", TypeError, lambda: ai.HeNormal(seed=0)({"a": 1})),
    ("shape", TypeError, lambda: ai.HeNormal(seed=0)({3, 4})),
    ("shape", ValueError, lambda: ai.compute_fans((-1, 3))),
    ("shape", TypeError, lambda: ai.compute_fans((2.5, 3))),
    ("shape", TypeError, lambda: ai.compute_fans("ab")),
    ("seed", ValueError, lambda: ai.HeNormal(seed=10**4300)),
    ("seed", ValueError, lambda: ar.normal((2,), seed=-(10**5000))),
    ("name", ValueError, lambda: ai.derive_seed(0, "\ud800")),
    ("gain", ValueError, lambda: ai.Identity(gain=1e39)((3, 3))),
    ("gain", ValueError, lambda: ai.Identity(gain=7e4)((3, 3), "float16")),
    ("gain", ValueError, lambda: ai.Orthogonal(gain=1e5, seed=0)((3, 3), "float16")),
    ("value", ValueError, lambda: ai.Constant(1e39)((3,))),
    ("dtype", ValueError, lambda: ai.HeNormal(seed=0)((2,), "float8")),
    ("dtype", ValueError, lambda: ai.HeNormal(seed=0)((2,), "float128")),
    ("dtype", ValueError, lambda: ai.HeNormal(seed=0)((2,), "f")),
    ("dtype", ValueError, lambda: ai.HeNormal(seed=0)((2,), float)),
    ("dtype", ValueError, lambda: ai.HeNormal(seed=0)((2,), "float")),
    ("dtype", ValueError, lambda: ai.HeNormal(seed=0)((2,), "int32")),
    ("dtype", TypeError, lambda: ai.HeNormal(seed=0)((2,), 3.5)),
    ("chunks", ValueError, lambda: ai.HeNormal(seed=0)((4, 4), chunks=(2, 2))),
    ("out", ValueError, lambda: ai.HeNormal(seed=0)((2, 2), out=np.zeros((2, 2), np.float32), xp=np)),
    # more memory than can be allocated (not a MemoryError, nor numpy's "array is too big")
    ("shape", ValueError, lambda: ar.bits((2**40,), seed=0)),
    ("shape", ValueError, lambda: ar.normal((2**61,), seed=0)),
    ("shape", ValueError, lambda: ai.Zeros()((2**40,), "bfloat16")),
    ("shape", ValueError, lambda: ai.Ones()((2**40,), "complex64")),
    ("shape", ValueError, lambda: ai.Ones()((2**31, 2**31), "complex64")),
    # a complex constant that rounds to infinity in its parts' dtype
    ("value", ValueError, lambda: ai.Constant(3.4028235677973366e38)((), "complex64")),
    ("mean", ValueError, lambda: ar.normal((2,), seed=0, dtype="complex64", mean=3.4028235677973366e38)),
    # numpy reads dicts and lists as structured dtypes (a ValueError naming nothing)
    ("dtype", TypeError, lambda: ai.Ones()((2,), {"dtype": "float32"})),
    ("dtype", TypeError, lambda: ar.uniform((2,), seed=0, dtype=["float32"])),
    ("out", ValueError, lambda: ai.Ones().fill_(_read_only(np.zeros(3, np.float32)))),
]


@pytest.mark.parametrize(("arg", "exc", "call"), BAD_CALLS, ids=[f"{a}-{i}" for i, (a, _, _) in enumerate(BAD_CALLS)])
def test_bad_inputs_name_the_argument(arg, exc, call):
    with pytest.raises(exc, match=f"`{arg}`"):
        call()


@pytest.mark.parametrize(
    ("call", "received"),
    [
        (lambda: ai.get("no_such"), "identifier='no_such'"),
        (lambda: ai.get(3.5), "identifier=3.5"),
        (lambda: ai.deserialize({"class_name": "os.system", "config": {}}), "class_name='os.system'"),
        (lambda: ai.Ones.from_config({"x": 1}), "config={'x': 1}"),
        (lambda: ai.Zeros.from_config({"seed": 1}), "config={'seed': 1}"),
    ],
)
def test_registry_and_config_errors_name_what_they_received(call, received):
    with pytest.raises(ValueError, match=re.escape(f"Received: {received}")):
        call()


def test_huge_integers_are_reported_without_printing_them():
    with pytest.raises(ValueError, match=r"<an int of 14285 bits>"):
        ai.HeNormal(seed=10**4300)


def test_dask_chunks_zero_is_a_value_error():
    da = pytest.importorskip("dask.array", reason="installed by the tests_xp nox session")
    with pytest.raises(ValueError, match="`chunks`"):
        ai.HeNormal(seed=0)((4, 4), xp=da, chunks=0)


def _peak(fn) -> int:
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        out = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del out
    return peak


SIZE = (2048, 4096)  # 8M elements


@pytest.mark.parametrize(
    ("init", "dtype"),
    [
        (ai.Zeros(), "float32"),
        (ai.Ones(), "bfloat16"),
        (ai.Constant(0.5), "float16"),
        (ai.Constant(-3.0), "float64"),
        (ai.Identity(gain=2.0), "float32"),
        (ai.Identity(), "bfloat16"),
    ],
    ids=lambda v: getattr(v, "__name__", None) or str(v),
)
def test_host_value_initializers_peak_at_the_output(init, dtype):
    pytest.importorskip("ml_dtypes", reason="numpy bfloat16")
    nbytes = np.dtype(np.uint16 if dtype in ("bfloat16", "float16") else dtype).itemsize * SIZE[0] * SIZE[1]
    peak = _peak(lambda: init(SIZE, dtype))
    assert peak <= nbytes * 1.05 + 2**20, (peak, nbytes)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16", "float64"])
def test_host_value_initializers_values(dtype):
    pytest.importorskip("ml_dtypes", reason="numpy bfloat16")
    from tests.conftest import as_f64

    eye = as_f64(ai.Identity(gain=3.0)((5, 7), dtype))
    np.testing.assert_array_equal(eye, 3.0 * np.eye(5, 7))
    blk = as_f64(ai.Identity(gain=3.0)((2, 4), dtype, full_shape=(5, 7), offset=(2, 1)))
    np.testing.assert_array_equal(blk, 3.0 * np.eye(5, 7)[2:4, 1:5])
    c = ai.Constant(0.1)((3,), dtype)
    want = np.full(3, 0.1) if dtype == "float64" else np.full(3, 0.1).astype(np.float32).astype(c.dtype)
    np.testing.assert_array_equal(c, want)


def test_more_dimensions_than_numpy_allows_is_named_as_such():
    # numpy's "maximum supported dimension" error was reported as "asks for 0.0 GiB ... more than this machine
    # can allocate"
    from arrayinit._dtypes import max_dims

    shape = (1,) * (max_dims() + 1)
    for call in (lambda: ar.normal(shape, seed=0), lambda: ai.HeNormal(seed=0)(shape), lambda: ai.Zeros()(shape)):
        with pytest.raises(ValueError, match=rf"^Argument `shape` has {max_dims() + 1} dimensions; numpy arrays"):
            call()
    assert ar.normal((1,) * max_dims(), seed=0).shape == (1,) * max_dims()


def test_too_large_shapes_give_the_size_in_human_units():
    # 16 PiB: beyond the address space of any machine, whatever its overcommit policy
    with pytest.raises(
        ValueError, match=r"^Argument `shape` asks for 16\.0 PiB \(4503599627370496 values of 4 bytes\)"
    ):
        ar.normal((2**52,), seed=0)
