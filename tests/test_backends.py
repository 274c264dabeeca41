"""Backend adapters: the generic Array API adapter with libraries beyond the built-in six, and the plug-in."""

import mmap
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


# --- the boundary: what adapters hand back is checked before anything is written or returned -------


@pytest.fixture
def plug_in():
    """Register backends for one test; they are unregistered afterwards."""
    names = []

    def register(backend):
        ai.register_backend(backend)
        names.append(backend.name)
        return backend

    yield register
    for name in names:
        if name in ai.registered_backends():
            ai.unregister_backend(name)


def hostile(**methods):
    """A MiniBackend named 'hostile' with the given methods replaced (functions taking ``self`` first)."""
    return type("Hostile", (MiniBackend,), {"name": "hostile", **methods})()


def _sentinel_memory():
    return np.full(40, 7.0, np.float32)


BAD_VIEWS = {
    "too_short": (lambda mem: mem[:15], r"Received: view\.size=15$"),
    "too_long": (lambda mem: mem[:17], r"Received: view\.size=17$"),
    "strided": (lambda mem: mem[::2][:16], r"Received: view\.flags\.c_contiguous=False$"),
    "other_dtype": (lambda mem: mem.view(np.float64)[:16], r"Received: view\.dtype=float64$"),
    "byte_swapped": (lambda mem: mem.view(">f4")[:16], r"Received: view\.dtype=>f4$"),
    "read_only": (lambda mem: np.lib.stride_tricks.as_strided(mem[:16], writeable=False), r"writeable=False$"),
    "several_faults": (lambda mem: mem.view(np.float64)[::2], r"view\.size=10, view\.dtype=float64, .*c_contiguous"),
}


@pytest.mark.parametrize("case", sorted(BAD_VIEWS))
def test_bad_host_views_are_refused_before_any_write(plug_in, case):
    make_view, message = BAD_VIEWS[case]
    memory = _sentinel_memory()
    plug_in(hostile(host_view=lambda self, x, name: make_view(memory)))
    t = MiniTensor(np.zeros((4, 4), np.float32))
    expected = r"^Backend 'hostile': host_view must return a writeable, C-contiguous numpy array of exactly "
    with pytest.raises(ValueError, match=expected + r"16 float32 values \(the storage of float32\), or None\. "):
        ai.HeNormal(seed=0).fill_(t)
    with pytest.raises(ValueError, match=message):
        ai.HeNormal(seed=0).fill_(t)
    assert (memory == 7.0).all()  # neither the view nor the memory around it was written
    assert (t.data == 0).all()
    assert t.version == 0


def _read_only_mapping(path):
    with open(path, "rb") as f:
        return np.frombuffer(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ), np.float32)


@pytest.mark.parametrize("kind", ["memmap", "mmap"])
def test_host_view_of_a_read_only_mapping_is_refused(plug_in, tmp_path, kind):
    path = tmp_path / "weights.bin"
    path.write_bytes(np.full(16, 7.0, np.float32).tobytes())
    if kind == "memmap":
        plug_in(hostile(host_view=lambda self, x, name: np.memmap(path, np.float32, mode="r")))
    else:
        plug_in(hostile(host_view=lambda self, x, name: _read_only_mapping(path)))
    with pytest.raises(ValueError, match=r"Backend 'hostile': host_view .* view\.flags\.writeable=False"):
        ai.HeNormal(seed=0).fill_(MiniTensor(np.zeros((4, 4), np.float32)))
    assert np.fromfile(path, np.float32).tolist() == [7.0] * 16


@pytest.mark.parametrize("view", [[0.0] * 16, memoryview(bytearray(64))], ids=["list", "memoryview"])
def test_host_view_must_be_a_numpy_array(plug_in, view):
    plug_in(hostile(host_view=lambda self, x, name: view))
    with pytest.raises(
        TypeError, match=r"Backend 'hostile': host_view must return a numpy\.ndarray or None\. Received"
    ):
        ai.HeNormal(seed=0).fill_(MiniTensor(np.zeros((4, 4), np.float32)))


