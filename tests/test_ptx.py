"""Every CUDA kernel compiles to PTX for sm_90 without a GPU, and its float arithmetic is explicitly rounded.

CPU/GPU float equality needs the GPU to round exactly where the CPU does.
NVVM and ptxas may fuse a plain ``mul`` feeding an ``add`` into an ``fma``;
instructions with an explicit rounding mode (``mul.rn``, ``add.rn``,
``fma.rn``) are never fused. So the check is: no plain float add/sub/mul in
the PTX at all, every multiply-add an explicit ``fma.rn``. ptxas then
assembles each kernel for sm_90: no register spills, no stack frame.
"""

import os
import pathlib
import re
import shutil
import subprocess
import types as pytypes

import pytest

if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
    pytest.skip("PTX compilation needs the real CUDA target, not the simulator", allow_module_level=True)

pytest.importorskip("numba_cuda", reason="the ptx session installs numba-cuda (not numba's built-in numba.cuda)")
cuda = pytest.importorskip("numba.cuda", reason="numba-cuda is installed by the ptx session")
try:
    from numba.cuda.cudadrv import nvvm

    nvvm.NVVM()
except Exception as e:  # no NVVM library: the cu12/cu13 wheels are missing
    pytest.skip(
        f"NVVM is not available ({type(e).__name__}: {e}); the ptx sessions install numba-cuda[cu12] or [cu13]",
        allow_module_level=True,
    )

from numba import types  # noqa: E402

CC = (9, 0)
PLAIN_FLOAT_OP = re.compile(r"^\s*(add|sub|mul|mad)(\.f32|\.f64|\.ftz\.f32)\s", re.M)
OPCODE = re.compile(r"^\s*(?:@!?%p\d+\s+)?([a-z][\w.]*)", re.M)  # each instruction's opcode (after a guard)


@pytest.fixture(scope="module")
def kernels(monkeypatch_module):
    # A kernel that calls device functions asks for the current device's compute
    # capability; offline, answer for the target we compile for.
    import numba.cuda.dispatcher as dispatcher

    monkeypatch_module.setattr(dispatcher, "get_current_device", lambda: pytypes.SimpleNamespace(compute_capability=CC))
    from arrayinit._targets import cuda as target

    return target


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


u64, i64, f32, f64, u16, u32 = types.uint64, types.int64, types.float32, types.float64, types.uint16, types.uint32
AXES = types.UniTuple(i64, 4)  # arrayinit._targets.cuda.RUN_AXES: the runs' extents and strides, by value


def _sig(out, params):
    return (
        types.Array(out, 1, "C"),
        i64,
        i64,
        AXES,
        AXES,
        i64,
        i64,
        i64,
        u64,
        u64,
        u64,
        u64,
        types.boolean,
        i64,
        params,
    )


P32, P64 = types.UniTuple(f32, 12), types.UniTuple(f64, 12)  # arrayinit._kernels.abi.N_PARAMS
NATIVE, BF16, F16 = 0, 1, 2
FORMATS = [  # (family, store kind, output storage, parameter tuple)
    ("fill32", NATIVE, f32, P32),
    ("fill32", BF16, u16, P32),
    ("fill32", F16, u16, P32),
    ("fill64", NATIVE, f64, P64),
    ("fill64", NATIVE, f32, P64),
    ("fill64", BF16, u16, P64),
    ("fill64", F16, u16, P64),
    ("bits", NATIVE, u32, types.UniTuple(f32, 8)),
]
STORE_TYPE = {f32: "f32", f64: "f64", u16: "u16", u32: "u32"}
CASES = [
    (family, kind, style, _sig(out, params))
    for style in [0, 1]  # tiled, flat
    for family, kind, out, params in FORMATS
]
IDS = ["-".join([f, ["native", "bf16", "f16"][k], str(sig[0].dtype), ["tiled", "flat"][st]]) for f, k, st, sig in CASES]


def _ptxas():
    """ptxas from the CUDA wheels (nvidia-cuda-nvcc: ``nvidia/cuda_nvcc/bin`` for CUDA 12, ``nvidia/cu13/bin``
    for CUDA 13), else one on PATH."""
    import importlib

    for module in ("nvidia.cuda_nvcc", "nvidia.cu13"):
        try:
            package = importlib.import_module(module)
        except ImportError:
            continue
        for root in package.__path__:
            exe = pathlib.Path(root) / "bin" / "ptxas"
            if exe.exists():
                return str(exe)
    return shutil.which("ptxas")


