"""Backend adapters: the generic Array API adapter with libraries beyond the built-in six, and the plug-in."""

import types

import numpy as np
import pytest

import arrayinit as ai
import arrayinit.random as ar
from arrayinit import _backends
from tests.conftest import as_f64

SKIP_XP = "installed by the tests_xp nox session"

CASES = [
    (ai.HeNormal(seed=3), "float32"),
    (ai.GlorotUniform(seed=4), "float64"),
    (ai.Orthogonal(seed=5), "float32"),
    (ai.Identity(gain=2.0), "float32"),
    (ai.Constant(0.25), "float32"),
]


def _marray():
    marray = pytest.importorskip("marray", reason=SKIP_XP)
    return marray.masked_namespace(np)


def _ndonnx():
    import warnings

    with warnings.catch_warnings():  # without onnxruntime it says it uses its reference implementation
        warnings.simplefilter("ignore", UserWarning)
        return pytest.importorskip("ndonnx", reason=SKIP_XP)


def _to_numpy(x):
    data = getattr(x, "data", None)
    if isinstance(data, np.ndarray):  # masked arrays keep their values in .data
        return data
    unwrap = getattr(x, "unwrap_numpy", None)
    return np.asarray(unwrap() if unwrap is not None else x)


@pytest.fixture(params=["marray", "ndonnx"])
def other_xp(request):
    return _marray() if request.param == "marray" else _ndonnx()


@pytest.mark.parametrize(("init", "dtype"), CASES, ids=lambda c: getattr(c, "__name__", None) or repr(c)[:20])
def test_generic_adapter_bit_equal_to_numpy(other_xp, init, dtype):
    x = init((16, 8), dtype, xp=other_xp)
    assert _backends.for_array(x) is _backends.GENERIC
    ref = init((16, 8), dtype)
    got = _to_numpy(x)
    assert got.dtype == ref.dtype
    np.testing.assert_array_equal(got.view(np.uint8), ref.view(np.uint8))
    # like= takes the library and the dtype
    y = init((16, 8), like=x)
    np.testing.assert_array_equal(_to_numpy(y).view(np.uint8), ref.view(np.uint8))


def test_generic_adapter_functions_and_blocks(other_xp):
    x = ar.truncated_normal((6, 10), seed=1, stddev=0.5, xp=other_xp, full_shape=(12, 10), offset=(3, 0))
    whole = ar.truncated_normal((12, 10), seed=1, stddev=0.5)
    np.testing.assert_array_equal(_to_numpy(x), whole[3:9])
    w = ar.bits((5,), seed=2, xp=other_xp)
    np.testing.assert_array_equal(_to_numpy(w), ar.bits((5,), seed=2))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_generic_adapter_16_bit_dtypes_or_a_clear_error(other_xp, dtype):
    pytest.importorskip("ml_dtypes", reason="numpy bfloat16 reference")
    if getattr(other_xp, dtype, None) is None:  # the standard has no 16-bit floats: many libraries lack them
        with pytest.raises(ValueError, match=f"has no {dtype} dtype"):
            ai.HeNormal(seed=0)((4, 4), dtype, xp=other_xp)
        return
    x = ai.HeNormal(seed=0)((4, 4), dtype, xp=other_xp)
    np.testing.assert_array_equal(as_f64(_to_numpy(x)), as_f64(ai.HeNormal(seed=0)((4, 4), dtype)))


def test_generic_adapter_fill_writes_in_place(other_xp):
    x = other_xp.asarray(np.zeros((8, 4), np.float32))
    assert ai.HeNormal(seed=7).fill_(x) is x
    np.testing.assert_array_equal(_to_numpy(x), ai.HeNormal(seed=7)((8, 4)))


def test_generic_adapter_immutable_arrays_say_why(monkeypatch):
    xp = _marray()
    x = xp.asarray(np.zeros((8, 4), np.float32))

    def immutable(self, key, value):
        raise TypeError("this array is read-only")

    monkeypatch.setattr(type(x), "__setitem__", immutable)
    with pytest.raises(TypeError, match=r"marray arrays cannot be written in place .*xp="):
        ai.HeNormal(seed=7).fill_(x)


@pytest.fixture
def strict_through_generic(monkeypatch):
    strict = pytest.importorskip("array_api_strict", reason=SKIP_XP)
    builtin = tuple(b for b in _backends.BUILTIN if b.name != "array_api_strict")
    monkeypatch.setattr(_backends, "BUILTIN", builtin)
    _backends._refresh()
    yield strict
    monkeypatch.undo()
    _backends._refresh()


def test_array_api_strict_through_the_generic_path(strict_through_generic):
    xp = strict_through_generic
    for init, dtype in CASES[:4]:
        x = init((16, 8), dtype, xp=xp)
        assert _backends.for_array(x) is _backends.GENERIC
        np.testing.assert_array_equal(np.asarray(x), init((16, 8), dtype))
    y = xp.asarray(np.zeros((16, 8), np.float32))
    ai.HeNormal(seed=3).fill_(y)
    np.testing.assert_array_equal(np.asarray(y), ai.HeNormal(seed=3)((16, 8)))
    with pytest.raises(ValueError, match="has no float16 dtype"):
        ai.HeNormal(seed=0)((4, 4), "float16", xp=xp)
    with pytest.raises(ai.DeviceUnavailableError, match="has no device"):
        ai.HeNormal(seed=0)((4, 4), xp=xp, device="gpu:7")


# --- the plug-in: a framework whose tensors are not array-API objects --------------------------