def test_good_host_views_are_written(plug_in, tmp_path):
    # the storage dtype, a view of the 16-bit float dtype itself (the same bits), a writeable memmap, a 2-D view
    init = ai.HeNormal(seed=0)
    plug_in(hostile(host_view=lambda self, x, name: x.data))
    half = MiniTensor(np.zeros((4, 4), np.float16))
    init.fill_(half)
    np.testing.assert_array_equal(half.data, init((4, 4), "float16"))
    ai.unregister_backend("hostile")
    path = tmp_path / "w.bin"
    path.write_bytes(bytes(64))
    plug_in(hostile(host_view=lambda self, x, name: np.memmap(path, np.float32, mode="r+")))
    init.fill_(MiniTensor(np.zeros((4, 4), np.float32)))
    np.testing.assert_array_equal(np.fromfile(path, np.float32).reshape(4, 4), init((4, 4)))


def _no_shape(self, xp, storage, name, device):
    return object()


BAD_RESULTS = {
    "none": (
        lambda self, xp, storage, name, device: None,
        TypeError,
        r"shape \(4, 4\) and dtype float32\. Received: None",
    ),
    "flat": (
        lambda self, xp, storage, name, device: MiniTensor(storage.reshape(-1)),
        ValueError,
        r"shape \(4, 4\)\. Received: shape=\(16,\) \(type MiniTensor\)",
    ),
    "no_shape": (_no_shape, ValueError, r"shape \(4, 4\)\. Received: an object without a shape \(type object\)"),
    "other_dtype": (
        lambda self, xp, storage, name, device: MiniTensor(storage.astype(np.float64)),
        ValueError,
        r"dtype float32\. Received: dtype=float64",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_RESULTS))
def test_bad_from_host_results_are_refused(plug_in, case):
    from_host, kind, message = BAD_RESULTS[case]
    plug_in(hostile(from_host=from_host))
    with pytest.raises(kind, match=r"^Backend 'hostile': from_host must return an array of " + message):
        ai.HeNormal(seed=0)((4, 4), xp=minifw)


def test_from_host_results_of_every_path_are_checked(plug_in):
    plug_in(hostile(from_host=lambda self, xp, storage, name, device: None))
    calls = [
        lambda: ar.normal((4, 4), seed=0, xp=minifw),
        lambda: ar.bits((4, 4), seed=0, xp=minifw),
        lambda: ai.Orthogonal(seed=0)((4, 4), xp=minifw),  # a host-value plan
        lambda: ar.normal((4, 4), seed=0, dtype="complex64", xp=minifw),
    ]
    for call in calls:
        with pytest.raises(TypeError, match=r"^Backend 'hostile': from_host must return an array .* Received: None$"):
            call()
    ai.unregister_backend("hostile")
    plug_in(hostile(from_host=lambda self, xp, storage, name, device: MiniTensor(storage.view(np.float32))))
    with pytest.raises(
        ValueError, match=r"from_host must return an array of shape \(4, 4\)\. Received: shape=\(4, 8\)"
    ):
        ar.normal((4, 4), seed=0, dtype="complex64", xp=minifw)


class LazyMini(MiniBackend):
    name = "lazymini"
    lazy = True

    def owns_namespace(self, xp):
        return xp is lazyfw

    def lazy_array(self, xp, make_block, shape, offset, name, chunks):
        return MiniTensor(make_block((*shape[:-1], 1), offset))  # a block short of the requested shape


lazyfw = types.SimpleNamespace(__name__="lazyfw")


def test_lazy_array_results_are_checked(plug_in):
    plug_in(LazyMini())
    with pytest.raises(ValueError, match=r"^Backend 'lazymini': lazy_array must return an array of shape \(4, 4\)"):
        ai.HeNormal(seed=0)((4, 4), xp=lazyfw)

    class LazyWithoutArrays(MiniBackend):
        name = "lazy-without-arrays"
        lazy = True

        def owns_namespace(self, xp):
            return xp is lazyfw

    ai.unregister_backend("lazymini")
    plug_in(LazyWithoutArrays())
    with pytest.raises(NotImplementedError, match="sets lazy = True but does not implement lazy_array"):
        ai.HeNormal(seed=0)((4, 4), xp=lazyfw)


