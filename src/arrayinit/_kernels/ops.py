"""Arithmetic primitives whose rounding every target reproduces.

``fma(a, b, c)`` is ``a * b + c`` with a single rounding (IEEE-754
fusedMultiplyAdd). The samplers use it explicitly for every multiply-add, so
the CPU (``llvm.fma``: one ``vfmadd`` instruction on x86-64 with FMA3) and CUDA
(``fma.rn``) compute the same floats, and no compiler is free to contract or
not contract a separate multiply and add differently on each target.
"""

from llvmlite import ir
from numba import types
from numba.extending import intrinsic


@intrinsic
def fma(typingctx, a, b, c):
    """Fused multiply-add of three floats of the same type."""
    if isinstance(a, types.Float) and a == b == c:

        def codegen(context, builder, signature, args):
            ty = args[0].type
            fn = builder.module.declare_intrinsic("llvm.fma", [ty], ir.FunctionType(ty, [ty, ty, ty]))
            return builder.call(fn, args)

        return a(a, b, c), codegen
    return None