class MiniTensor:
    def __init__(self, data, device="cpu"):
        self.data, self.device, self.version = data, device, 0

    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return "bfloat16" if self.data.dtype == np.uint16 else self.data.dtype.name


minifw = types.SimpleNamespace(__name__="minifw", Tensor=MiniTensor)


class MiniBackend(ai.Backend):
    name = "minifw"

    def owns_namespace(self, xp):
        return xp is minifw

    def owns_array(self, x):
        return isinstance(x, MiniTensor)

    def namespace_of(self, x):
        return minifw

    def device(self, xp, device):
        if device in (None, "cpu", "mini:0"):
            return device
        raise ai.DeviceUnavailableError(f"minifw has no device {device!r}")

    def dtype_name_of(self, x):
        return x.dtype

    def from_host(self, xp, storage, name, device):
        data = storage if name == "bfloat16" else storage.view(name)  # bfloat16 kept as its uint16 bit patterns
        return MiniTensor(data, device or "cpu")

    def write(self, x, storage, name):
        x.data[...] = storage.view(x.data.dtype)

    def after_write(self, x):
        x.version += 1


@pytest.fixture
def mini():
    backend = ai.register_backend(MiniBackend())
    yield backend
    ai.unregister_backend("minifw")


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_registered_framework_gets_xp_like_device_and_fill(mini, dtype):
    pytest.importorskip("ml_dtypes", reason="numpy bfloat16 reference")
    init = ai.TruncatedNormal(stddev=0.3, seed=11)
    t = init((32, 4), dtype, xp=minifw, device="mini:0")
    assert isinstance(t, MiniTensor)
    assert t.device == "mini:0"
    ref = init((32, 4), dtype)
    np.testing.assert_array_equal(t.data.view(np.uint8), ref.view(np.uint8))
    u = init((32, 4), like=t)
    assert u.device == "mini:0"
    assert u.dtype == dtype
    storage = np.zeros((32, 4), np.uint16 if dtype == "bfloat16" else dtype)
    w = MiniTensor(storage)
    assert init.fill_(w) is w
    assert w.version == 1
    np.testing.assert_array_equal(as_f64(w.data.view(ref.dtype)), as_f64(ref))
    with pytest.raises(ai.DeviceUnavailableError, match="no device 'gpu'"):
        init((2, 2), xp=minifw, device="gpu")


def test_registration_errors(mini):
    with pytest.raises(ValueError, match="already registered"):
        ai.register_backend(MiniBackend())
    with pytest.raises(TypeError, match="instance, not a class"):
        ai.register_backend(MiniBackend)
    with pytest.raises(TypeError, match=r"subclass of arrayinit\.Backend"):
        ai.register_backend(object())

    class Nameless(MiniBackend):
        name = ""

    with pytest.raises(ValueError, match="non-empty string `name`"):
        ai.register_backend(Nameless())

    class Incomplete(ai.Backend):
        name = "incomplete"

        def owns_array(self, x):
            return False

    with pytest.raises(TypeError, match="must implement owns_namespace, from_host"):
        ai.register_backend(Incomplete())

    class Numpy2(MiniBackend):
        name = "numpy"

    with pytest.raises(ValueError, match="'numpy' is already registered"):
        ai.register_backend(Numpy2())
    with pytest.raises(ValueError, match="No backend named"):
        ai.unregister_backend("never-registered")
    assert ai.registered_backends()[0] == "minifw"


def test_unknown_objects_are_clear_errors():
    with pytest.raises(TypeError, match="Unsupported array library"):
        ai.HeNormal(seed=0)((2, 2), xp=types.SimpleNamespace(__name__="nothing"))
    with pytest.raises(TypeError, match="Argument `like` must be an array"):
        ai.HeNormal(seed=0)((2, 2), like=[1.0, 2.0])
    with pytest.raises(TypeError, match="Cannot fill an object of type list"):
        ai.HeNormal(seed=0).fill_([1.0, 2.0])
    with pytest.raises(ValueError, match="`chunks` applies to lazy libraries"):
        ai.HeNormal(seed=0)((2, 2), chunks=(1, 1))
    with pytest.raises(ValueError, match="do not also give `xp`"):
        ai.HeNormal(seed=0)((2, 2), out=np.zeros((2, 2), np.float32), xp=np)


def test_torch_sparse_and_expanded_tensors_are_our_errors():
    torch = pytest.importorskip("torch", reason=SKIP_XP)
    with pytest.raises(TypeError, match="layout"):
        ai.HeNormal(seed=0).fill_(torch.zeros(3, 3).to_sparse())
    with pytest.raises(ValueError, match="expanded"):
        ai.HeNormal(seed=0).fill_(torch.zeros(1, 3).expand(4, 3))


def test_objects_array_api_compat_cannot_inspect_are_not_namespaces():
    with pytest.raises(TypeError, match="Unsupported array library"):
        ai.HeNormal(seed=0)((2, 2), xp=object())


def test_torch_meta_tensors_are_left_alone_and_rules_name_their_argument():
    torch = pytest.importorskip("torch", reason=SKIP_XP)
    import arrayinit.torch as ait
    from arrayinit.compat import v1

    t = torch.empty(4, 4, device="meta")
    assert ai.HeNormal(seed=0).fill_(t) is t
    ait.init_module(torch.nn.Linear(4, 4, device="meta"), seed=0)  # deferred initialization: a no-op
    with pytest.raises(TypeError, match="`rules`"):
        ait.init_module(torch.nn.Linear(4, 4), 0, rules={"*": v1.he_normal()})
