"""The (library, device, dtype) matrix: native types, devices, dtypes and bit-identical values."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import arrayinit as ai
import arrayinit.random as ar

torch = pytest.importorskip("torch", reason="torch is installed by the tests_xp session")
jax = pytest.importorskip("jax", reason="jax is installed by the tests_xp session")
jnp = pytest.importorskip("jax.numpy", reason="jax is installed by the tests_xp session")
da = pytest.importorskip("dask.array", reason="dask is installed by the tests_xp session")
aas = pytest.importorskip("array_api_strict", reason="array-api-strict is installed by the tests_xp session")


def _bits(x) -> np.ndarray:
    """Element bit patterns of any supported array as a numpy uint array."""
    if isinstance(x, np.ndarray):
        arr = x
    elif isinstance(x, torch.Tensor):
        t = x.detach().cpu()
        if t.dtype in (torch.bfloat16, torch.float16):
            return t.view(torch.uint16).numpy().copy()
        arr = t.numpy()
    elif isinstance(x, jax.Array):
        arr = np.asarray(x)
    elif isinstance(x, da.Array):
        arr = x.compute()
    else:
        arr = np.asarray(x._array)  # array_api_strict wraps a numpy array
    return arr.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[arr.dtype.itemsize]).copy()


def _combos():
    out = []
    for lib in ["numpy", "torch", "jax", "dask", "array_api_strict"]:
        for dtype in ["float32", "float64", "float16", "bfloat16"]:
            if lib == "array_api_strict" and dtype in ("float16", "bfloat16"):
                continue
            if lib == "jax" and dtype == "float64":
                continue  # covered by test_jax_float64_needs_x64
            out.append((lib, dtype))
    return out


NAMESPACES = {"numpy": np, "torch": torch, "jax": jnp, "dask": da, "array_api_strict": aas}
NATIVE = {
    "numpy": np.ndarray,
    "torch": torch.Tensor,
    "jax": jax.Array,
    "dask": da.Array,
    "array_api_strict": type(aas.asarray([1.0])),
}
INITS = {
    "he_normal": lambda: ai.HeNormal(seed=1),
    "glorot_uniform": lambda: ai.GlorotUniform(seed=2),
    "random_normal": lambda: ai.RandomNormal(stddev=0.3, seed=3),
    "orthogonal": lambda: ai.Orthogonal(seed=4),
    "identity": lambda: ai.Identity(gain=0.5),
}


@pytest.mark.parametrize("init_name", sorted(INITS))
@pytest.mark.parametrize(("lib", "dtype"), _combos())
def test_native_type_dtype_and_bits(lib, dtype, init_name):
    init = INITS[init_name]()
    shape = (48, 40)
    ref = init(shape, dtype)
    x = init(shape, dtype, xp=NAMESPACES[lib])
    assert isinstance(x, NATIVE[lib])
    assert tuple(x.shape) == shape
    assert ai._dtypes.dtype_name(x.dtype) == dtype
    np.testing.assert_array_equal(_bits(x), _bits(ref))


@pytest.mark.parametrize(("lib", "dtype"), _combos())
def test_library_dtype_objects_and_like(lib, dtype):
    ref = ar.truncated_normal((20, 30), seed=5, dtype=dtype)
    if lib == "torch":
        dt = getattr(torch, dtype)
    elif lib == "jax":
        dt = getattr(jnp, dtype)
    else:
        dt = dtype
    x = ar.truncated_normal((20, 30), seed=5, dtype=dt, xp=NAMESPACES[lib])
    np.testing.assert_array_equal(_bits(x), _bits(ref))
    if lib != "dask":
        y = ar.truncated_normal((20, 30), seed=5, like=x)  # library, device and dtype from `like`
        assert type(y) is type(x)
        np.testing.assert_array_equal(_bits(y), _bits(ref))


def test_jax_module_accepted_and_float64_needs_x64():
    np.testing.assert_array_equal(_bits(ai.HeNormal(seed=1)((8, 8), xp=jax)), _bits(ai.HeNormal(seed=1)((8, 8))))
    if not jax.config.read("jax_enable_x64"):
        with pytest.raises(ValueError, match="jax_enable_x64"):
            ai.HeNormal(seed=1)((8, 8), "float64", xp=jnp)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
def test_jax_placement_follows_jax_rules(dtype):
    # no device: uncommitted on jax's default device (as jnp.asarray places arrays),
    # so the array moves freely to where a computation runs; a device: committed to it
    free = ai.HeNormal(seed=2)((64, 32), dtype, xp=jnp)
    assert not free.committed
    assert free.devices() == {jax.devices()[0]}
    cpu0 = jax.devices("cpu")[0]
    pinned = ai.HeNormal(seed=2)((64, 32), dtype, xp=jnp, device=cpu0)
    assert pinned.committed
    assert pinned.devices() == {cpu0}
    assert str(free.dtype) == str(pinned.dtype) == dtype
    ref = _bits(ai.HeNormal(seed=2)((64, 32), dtype))
    np.testing.assert_array_equal(_bits(free), ref)
    np.testing.assert_array_equal(_bits(pinned), ref)
    like = ai.HeNormal(seed=2)((64, 32), dtype, like=pinned)
    assert like.committed  # like= carries the device
    bits = ai.random.bits((16,), seed=5, xp=jnp)
    assert not bits.committed
    np.testing.assert_array_equal(np.asarray(bits), ai.random.bits((16,), seed=5))


def test_dask_is_lazy_and_chunk_invariant():
    import dask

    full = ai.HeNormal(seed=3)((100, 70))
    for chunks in [(100, 70), (10, 7), (33, 25), ((1, 99), (69, 1)), "auto"]:
        x = ai.HeNormal(seed=3)((100, 70), xp=da, chunks=chunks)
        assert isinstance(x, da.Array)
        with dask.config.set(scheduler="threads"):
            np.testing.assert_array_equal(x.compute(), full)
    y = ai.HeNormal(seed=3)((100, 70), xp=dask, chunks=(10, 10))
    np.testing.assert_array_equal(y.compute(scheduler="synchronous"), full)


def test_zero_copy_handoff():
    x = ar.normal((64, 64), seed=0, xp=torch)
    assert x.data_ptr() % 64 == 0
    j = ar.normal((1024, 64), seed=0, xp=jnp)
    assert j.unsafe_buffer_pointer() % 64 == 0


def test_fill_in_place_numpy_torch_and_strict():
    init = ai.HeNormal(seed=6)
    ref = init((32, 16))
    w = np.zeros((32, 16), np.float32)
    assert init.fill_(w) is w
    np.testing.assert_array_equal(w, ref)
    # torch parameter with requires_grad: identity and autograd state kept
    p = torch.nn.Parameter(torch.zeros(32, 16))
    ptr = p.data_ptr()
    assert init.fill_(p) is p
    assert p.requires_grad
    assert p.data_ptr() == ptr
    assert p.grad_fn is None
    np.testing.assert_array_equal(_bits(p), _bits(ref))
    # non-contiguous tensor
    big = torch.zeros(16, 64)
    view = big.t()[:, ::2]  # (64, 8)? keep shape (32, 16) below
    v = torch.zeros(16, 32).t()
    assert not v.is_contiguous()
    init.fill_(v)
    np.testing.assert_array_equal(_bits(v), _bits(ref))
    assert view.shape == (64, 8)
    # bfloat16 tensor through a uint16 view
    b = torch.zeros(32, 16, dtype=torch.bfloat16)
    init.fill_(b)
    np.testing.assert_array_equal(_bits(b), _bits(init((32, 16), "bfloat16")))
    # array_api_strict
    s = aas.zeros((32, 16), dtype=aas.float32)
    assert init.fill_(s) is s
    np.testing.assert_array_equal(_bits(s), _bits(ref))
    # numpy-computed initializers fill too
    q = torch.zeros(16, 16)
    ai.Orthogonal(seed=1).fill_(q)
    np.testing.assert_array_equal(_bits(q), _bits(ai.Orthogonal(seed=1)((16, 16))))


def test_fill_refuses_jax_and_dask_with_a_pointer_to_the_functional_call():
    with pytest.raises(TypeError, match="immutable"):
        ai.HeNormal(seed=1).fill_(jnp.zeros((4, 4)))
    with pytest.raises(TypeError, match=r"xp=dask\.array"):
        ai.HeNormal(seed=1).fill_(da.zeros((4, 4)))
    with pytest.raises(TypeError, match="argument `out`"):
        ai.HeNormal(seed=1).fill_([[0.0]])


def test_unsupported_library_and_devices():
    import math

    with pytest.raises(TypeError, match="Unsupported array library"):
        ai.HeNormal(seed=1)((2, 2), xp=math)
    if not torch.cuda.is_available():
        with pytest.raises(ai.DeviceUnavailableError, match=r"'cuda:0'.*no CUDA device"):
            ai.HeNormal(seed=1)((2, 2), xp=torch, device="cuda:0")
    with pytest.raises(ai.DeviceUnavailableError, match="meta"):
        ai.HeNormal(seed=1)((2, 2), xp=torch, device="meta")
    with pytest.raises(ai.DeviceUnavailableError, match="gpu"):
        ai.HeNormal(seed=1)((2, 2), xp=np, device="gpu")
    with pytest.raises(ai.DeviceUnavailableError, match="jax"):
        ai.HeNormal(seed=1)((2, 2), xp=jnp, device="cuda:0")
    with pytest.raises(ValueError, match="float16"):
        ai.HeNormal(seed=1)((2, 2), "float16", xp=aas)
    x = ai.HeNormal(seed=1)((2, 2), xp=torch, device="cpu")
    assert x.device.type == "cpu"
    s = ai.HeNormal(seed=1)((2, 2), xp=aas, device=aas.Device("device1"))
    assert s.device == aas.Device("device1")


def test_built_in_adapters_errors_are_not_wrapped_and_their_results_are_checked():
    # a non-float tensor: the same clear error every time (the adapter's dtype names keep no failure)
    for _ in range(2):
        with pytest.raises(
            ValueError, match=r"^Only floating point types are supported: argument `out\.dtype`"
        ) as info:
            ai.HeNormal(seed=1).fill_(torch.zeros(2, 2, dtype=torch.int32))
        assert info.value.__cause__ is None
    # a built-in adapter's deliberate error goes through as it is, not named again
    with torch.inference_mode():
        t = torch.zeros(2, 2)
    with pytest.raises(RuntimeError, match=r"^Cannot fill an inference tensor outside torch\.inference_mode"):
        ai.HeNormal(seed=1).fill_(t)
    # the results of every built-in adapter pass the boundary checks: native type, shape and dtype
    for xp, dtype in [(torch, "bfloat16"), (jnp, "bfloat16"), (da, "float16"), (aas, "float64")]:
        x = ar.uniform((3, 5), seed=2, dtype=dtype, xp=xp)
        assert tuple(x.shape) == (3, 5)
        assert ai._dtypes.dtype_name(x.dtype) == dtype
    assert ar.bits((3,), seed=0, xp=torch).dtype == torch.uint32
    assert ar.normal((3,), seed=0, dtype="complex64", xp=torch).dtype == torch.complex64


def test_import_leaves_optional_libraries_unimported():
    code = textwrap.dedent(
        """
        import sys
        import arrayinit
        arrayinit.HeNormal(seed=0)((8, 8))
        arrayinit.random.truncated_normal((8,), seed=0, dtype="float16")
        mods = ("torch", "jax", "cupy", "dask", "numba.cuda", "array_api_strict")
        print([m for m in mods if m in sys.modules])
        """
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"