@pytest.fixture(scope="module")
def compiled(kernels):
    cache = {}

    def get(family, kind, style, sig):
        key = (family, kind, style, sig)
        if key not in cache:
            cache[key] = cuda.compile_ptx(kernels.KERNELS[family, kind][style].py_func, sig, cc=CC)[0]
        return cache[key]

    return get


@pytest.mark.parametrize(("family", "kind", "style", "sig"), CASES, ids=IDS)
def test_kernel_compiles_to_sm90_ptx_with_explicit_rounding(compiled, family, kind, style, sig):
    ptx = compiled(family, kind, style, sig)
    assert ".target sm_90" in ptx
    plain = PLAIN_FLOAT_OP.findall(ptx)
    assert plain == [], f"plain (fusable) float instructions: {plain}"
    assert "mul.hi.u32" in ptx  # Philox multiplies as 32-bit hi/lo, not emulated 64-bit
    if family != "bits":
        assert "fma.rn.f" in ptx
        assert ("mul.rn.f32" in ptx) or ("mul.rn.f64" in ptx)
    # one kind of global store, of the output's width: the format is compiled in, not branched on
    assert set(re.findall(r"st\.global\.[\w.]+", ptx)) == {f"st.global.{STORE_TYPE[sig[0].dtype]}"}
    if style == 0:
        # the tile goes through shared memory
        assert "bar.sync" in ptx
        assert ".shared" in ptx


@pytest.mark.parametrize(("family", "kind", "style", "sig"), CASES, ids=IDS)
def test_kernel_has_no_approximate_or_flush_to_zero_instruction(compiled, family, kind, style, sig):
    """The CPU rounds every operation correctly and keeps subnormals: so must every GPU instruction."""
    ops = set(OPCODE.findall(compiled(family, kind, style, sig)))
    approx = sorted(op for op in ops if ".approx" in op or ".ftz" in op)
    assert approx == [], f"approximate or flush-to-zero instructions: {approx}"
    full = sorted(op for op in ops if op.startswith("div.full"))
    assert full == [], f"full-range (approximate) divisions: {full}"
    # float division, square root and reciprocal name their rounding: round to nearest even
    unrounded = sorted(op for op in ops if re.match(r"(div|sqrt|rcp)\.(?!rn\.)\w*\.?f(32|64)$", op))
    assert unrounded == [], f"float division/sqrt/reciprocal without .rn: {unrounded}"
    if family == "fill32":  # the normal's tail: a correctly rounded square root
        assert "sqrt.rn.f32" in ops
    if family == "fill64":  # the local truncated normal's divisions, the tails' square roots
        assert {"sqrt.rn.f64", "div.rn.f64"} <= ops, sorted(ops)


