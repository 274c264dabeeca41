"""Arithmetic primitives whose rounding every target reproduces.

Every floating-point ``+``, ``-``, ``*`` and multiply-add of the samplers goes
through these functions:

- ``fma(a, b, c)``: ``a * b + c`` with one rounding (``llvm.fma``: ``vfmadd``
  on x86-64 with FMA3; ``fma.rn`` on CUDA);
- ``mul``, ``add``, ``sub``, ``div``: one correctly rounded operation each. On
  the CPU they are plain LLVM ``fmul``/``fadd``/``fsub``/``fdiv`` (numba never
  contracts them with ``fastmath=False``); on CUDA they call libdevice's
  ``__nv_fmul_rn``, ``__nv_fadd_rn``, ``__nv_ddiv_rn``... which compile to
  ``mul.rn``/``add.rn``/``div.rn``: PTX instructions with an explicit rounding
  mode are never fused by NVVM or ptxas.

So the CPU and CUDA targets evaluate the same expression tree with the same
roundings, and compute the same floats.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


def _is_cuda(context) -> bool:
    return "cuda" in type(context).__module__


def _same_floats(*tys) -> bool:
    return isinstance(tys[0], types.Float) and all(t == tys[0] for t in tys)


@intrinsic
def fma(typingctx, a, b, c):
    """Fused multiply-add of three floats of the same type."""
    if _same_floats(a, b, c):

        def codegen(context, builder, signature, args):
            ty = args[0].type
            fn = builder.module.declare_intrinsic("llvm.fma", [ty], ir.FunctionType(ty, [ty, ty, ty]))
            return builder.call(fn, args)

        return a(a, b, c), codegen
    return None


def _fma_fn(builder, ty):
    return builder.module.declare_intrinsic("llvm.fma", [ty], ir.FunctionType(ty, [ty, ty, ty]))


def _coefficient(context, builder, table, i):
    """Element ``i`` of a constant tuple. On the CPU behind ``llvm.arithmetic.fence``: the same value,
    but not a constant to the code generator, so a loop keeps it in a register or a stack slot (a
    memory operand of the fused multiply-add) instead of loading it from the constant pool in every
    iteration (two instructions each in the JIT's large code model). NVVM has no such fence, and
    wants immediate operands."""
    c = builder.extract_value(table, i)
    if _is_cuda(context):
        return c
    fence = builder.module.declare_intrinsic("llvm.arithmetic.fence", [c.type], ir.FunctionType(c.type, [c.type]))
    return builder.call(fence, [c])


def _is_table(coeffs, t) -> bool:
    return isinstance(coeffs, types.UniTuple) and isinstance(t, types.Float) and coeffs.dtype == t


@intrinsic
def horner(typingctx, coeffs, t):
    """``coeffs[0] t**(n-1) + ... + coeffs[n-1]`` by Horner's rule: ``p = fma(p, t, c)``, written out.

    The same fused multiply-adds as a loop over the tuple, emitted unrolled: a
    loop indexing a tuple by its counter becomes a ``switch`` that LLVM may
    leave rolled, which keeps the element loop around it scalar.
    """
    if _is_table(coeffs, t):

        def codegen(context, builder, signature, args):
            table, x = args
            fn = _fma_fn(builder, x.type)
            p = _coefficient(context, builder, table, 0)
            for i in range(1, signature.args[0].count):
                p = builder.call(fn, [p, x, _coefficient(context, builder, table, i)])
            return p

        return t(coeffs, t), codegen
    return None


@intrinsic
def horner_select(typingctx, tables, ends, w, t):
    """Horner's rule (``horner``) in ``t`` with the coefficients of table ``j`` for the first ``j`` with
    ``w < ends[j]`` (the last table when there is none), selected coefficient by coefficient.

    No branch: the coefficients are picked by ``select`` instructions, so loops
    around it vectorise. The tables have one length (pad shorter ones with
    leading zeros: ``fma(0, t, c) == c`` gives the same values).
    """
    if (
        isinstance(tables, types.UniTuple)
        and _is_table(tables.dtype, t)
        and _is_table(ends, t)
        and ends.count + 1 == tables.count
        and w == t
    ):

        def codegen(context, builder, signature, args):
            tabs, bounds, wv, x = args
            n_tab, n_coef = signature.args[0].count, signature.args[0].dtype.count
            below = [builder.fcmp_ordered("<", wv, builder.extract_value(bounds, j)) for j in range(n_tab - 1)]
            rows = [builder.extract_value(tabs, j) for j in range(n_tab)]

            def coefficient(i):
                c = _coefficient(context, builder, rows[-1], i)
                for j in range(n_tab - 2, -1, -1):
                    c = builder.select(below[j], _coefficient(context, builder, rows[j], i), c)
                return c

            fn = _fma_fn(builder, x.type)
            p = coefficient(0)
            for i in range(1, n_coef):
                p = builder.call(fn, [p, x, coefficient(i)])
            return p

        return t(tables, ends, w, t), codegen
    return None


def _binary(name: str, cpu_op: str, cuda_f32: str, cuda_f64: str, negate_second: bool = False):
    def typer(typingctx, a, b):
        if not _same_floats(a, b):
            return None

        def codegen(context, builder, signature, args):
            x, y = args
            if _is_cuda(context):
                ty = x.type
                name = cuda_f32 if signature.args[0].bitwidth == 32 else cuda_f64
                fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ty, [ty, ty]), name)
                if negate_second:
                    # -0.0 - y is an exact negation (NVVM's LLVM 7 IR has no fneg)
                    y = builder.fsub(ir.Constant(ty, -0.0), y)
                return builder.call(fn, [x, y])
            return getattr(builder, cpu_op)(x, y)

        return a(a, b), codegen

    typer.__name__ = typer.__qualname__ = name
    return typer


mul = intrinsic(_binary("arrayinit_mul", "fmul", "__nv_fmul_rn", "__nv_dmul_rn"))
mul.__doc__ = "``a * b``, correctly rounded, never fused."
add = intrinsic(_binary("arrayinit_add", "fadd", "__nv_fadd_rn", "__nv_dadd_rn"))
add.__doc__ = "``a + b``, correctly rounded, never fused."
# a - b == a + (-b) exactly (negation is exact), and libdevice has no double-precision sub_rn
sub = intrinsic(_binary("arrayinit_sub", "fsub", "__nv_fadd_rn", "__nv_dadd_rn", negate_second=True))
sub.__doc__ = "``a - b``, correctly rounded, never fused."
div = intrinsic(_binary("arrayinit_div", "fdiv", "__nv_fdiv_rn", "__nv_ddiv_rn"))
div.__doc__ = (
    "``a / b``, correctly rounded (IEEE: ``b == 0`` gives an infinity or NaN). Unlike numba's ``/``, no "
    "ZeroDivisionError check: the branch that raises it keeps CPU loops scalar."
)


@intrinsic
def on_cuda(typingctx):
    """A compile-time constant: True in code compiled for CUDA, False on the CPU.

    For choosing between two evaluation orders of the same operations (the
    same floats either way) that suit one target better than the other. In
    the CUDA simulator, ``njit`` functions run their CPU compilation, so it is
    False there; it cannot be called from plain Python (nor from a
    ``cuda.jit`` device function run by the simulator).
    """

    def codegen(context, builder, signature, args):
        return context.get_constant(types.boolean, _is_cuda(context))

    return types.boolean(), codegen


@intrinsic
def mulhilo32(typingctx, a, b):
    """``(hi, lo)`` 32-bit halves of the 64-bit product of two 32-bit values held in uint64.

    CPU: one 64-bit multiply of zero-extended operands (``vpmuludq`` when
    vectorised). CUDA: ``mul.lo.u32`` and ``mul.hi.u32`` (libdevice
    ``__nv_umulhi``) instead of an emulated 64-bit multiply.
    """
    if a == types.uint64 and b == types.uint64:
        ret = types.UniTuple(types.uint64, 2)

        def codegen(context, builder, signature, args):
            i32, i64 = ir.IntType(32), ir.IntType(64)
            x = builder.trunc(args[0], i32)
            y = builder.trunc(args[1], i32)
            if _is_cuda(context):
                fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(i32, [i32, i32]), "__nv_umulhi")
                hi = builder.zext(builder.call(fn, [x, y]), i64)
                lo = builder.zext(builder.mul(x, y), i64)
            else:
                p = builder.mul(builder.zext(x, i64), builder.zext(y, i64))
                hi = builder.lshr(p, ir.Constant(i64, 32))
                lo = builder.and_(p, ir.Constant(i64, 0xFFFFFFFF))
            return context.make_tuple(builder, ret, [hi, lo])

        return ret(a, b), codegen
    return None


@intrinsic
def sqrt(typingctx, a):
    """Square root of a float, correctly rounded.

    CPU: ``llvm.sqrt`` (``vsqrtps``/``vsqrtpd``, which loops vectorise; numba's
    ``math.sqrt`` calls libm's ``sqrtf``, whose errno handling keeps loops
    scalar). CUDA: libdevice's ``__nv_sqrtf``/``__nv_sqrt``, as ``math.sqrt``.
    Negative inputs give NaN on both.
    """
    if isinstance(a, types.Float):

        def codegen(context, builder, signature, args):
            ty = args[0].type
            fnty = ir.FunctionType(ty, [ty])
            if _is_cuda(context):
                name = "__nv_sqrtf" if signature.args[0].bitwidth == 32 else "__nv_sqrt"
                fn = cgutils.get_or_insert_function(builder.module, fnty, name)
            else:
                fn = builder.module.declare_intrinsic("llvm.sqrt", [ty], fnty)
            return builder.call(fn, args)

        return a(a), codegen
    return None