def _raiser(exc):
    def method(self, *args):
        raise exc

    return method


RAISING = [  # (method, exception raised in it, the call, the kind the user gets)
    ("host_view", ZeroDivisionError("division by zero"), "fill", RuntimeError),
    ("write", KeyError("slot"), "fill", RuntimeError),
    ("after_write", TypeError("version is frozen"), "fill", TypeError),
    ("check_writable", ValueError("tensor is frozen"), "fill", ValueError),
    ("dtype_name_of", AttributeError("no dtype"), "fill", RuntimeError),
    ("holds_no_data", RuntimeError("lost"), "fill", RuntimeError),
    ("from_host", ValueError("cannot take it\nsecond line"), "xp", ValueError),
    ("namespace", LookupError("gone"), "xp", RuntimeError),
    ("device", OSError("driver"), "xp", RuntimeError),
    ("check_dtype", IndexError("no dtypes"), "xp", RuntimeError),
    ("cuda_ordinal", NotImplementedError("later"), "xp", RuntimeError),
    ("device_of", AttributeError("no device"), "like", RuntimeError),
    ("namespace_of", KeyError("ns"), "like", RuntimeError),
    ("owns_array", ValueError("ambiguous truth value"), "fill", ValueError),
    ("owns_namespace", TypeError("unhashable"), "xp", TypeError),
]


@pytest.mark.parametrize(("method", "exc", "call", "kind"), RAISING, ids=[r[0] for r in RAISING])
def test_exceptions_in_plug_in_methods_name_the_backend_and_the_method(plug_in, method, exc, call, kind):
    plug_in(hostile(**{"host_view": lambda self, x, name: None, method: _raiser(exc)}))  # no view: fill_ writes
    t = MiniTensor(np.zeros((4, 4), np.float32))
    run = {
        "fill": lambda: ai.HeNormal(seed=0).fill_(t),
        "xp": lambda: ai.HeNormal(seed=0)((4, 4), xp=minifw),
        "like": lambda: ai.HeNormal(seed=0)((4, 4), like=t),
    }[call]
    first_line = str(exc).splitlines()[0] if str(exc) else ""
    with pytest.raises(kind) as info:
        run()
    assert str(info.value) == f"Backend 'hostile' failed in {method}: {type(exc).__name__}: {first_line}"
    assert info.value.__cause__ is exc
    assert (t.data == 0).all() or method == "after_write"  # after_write is called once the values are in


def test_deliberate_errors_go_through_unwrapped(plug_in):
    class WithoutWrite(MiniBackend):
        name = "without-write"
        write = ai.Backend.write  # the protocol's default: a clear TypeError

        def device(self, xp, device):
            raise ai.DeviceUnavailableError(f"without-write has no device {device!r}")

    plug_in(WithoutWrite())
    with pytest.raises(TypeError, match=r"^without-write arrays cannot be filled in place by arrayinit") as info:
        ai.HeNormal(seed=0).fill_(MiniTensor(np.zeros((2, 2), np.float32)))
    assert info.value.__cause__ is None
    with pytest.raises(ai.DeviceUnavailableError, match=r"^without-write has no device 'npu'$"):
        ai.HeNormal(seed=0)((2, 2), xp=minifw, device="npu")
    with pytest.raises(ValueError, match=r"^Backend 'without-write': dtype_name_of must return one of float16, "):
        ai.HeNormal(seed=0).fill_(MiniTensor(np.zeros((2, 2), np.int32)))  # MiniBackend's returns 'int32'
    ai.unregister_backend("without-write")
    plug_in(
        type("DefaultDtypes", (WithoutWrite,), {"name": "default-dtypes", "dtype_name_of": ai.Backend.dtype_name_of})()
    )
    with pytest.raises(ValueError, match=r"^Only floating point types are supported: argument `out\.dtype`") as info:
        ai.HeNormal(seed=0).fill_(MiniTensor(np.zeros((2, 2), np.int32)))  # the protocol's dtype_name_of
    assert info.value.__cause__ is None
    # built-in adapters are arrayinit's own: their messages are not wrapped
    read_only = np.zeros((2, 2), np.float32)
    read_only.setflags(write=False)
    with pytest.raises(
        ValueError, match=r"^The array to fill \(`out`, or the array given to `fill_`\) must be"
    ) as info:
        ai.HeNormal(seed=0).fill_(read_only)
    assert info.value.__cause__ is None