@pytest.mark.parametrize(("family", "kind", "style", "sig"), CASES, ids=IDS)
def test_kernel_assembles_for_sm90_without_local_memory(compiled, family, kind, style, sig, tmp_path):
    """ptxas: no spills, no stack frame (Philox state and samples stay in registers)."""
    exe = _ptxas()
    if exe is None:
        if os.environ.get("ARRAYINIT_REQUIRE_PTXAS") == "1":
            pytest.fail("no ptxas, and this session requires it (ARRAYINIT_REQUIRE_PTXAS=1)")
        pytest.skip("no ptxas: the ptx sessions install it (nvidia-cuda-nvcc)")
    src = tmp_path / "k.ptx"
    src.write_text(compiled(family, kind, style, sig))
    r = subprocess.run(
        [exe, "-arch=sm_90", "-O3", "-v", str(src), "-o", str(tmp_path / "k.cubin")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    usage = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", r.stderr)
    regs = re.search(r"Used (\d+) registers", r.stderr)
    assert usage, r.stderr
    assert regs, r.stderr
    assert usage.groups() == ("0", "0", "0"), r.stderr
    # <= 64 registers: an SM (65,536 registers) keeps 1,024 threads resident, half its maximum
    assert int(regs.group(1)) <= 64, r.stderr


def test_on_cuda_is_true_in_cuda_code(kernels):
    """The CUDA-specific evaluation orders (e.g. ndtri's early return) are the ones compiled for CUDA."""
    from numba import njit

    from arrayinit._kernels.ops import on_cuda

    @njit
    def which():
        return 7 if on_cuda() else 3

    def probe(out):
        out[0] = which()

    ptx, _ = cuda.compile_ptx(probe, (types.Array(types.int64, 1, "C"),), cc=CC)
    constants = re.findall(r"mov\.[bsu]64\s+%rd\d+,\s*(\d+);", ptx)
    assert "7" in constants, ptx
    assert "3" not in constants, ptx
    assert which() == 3  # the CPU compilation


def _launch_config(blocks):
    from numba.cuda.dispatcher import _LaunchConfiguration

    return _LaunchConfiguration(None, (blocks, 1, 1), (256, 1, 1), 0, 0)


def test_small_launches_do_not_warn_and_other_warnings_stay(kernels):
    """numba-cuda warns for grids of under 128 blocks (every small fill): exactly that warning is filtered."""
    import warnings

    from numba.cuda.core.errors import NumbaPerformanceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.warns(NumbaPerformanceWarning, match="under-utilization"):
            _launch_config(3)  # numba-cuda still says it, unfiltered
        kernels.quiet_small_launches()
        _launch_config(3)  # filtered
        with pytest.raises(NumbaPerformanceWarning, match="something else"):
            warnings.warn(NumbaPerformanceWarning("something else"), stacklevel=1)


def test_the_test_suite_filters_the_small_launch_warning_too():
    # pyproject.toml's filterwarnings: "error", but not this warning (a small fill on a GPU machine)
    _launch_config(1)


def test_compiled_kernels_are_cached_on_disk_under_an_exact_stamp(kernels, tmp_path, monkeypatch):
    """The CUDA disk cache (numba-cuda's load/save hooks): a kernel compiled here is read back by a new cache
    for the same stamp only; a damaged file or another version, device or signature is never loaded."""
    import numba.cuda.codegen as codegen
    from numba.cuda.dispatcher import _Kernel

    from arrayinit._targets import cuda_cache

    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    # the compiler asks the current context for the device: answer for the target we compile for
    device = pytypes.SimpleNamespace(compute_capability=CC)
    monkeypatch.setattr(codegen.devices, "get_context", lambda: pytypes.SimpleNamespace(device=device))
    family, kind, style, sig = CASES[0]
    variant = f"{family}-{kind}-{style}"
    assert isinstance(kernels.KERNELS[family, kind][style]._cache, cuda_cache.DiskCache)  # attached at import
    compiled = _Kernel(kernels.KERNELS[family, kind][style].py_func, sig)  # NVVM here; bound on a GPU only
    cache = cuda_cache.DiskCache(variant)
    cache.save_overload(sig, compiled, cc=CC)
    (path,) = cache.written
    assert path.parent == tmp_path / "arrayinit"
    assert path.read_bytes().startswith(b"arrayinit-cuda-kernel-1\n")

    fresh = cuda_cache.DiskCache(variant)
    loaded = fresh.load_overload(sig, cc=CC)
    assert (fresh.hits, fresh.misses) == (1, 0)
    assert loaded.entry_name == compiled.entry_name
    assert loaded._codelibrary.get_asm_str(cc=CC) == compiled._codelibrary.get_asm_str(cc=CC)

    other_sig = (types.Array(f64, 1, "C"), *sig[1:])
    assert fresh.load_overload(sig, cc=(8, 0)) is None  # another device generation
    assert fresh.load_overload(other_sig, cc=CC) is None  # other argument types
    assert cuda_cache.DiskCache("fill32-0-flat").load_overload(sig, cc=CC) is None  # another variant
    with monkeypatch.context() as m:
        m.setattr(cuda_cache, "cache_key", lambda: "0.0.0-old")  # another version or other sources
        assert cuda_cache.DiskCache(variant).load_overload(sig, cc=CC) is None
    data = path.read_bytes()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # one bit of the payload changed
    assert cuda_cache.DiskCache(variant).load_overload(sig, cc=CC) is None
    assert fresh.misses == 2


def test_cuda_cache_key_covers_the_kernel_sources_and_versions():
    from importlib import metadata

    import arrayinit
    from arrayinit._targets import cuda_cache

    key = cuda_cache.cache_key()
    assert key.startswith(f"{arrayinit.__version__}-{metadata.version('numba-cuda')}-")
    hashed = {f.name for pattern in cuda_cache._SOURCES for f in cuda_cache._PACKAGE.glob(pattern)}
    assert {"philox.py", "samplers.py", "special.py", "cuda.py", "cuda_cache.py"} <= hashed
