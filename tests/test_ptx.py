"""Every CUDA kernel compiles to PTX for sm_90 without a GPU, and its float arithmetic is explicitly rounded.

CPU/GPU float equality needs the GPU to round exactly where the CPU does.
NVVM and ptxas may fuse a plain ``mul`` feeding an ``add`` into an ``fma``;
instructions with an explicit rounding mode (``mul.rn``, ``add.rn``,
``fma.rn``) are never fused. So the check is: no plain float add/sub/mul in
the PTX at all, every multiply-add an explicit ``fma.rn``.
"""

import os
import re
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
STARTS = types.Array(i64, 1, "C", readonly=True)


def _sig32(out):
    return (types.Array(out, 1, "C"), i64, STARTS, i64, i64, u64, u64, u64, u64, i64, types.UniTuple(f32, 8))


def _sig64(out):
    return (
        types.Array(out, 1, "C"),
        i64,
        STARTS,
        i64,
        i64,
        u64,
        u64,
        u64,
        u64,
        types.boolean,
        i64,
        types.UniTuple(f64, 8),
    )


CASES = [
    ("fill32", _sig32(f32)),
    ("fill32", _sig32(u16)),
    ("fill64", _sig64(f64)),
    ("fill64", _sig64(f32)),
    ("fill64", _sig64(u16)),
    ("bits", (types.Array(u32, 1, "C"), STARTS, i64, i64, u64, u64, u64, u64)),
]


@pytest.mark.parametrize(("name", "sig"), CASES, ids=[f"{n}-{s[0].dtype}" for n, s in CASES])
def test_kernel_compiles_to_sm90_ptx_with_explicit_rounding(kernels, name, sig):
    kernel = getattr(kernels, name)
    ptx, _ = cuda.compile_ptx(kernel.py_func, sig, cc=CC)
    assert ".target sm_90" in ptx
    plain = PLAIN_FLOAT_OP.findall(ptx)
    assert plain == [], f"plain (fusable) float instructions in {name}: {plain}"
    assert "mul.hi.u32" in ptx  # Philox multiplies as 32-bit hi/lo, not emulated 64-bit
    if name != "bits":
        assert "fma.rn.f" in ptx
        assert ("mul.rn.f32" in ptx) or ("mul.rn.f64" in ptx)