class FakeDeviceArray:
    """A device buffer that exists only as its ``__cuda_array_interface__`` (no launch ever reads it)."""

    def __init__(self, **interface):
        self.__cuda_array_interface__ = {
            "shape": (16,),
            "typestr": "<f4",
            "data": (0x10000, False),
            "strides": None,
            "version": 3,
        } | interface


BAD_BUFFERS = {
    "too_short": (FakeDeviceArray(shape=(15,)), r"Received: shape=\(15,\)$"),
    "other_dtype": (FakeDeviceArray(typestr="<f8"), r"Received: typestr='<f8'$"),
    "strided": (FakeDeviceArray(strides=(8,)), r"Received: strides=\(8,\)$"),
    "read_only": (FakeDeviceArray(data=(0x10000, True)), r"Received: read-only data$"),
    "no_interface": (object(), None),
}


@pytest.mark.parametrize("case", sorted(BAD_BUFFERS))
@pytest.mark.parametrize("method", ["cuda_view", "cuda_empty"])
def test_bad_cuda_buffers_are_refused_before_any_launch(plug_in, case, method):
    buffer, message = BAD_BUFFERS[case]
    buf = ai.CudaBuffer(buffer, 0, 0)
    plug_in(
        hostile(
            host_view=lambda self, x, name: None,
            cuda_view=lambda self, x, name: buf,
            cuda_ordinal=lambda self, xp, device: 0,
            cuda_empty=lambda self, xp, shape, name, device: (lambda: None, buf),
        )
    )
    t = MiniTensor(np.zeros((4, 4), np.float32))
    call = (
        (lambda: ai.HeNormal(seed=0).fill_(t))
        if method == "cuda_view"
        else lambda: ai.HeNormal(seed=0)((4, 4), xp=minifw)
    )
    if message is None:
        with pytest.raises(TypeError, match=rf"^Backend 'hostile': the buffer of {method} must expose __cuda_array"):
            call()
        return
    with pytest.raises(ValueError, match=rf"^Backend 'hostile': the buffer of {method} must be a writeable, C-contig"):
        call()
    with pytest.raises(ValueError, match=message):
        call()


def test_cuda_view_must_give_a_cuda_buffer(plug_in):
    plug_in(hostile(host_view=lambda self, x, name: None, cuda_view=lambda self, x, name: (FakeDeviceArray(), 0, 0)))
    with pytest.raises(TypeError, match=r"cuda_view must return an arrayinit\.CudaBuffer or None\. Received: an obj"):
        ai.HeNormal(seed=0).fill_(MiniTensor(np.zeros((4, 4), np.float32)))


# --- an array-API library whose arrays have no `.device` (as mlx's) -----------------------------


class FakeDtype:
    """A dtype object of the fake library: compared by identity of meaning, no `name` numpy could read."""

    def __init__(self, key):
        self.key = key

    def __eq__(self, other):
        return isinstance(other, FakeDtype) and other.key == self.key

    def __hash__(self):
        return hash(self.key)

    def __repr__(self):
        return f"nodevice.{self.key}"


class NoDeviceArray:
    """An array-API array without a `device` attribute."""

    def __init__(self, data):
        self._data = np.asarray(data)

    def __array_namespace__(self, api_version=None):
        return nodevice

    @property
    def shape(self):
        return self._data.shape

    @property
    def dtype(self):
        return FakeDtype(self._data.dtype.name)

    def __setitem__(self, key, value):
        self._data[key] = value._data if isinstance(value, NoDeviceArray) else value


