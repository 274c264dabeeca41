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
        f"NVVM is not available ({type(e).__name__}: {e}); the ptx session installs numba-cuda[cu12]",
        allow_module_level=True,
    )

from numba import types  # noqa: E402

CC = (9, 0)
PLAIN_FLOAT_OP = re.compile(r"^\s*(add|sub|mul|mad)(\.f32|\.f64|\.ftz\.f32)\s", re.M)


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
STARTS = types.Array(i64, 1, "C")  # a block of several runs (a numba device array)
ONE_RUN = types.UniTuple(i64, 1)  # a block that is one run


def _sig(out, params, starts):
    return (types.Array(out, 1, "C"), starts, i64, i64, i64, u64, u64, u64, u64, types.boolean, i64, params)


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
    (family, kind, style, _sig(out, params, starts))
    for style in [0, 1]  # tiled, flat
    for starts in [ONE_RUN, STARTS]
    for family, kind, out, params in FORMATS
    if starts is ONE_RUN or (family, kind) == ("fill32", NATIVE)  # several runs: other indexing, same arithmetic
]
RUNS = {True: "one_run", False: "runs"}
IDS = [
    "-".join([f, ["native", "bf16", "f16"][k], str(sig[0].dtype), ["tiled", "flat"][st], RUNS[sig[1] is ONE_RUN]])
    for f, k, st, sig in CASES
]


def _ptxas():
    """ptxas from the nvidia-cuda-nvcc wheel numba-cuda[cu12] installs, else one on PATH."""
    try:
        import nvidia.cuda_nvcc as nvcc

        exe = pathlib.Path(next(iter(nvcc.__path__))) / "bin" / "ptxas"
        if exe.exists():
            return str(exe)
    except ImportError:
        pass
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
def test_kernel_assembles_for_sm90_without_local_memory(compiled, family, kind, style, sig, tmp_path):
    """ptxas: no spills, no stack frame (Philox state and samples stay in registers)."""
    exe = _ptxas()
    if exe is None:
        pytest.skip("no ptxas: the ptx session installs numba-cuda[cu12], whose nvcc wheel has it")
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
