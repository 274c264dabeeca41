"""Static cost of the CUDA kernels' hot loop, without a GPU: SASS instructions per element.

Compiles a kernel specialised to one distribution and output format for sm_90
(NVVM), assembles it (ptxas), disassembles it (cuobjdump), finds the
grid-stride loop (the one backward branch) and counts the instructions in it.
A tile iteration produces 4 elements per thread, a flat item 4 elements, so
``per element = loop instructions / 4``, counted along the likely path (see
``_hot_loop_length``).

The issue-bound estimate divides an H200's instruction issue rate (132 SMs x
4 schedulers x 32 lanes x 1.98 GHz) by that count; real kernels also wait on
memory and on half-rate integer multiplies, so measure with
``benchmarks/gpu_check.py`` where a GPU is available.

Needs numba-cuda[cu12] (NVVM, ptxas) and ``pip install nvidia-cuda-cuobjdump nvidia-cuda-nvdisasm``
(or cuobjdump on PATH). Run: ``NUMBA_ENABLE_CUDASIM=0 python tools/cuda_sass_count.py``.
"""

from __future__ import annotations

import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import types as pytypes

import numba
import numpy as np

from arrayinit._kernels import abi

CC = (9, 0)
H200_ISSUE_PER_S = 132 * 4 * 32 * 1.98e9


def _tool(name: str, wheel_module: str, sub: str) -> str:
    try:
        mod = __import__(wheel_module, fromlist=["_"])
        for root in mod.__path__:
            for exe in pathlib.Path(root).glob(f"**/{sub}/{name}"):
                return str(exe)
    except ImportError:
        pass
    found = shutil.which(name)
    if found is None:
        sys.exit(f"{name} not found (pip install numba-cuda[cu12] nvidia-cuda-cuobjdump)")
    return found


def _hot_loop_length(sass: str) -> int:
    """Instructions along the likely path through the one grid-stride loop (0: no single loop).

    if/else (a conditional forward branch whose fall-through arm ends in an
    unconditional jump past the other arm): the shorter arm (the bounds-checked
    store of a tile at a run's edge, the tails of the normal distribution);
    an if without else: the guarded block runs (a store, a tile's values).
    """
    code = {}
    for addr, pred, op, target in re.findall(
        r"^\s+/\*([0-9a-f]{4,})\*/\s+(@!?P\d\s+)?([A-Z][A-Z0-9_.]*)(?:\s+0x([0-9a-f]+))?", sass, re.M
    ):
        code[int(addr, 16)] = (op, pred != "", int(target, 16) if op == "BRA" and target else None)
    back = [(a, t) for a, (op, _, t) in code.items() if op == "BRA" and t is not None and t < a]
    if len(back) != 1:
        return 0
    end, head = back[0]

    def length(pos: int, stop: int) -> int:
        n = 0
        while pos < stop:
            op, cond, target = code[pos]
            n += 1
            if op == "BRA" and target is not None and target > pos:
                if not cond:
                    pos = target
                    continue
                last = code.get(target - 16)
                if last and last[0] == "BRA" and not last[1] and last[2] is not None and last[2] > target:
                    n += min(length(pos + 16, target), length(target, last[2]))
                    pos = last[2]
                    continue
            pos += 16
        return n

    return length(head, end + 16)


def main() -> int:
    import numba.cuda.dispatcher as dispatcher

    # kernels that call device functions ask for the current device; offline, answer for sm_90
    dispatcher.get_current_device = lambda: pytypes.SimpleNamespace(compute_capability=CC)
    from numba import cuda, types

    from arrayinit._targets import cuda as target

    ptxas = _tool("ptxas", "nvidia.cuda_nvcc", "bin")
    cuobjdump = _tool("cuobjdump", "nvidia", "bin")

    def fixed(values, dist):
        @cuda.jit(device=True)
        def v(b, k0, k1, s0, s1, wide, _dist, p):
            return values(b, k0, k1, s0, s1, wide, dist, p)

        return v

    i64, u64 = types.int64, types.uint64
    cases = [
        ("truncated normal (+-2 sd)", "float32", target._values32, abi.TRUNCNORM_WINDOW, np.float32, "native"),
        ("truncated normal (+-2 sd)", "bfloat16", target._values32, abi.TRUNCNORM_WINDOW, np.uint16, "bf16"),
        ("truncated normal (central)", "float32", target._values32, abi.TRUNCNORM_CENTRAL, np.float32, "native"),
        ("truncated normal (central)", "bfloat16", target._values32, abi.TRUNCNORM_CENTRAL, np.uint16, "bf16"),
        ("normal", "float32", target._values32, abi.NORMAL, np.float32, "native"),
        ("uniform", "float32", target._values32, abi.UNIFORM, np.float32, "native"),
        ("bits", "uint32", target._values_bits, 0, np.uint32, "native"),
        ("truncated normal (+-2 sd)", "float64", target._values64, abi.TRUNCNORM_WINDOW, np.float64, "native"),
        ("normal", "float64", target._values64, abi.NORMAL, np.float64, "native"),
        ("uniform", "float64", target._values64, abi.UNIFORM, np.float64, "native"),
    ]
    stores = {"native": target._store_native, "bf16": target._store_bf16}
    print(f"{'distribution':<28}{'output':<10}{'kernel':<7}{'regs':>5}{'instr/elem':>12}{'issue bound G/s':>17}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, out_name, values, dist, out_dtype, store in cases:
            wide = values is target._values64
            tile_dtype = np.uint32 if values is target._values_bits else np.float64 if wide else np.float32
            kernels = target._kernels(fixed(values, dist), tile_dtype, stores[store])
            params = types.UniTuple(types.float64 if wide else types.float32, 12)  # abi.N_PARAMS
            axes = types.UniTuple(i64, target.RUN_AXES)  # the runs' extents and strides
            sig = (types.Array(numba.from_dtype(out_dtype), 1, "C"), i64, i64, axes, axes)
            sig += (i64, i64, i64, u64, u64, u64, u64, types.boolean, i64, params)
            for style, kernel in zip(["tiled", "flat"], kernels, strict=True):
                ptx = cuda.compile_ptx(kernel.py_func, sig, cc=CC)[0]
                src, cubin = pathlib.Path(tmp, "k.ptx"), pathlib.Path(tmp, "k.cubin")
                src.write_text(ptx)
                r = subprocess.run(
                    [ptxas, "-arch=sm_90", "-O3", "-v", str(src), "-o", str(cubin)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                regs_found = re.search(r"Used (\d+) registers", r.stderr)
                regs = regs_found.group(1) if regs_found else "?"
                sass = subprocess.run([cuobjdump, "-sass", str(cubin)], capture_output=True, text=True, check=True)
                per_elem = _hot_loop_length(sass.stdout) / 4
                if per_elem == 0:
                    print(f"{name:<28}{out_name:<10}{style:<7}{regs:>5}  (no single loop found)")
                    continue
                rate = H200_ISSUE_PER_S / per_elem / 1e9
                print(f"{name:<28}{out_name:<10}{style:<7}{regs:>5}{per_elem:>12.1f}{rate:>17.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