def _asarray(obj, /, *, dtype=None, device=None, copy=None):
    data = obj._data if isinstance(obj, NoDeviceArray) else obj
    return NoDeviceArray(np.array(data, dtype=None if dtype is None else dtype.key))


nodevice = types.ModuleType("nodevice")
nodevice.__array_api_version__ = "2024.12"
nodevice.asarray = _asarray
for _key in ("float16", "float32", "float64", "uint32"):
    setattr(nodevice, _key, FakeDtype(_key))


def test_arrays_without_a_device_attribute_use_the_default_device():
    init = ai.HeNormal(seed=5)
    ref = init((6, 4))
    x = init((6, 4), xp=nodevice)
    assert isinstance(x, NoDeviceArray)
    assert not hasattr(x, "device")
    np.testing.assert_array_equal(x._data, ref)
    y = init((6, 4), like=x)  # the library and dtype of x, on the library's default device
    assert isinstance(y, NoDeviceArray)
    np.testing.assert_array_equal(y._data, ref)
    h = init((6, 4), like=NoDeviceArray(np.zeros((1,), np.float16)))
    assert h.dtype == nodevice.float16
    np.testing.assert_array_equal(h._data, init((6, 4), "float16"))
    z = NoDeviceArray(np.zeros((6, 4), np.float32))
    assert init.fill_(z) is z
    np.testing.assert_array_equal(z._data, ref)
    np.testing.assert_array_equal(ar.bits((5,), seed=1, like=x)._data, ar.bits((5,), seed=1))


def test_the_generic_adapter_is_checked_and_named_too(monkeypatch):
    monkeypatch.setattr(
        nodevice, "asarray", lambda obj, **kw: NoDeviceArray(np.asarray(obj).reshape(-1)), raising=False
    )
    with pytest.raises(ValueError, match=r"^Backend 'array-api': from_host must return an array of shape \(6, 4\)\. "):
        ai.HeNormal(seed=5)((6, 4), xp=nodevice)
    monkeypatch.undo()

    def broken(self, key, value):
        raise ZeroDivisionError("the library failed")

    monkeypatch.setattr(NoDeviceArray, "__setitem__", broken)
    with pytest.raises(RuntimeError, match=r"^Backend 'array-api' failed in write: ZeroDivisionError: the library"):
        ai.HeNormal(seed=5).fill_(NoDeviceArray(np.zeros((6, 4), np.float32)))


def test_bfloat16_dlpack_hands_uint16_bits_to_jax_without_a_copy():
    """The jax GPU path's bfloat16 export (cupy has no bfloat16), checked on the CPU with numpy's DLPack."""
    jnp = pytest.importorskip("jax.numpy", reason=SKIP_XP)
    ml_dtypes = pytest.importorskip("ml_dtypes", reason="numpy bfloat16 reference")
    from arrayinit._backends.jax import Bfloat16DLPack, retype_uint16_as_bfloat16

    storage = np.empty(64 + 300, np.uint16)
    at = storage.__array_interface__["data"][0]
    bits = storage[(-at % 64) // 2 :][:300].reshape(20, 15)  # 64-byte aligned: jax's CPU client shares it
    want = ai.HeNormal(seed=3)((20, 15), "bfloat16")
    bits[...] = want.view(np.uint16)
    got = jnp.from_dlpack(Bfloat16DLPack(bits))
    assert got.dtype == jnp.bfloat16
    assert got.shape == (20, 15)
    assert got.unsafe_buffer_pointer() == bits.__array_interface__["data"][0]  # the same memory
    np.testing.assert_array_equal(np.asarray(got).view(np.uint16), bits)
    assert np.asarray(got).dtype == ml_dtypes.bfloat16
    for not_uint16 in [np.zeros(3, np.int16), np.zeros(3, np.float16), np.zeros(3, np.uint32)]:
        with pytest.raises(TypeError, match="expected a uint16 DLPack tensor"):
            retype_uint16_as_bfloat16(not_uint16.__dlpack__())
