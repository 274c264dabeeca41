"""CPU target: Numba loops over the shared samplers, run by the engine's threads.

Only launch, loop and store live here. The work is cut into chunks of at most
``CHUNK`` consecutive elements of one row of the block; each chunk draws its
Philox blocks into a small buffer and transforms them into a float buffer,
which is then stored in the output format. Each phase is a simple loop that
LLVM vectorises, and the buffers are O(CHUNK) per thread: no full-size
temporary.

Every kernel is serial and is run at the same time by the calling thread and
by helper threads of ``arrayinit._engine``, each with its own scratch buffer.
They share a ``work`` array (int64): ``work[0]`` counts the tasks handed out,
``work[1 + t]`` is the state of task ``t`` (``FREE``, ``STORING``, ``DONE``).
A task is a run of chunks of at most ``CHUNK`` elements in all, contiguous in
the output. Each thread takes the next task from the counter, computes it into
its scratch, and stores it only if it wins the task's ``FREE -> STORING``
exchange. The calling thread (``finish=True``) then computes every task still
``FREE`` itself (a helper that took it may be descheduled), so no call waits
for a slow helper except during a store it has begun. The values never depend
on which thread computed them.

Each ``(family, dtype)`` variant of the kernels has C entry points, built
here. ``arrayinit._targets.native`` turns them into machine code once per
machine (from the bitcode ``tools/gen_cpu_ir.py`` writes from this module, or
by numba here), keeps it on disk, and loads and calls it without numba. This
module is imported only to compile a variant.
"""

import platform
import re
from typing import Any

import numpy as np
from llvmlite import ir
from numba import carray, njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from arrayinit._kernels.abi import (
    A_DIST,
    A_FINISH,
    A_K0,
    A_K1,
    A_N_OUT,
    A_N_ROWS,
    A_N_WORK,
    A_OUT,
    A_OUT_AT,
    A_PARAMS,
    A_ROW_LEN,
    A_S0,
    A_S1,
    A_SCRATCH,
    A_STARTS,
    A_STREAM,
    A_WORK,
    ARGS,
    CHUNK,
    CPU_FAMILIES,
    DONE,
    FREE,
    N_PARAMS,
    NORMAL,
    SCRATCH_WORDS,
    STORE_BF16,
    STORE_F16,
    STORE_KIND,
    STORE_NATIVE,
    STORING,
    STREAM_LINE,
    TRUNCNORM_CENTRAL,
    TRUNCNORM_LOCAL,
    TRUNCNORM_WINDOW,
    UNIFORM,
    UNIFORM_REL,
)
from arrayinit._kernels.floats import bf16_bits, f16_bits, wide_word
from arrayinit._kernels.ops import fma
from arrayinit._kernels.philox import philox_block
from arrayinit._kernels.samplers import (
    R_CENTRAL,
    is_normal_deep64,
    is_normal_tail32,
    std_normal32_central,
    std_normal32_tail,
    std_normal64_central,
    std_normal64_near,
    std_normal64_tail,
    truncnorm32,
    truncnorm32_central,
    truncnorm32_window,
    truncnorm64,
    truncnorm64_central,
    truncnorm64_window,
    truncnorm_local64,
    uniform32,
    uniform64,
    uniform_rel64,
)
from arrayinit._targets.linkage import entries, internalize, symbol

_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")

# --- atomics on the int64 ``work`` array (x86-64 and aarch64: lock-free) -------


def _work_slot(context, builder, signature, args):
    aryty = signature.args[0]
    ary = context.make_array(aryty)(context, builder, args[0])
    idx = context.cast(builder, args[1], signature.args[1], types.intp)
    return cgutils.get_item_pointer(context, builder, aryty, ary, [idx], wraparound=False)


def _is_work(arr, i) -> bool:
    return isinstance(arr, types.Array) and arr.dtype == types.int64 and isinstance(i, types.Integer)


@intrinsic
def _fetch_add(typingctx, arr, i, v):
    """``work[i] += v`` atomically; returns the old value."""
    if _is_work(arr, i) and isinstance(v, types.Integer):

        def codegen(context, builder, signature, args):
            val = context.cast(builder, args[2], signature.args[2], types.int64)
            return builder.atomic_rmw("add", _work_slot(context, builder, signature, args), val, "seq_cst")

        return types.int64(arr, i, v), codegen
    return None


@intrinsic
def _load(typingctx, arr, i):
    """``work[i]``, an atomic load."""
    if _is_work(arr, i):

        def codegen(context, builder, signature, args):
            return builder.load_atomic(_work_slot(context, builder, signature, args), "seq_cst", 8)

        return types.int64(arr, i), codegen
    return None


@intrinsic
def _store_done(typingctx, arr, i):
    """``work[i] = DONE``, an atomic release store: every earlier store (but non-temporal ones, see
    ``_fence``) is visible to a thread that reads DONE. A plain store on x86-64, which does not wait
    for the task's stores to reach the cache."""
    if _is_work(arr, i):

        def codegen(context, builder, signature, args):
            done = ir.Constant(ir.IntType(64), DONE)
            builder.store_atomic(done, _work_slot(context, builder, signature, args), "release", 8)
            return context.get_dummy_value()

        return types.none(arr, i), codegen
    return None


@intrinsic
def _begin_store(typingctx, arr, i):
    """``FREE -> STORING`` on ``work[i]``; True when this thread won the task."""
    if _is_work(arr, i):

        def codegen(context, builder, signature, args):
            i64 = ir.IntType(64)
            ptr = _work_slot(context, builder, signature, args)
            res = builder.cmpxchg(ptr, ir.Constant(i64, FREE), ir.Constant(i64, STORING), "seq_cst", "seq_cst")
            return builder.extract_value(res, 1)

        return types.boolean(arr, i), codegen
    return None


@intrinsic
def _address(typingctx, arr):
    """The address of ``arr``'s data, an int64."""
    if isinstance(arr, types.Array):

        def codegen(context, builder, signature, args):
            ary = context.make_array(signature.args[0])(context, builder, args[0])
            return builder.ptrtoint(ary.data, ir.IntType(64))

        return types.int64(arr), codegen
    return None


@intrinsic
def _stream_lines(typingctx, dst, src, first, count):
    """``dst[first : first + count] = src[first : first + count]`` by non-temporal stores of whole
    ``STREAM_LINE``-byte lines.

    ``dst[first]`` starts a line and the ``count`` elements span whole lines; ``src``
    (C-contiguous, the same dtype) may have any alignment. The stores bypass the caches
    (``vmovntdq`` on x86-64) and are weakly ordered: ``_fence`` before another thread may read them.
    """
    if isinstance(dst, types.Array) and dst.layout == "C" and src == dst:

        def codegen(context, builder, signature, args):
            i64 = ir.IntType(64)
            line = ir.VectorType(ir.IntType(32), STREAM_LINE // 4)
            aryty = signature.args[0]
            d = context.make_array(aryty)(context, builder, args[0])
            s = context.make_array(aryty)(context, builder, args[1])
            esize = ir.Constant(i64, context.get_abi_sizeof(context.get_data_type(aryty.dtype)))
            start = builder.mul(args[2], esize)
            nlines = builder.udiv(builder.mul(args[3], esize), ir.Constant(i64, STREAM_LINE))
            dp = builder.add(builder.ptrtoint(d.data, i64), start)
            sp = builder.add(builder.ptrtoint(s.data, i64), start)
            nontemporal = builder.module.add_metadata([ir.Constant(ir.IntType(32), 1)])
            with cgutils.for_range(builder, nlines) as loop:
                off = builder.mul(loop.index, ir.Constant(i64, STREAM_LINE))
                v = builder.load(builder.inttoptr(builder.add(sp, off), line.as_pointer()), align=1)
                st = builder.store(v, builder.inttoptr(builder.add(dp, off), line.as_pointer()), align=STREAM_LINE)
                st.set_metadata("nontemporal", nontemporal)
            return context.get_dummy_value()

        return types.none(dst, src, types.int64, types.int64), codegen
    return None


@intrinsic
def _fence(typingctx):
    """Orders the non-temporal stores before it with every later store: ``sfence`` on x86 (LLVM's
    ``fence seq_cst`` there is a locked instruction, which the architecture manuals do not promise
    to order them), a sequentially consistent fence elsewhere."""

    def codegen(context, builder, signature, args):
        if _X86:
            fn = builder.module.declare_intrinsic("llvm.x86.sse.sfence", fnty=ir.FunctionType(ir.VoidType(), []))
            builder.call(fn, [])
        else:
            builder.fence("seq_cst")
        return context.get_dummy_value()

    return types.none(), codegen


@njit
def _tasks(n_rows, row_len):
    """(chunks per row, chunks in all, chunks per task, tasks)."""
    cpr = (row_len + CHUNK - 1) // CHUNK
    total = n_rows * cpr
    per = max(1, CHUNK // row_len) if cpr == 1 else 1
    return cpr, total, per, (total + per - 1) // per


@njit
def _claim(work, ntasks, finish, scan):
    """The next task of this thread and the new scan position.

    From the shared counter first (``scan < 0``); when it is exhausted, the
    finishing thread takes every task still ``FREE`` in turn.
    """
    if scan < 0:
        t = _fetch_add(work, 0, 1)
        if t < ntasks:
            return t, -1
        if not finish:
            return ntasks, ntasks
        scan = 0
    while scan < ntasks and _load(work, 1 + scan) != FREE:
        scan += 1
    return scan, scan + 1


@njit
def _settle(work, t, ntasks, finish, scan):
    """Once task ``t`` is computed: whether this thread won its store, and its next task and scan position.

    The next task is claimed before the store begins: a locked instruction waits for every store before it.
    """
    won = _begin_store(work, 1 + t)
    nxt, scan = _claim(work, ntasks, finish, scan)
    return won, nxt, scan


@njit
def pending(work):
    """Number of tasks not yet ``DONE``."""
    k = 0
    for t in range(work.shape[0] - 1):
        if _load(work, 1 + t) != DONE:
            k += 1
    return k


@njit
def _draw(buf, g0, n, k0, k1, s0, s1):
    """Words of elements ``g0 .. g0+n-1`` into ``buf`` starting at ``g0 & 3``.

    Whole Philox blocks are drawn (the first and last may be partly outside
    the range); the return value is the position of element ``g0`` in ``buf``.
    Index arithmetic stays in int64 (``g0 < 2**63``) so the block loop has a
    plain trip count and vectorises.
    """
    b0 = g0 >> 2
    nb = ((g0 + n - 1) >> 2) - b0 + 1
    for j in range(nb):
        x0, x1, x2, x3 = philox_block(np.uint64(b0 + j), k0, k1, s0, s1)
        buf[4 * j] = np.uint32(x0)
        buf[4 * j + 1] = np.uint32(x1)
        buf[4 * j + 2] = np.uint32(x2)
        buf[4 * j + 3] = np.uint32(x3)
    return g0 & 3


@njit
def _draw_wide(hi, lo, g0, n, k0, k1, s0, s1, s1_lo):
    """``_draw`` of streams ``(s0, s1)`` into ``hi`` and ``(s0, s1_lo)`` into ``lo`` in one loop.

    The two Philox blocks of an element are independent chains of multiplies,
    which the core overlaps: on a 2-core AVX2 machine about 20% less time per
    word than two ``_draw`` loops, whose single chain waits on each round.
    """
    b0 = g0 >> 2
    nb = ((g0 + n - 1) >> 2) - b0 + 1
    for j in range(nb):
        x0, x1, x2, x3 = philox_block(np.uint64(b0 + j), k0, k1, s0, s1)
        y0, y1, y2, y3 = philox_block(np.uint64(b0 + j), k0, k1, s0, s1_lo)
        hi[4 * j] = np.uint32(x0)
        hi[4 * j + 1] = np.uint32(x1)
        hi[4 * j + 2] = np.uint32(x2)
        hi[4 * j + 3] = np.uint32(x3)
        lo[4 * j] = np.uint32(y0)
        lo[4 * j + 1] = np.uint32(y1)
        lo[4 * j + 2] = np.uint32(y2)
        lo[4 * j + 3] = np.uint32(y3)
    return g0 & 3


# Loops index slices from 0 so that LLVM sees non-negative, unit-stride
# indices and vectorises them (an ``a[k + i]`` index with an unknown ``k``
# keeps numba's negative-index wraparound and blocks vectorisation).


@njit
def _convert(out, vals, kind):
    """``out[:] = vals`` in the output format."""
    n = vals.shape[0]
    if kind == STORE_BF16:
        for i in range(n):
            out[i] = bf16_bits(vals[i])
    elif kind == STORE_F16:
        for i in range(n):
            out[i] = f16_bits(vals[i])
    else:
        for i in range(n):
            out[i] = vals[i]


@njit
def _store(out, vals, kind, stream, conv):
    """``out[:] = vals`` in the output format; with ``stream``, staged in ``conv`` and streamed."""
    dst = conv[: vals.shape[0]] if stream else out
    if _address(dst) != _address(vals):  # else the values are in the output's format already
        _convert(dst, vals, kind)
    if stream:
        _copy(out, dst, True)


@njit
def _chunk(c, cpr, row_len):
    """Chunk ``c`` -> (row, first index in the row, length); ``cpr`` chunks per row."""
    row = c // cpr
    j0 = (c - row * cpr) * CHUNK
    return row, j0, min(CHUNK, row_len - j0)


@njit
def _copy(dst, src, stream):
    """``dst[:] = src[:]``; with ``stream``, the whole 64-byte lines of ``dst`` by non-temporal stores."""
    n = dst.shape[0]
    h = n  # elements stored plainly before the streamed lines
    m = 0  # elements streamed
    if stream:
        e = dst.itemsize
        a = _address(dst)
        if a % e == 0:
            h = min(n, ((-a) & (STREAM_LINE - 1)) // e)
            m = (n - h) // (STREAM_LINE // e) * (STREAM_LINE // e)
    for i in range(h):
        dst[i] = src[i]
    if m > 0:
        _stream_lines(dst, src, h, m)
        _fence()
    for i in range(h + m, n):  # less than a line
        dst[i] = src[i]


@njit
def _tail_where(words, where):
    """The indices of the words that take the normal's tail (``is_normal_tail32``), in order, into ``where``;
    returns their count: the whole groups by ``_tail_indices``, the last few words one by one."""
    k = _tail_indices(words, where)  # eight words at a time
    r0 = words.shape[0] // _INDEX_GROUP * _INDEX_GROUP
    rest = words[r0:]
    for i in range(rest.shape[0]):  # branch-free: always written, kept when a tail word
        where[k] = r0 + i
        k += np.int64(is_normal_tail32(rest[i]))
    return k


@njit
def _transform32(vals, words, dist, p, where, tail_words, tail_vals):
    n = vals.shape[0]
    if dist == UNIFORM:
        for i in range(n):
            vals[i] = uniform32(words[i], p[0], p[1], p[6], p[7])
    elif dist == NORMAL:
        # normal32 in passes that vectorise: the log-free central window for every word,
        # then the 4.5% of tail words gathered, transformed together and put back
        for i in range(n):
            vals[i] = fma(p[5], std_normal32_central(words[i]), p[4])
        k = _tail_where(words, where)
        for j in range(k):
            tail_words[j] = words[where[j]]
        for j in range(k):
            tail_vals[j] = fma(p[5], std_normal32_tail(tail_words[j]), p[4])
        for j in range(k):
            vals[where[j]] = tail_vals[j]
    elif dist == TRUNCNORM_WINDOW:
        for i in range(n):
            vals[i] = truncnorm32_window(words[i], p[0], p[1], p[4], p[5], p[6], p[7])
    elif dist == TRUNCNORM_CENTRAL:
        for i in range(n):
            vals[i] = truncnorm32_central(words[i], p[0], p[1], p[2], p[4], p[5], p[6], p[7])
    else:
        for i in range(n):
            vals[i] = truncnorm32(words[i], p[0], p[1], p[2], p[4], p[5], p[6], p[7])


@njit
def _transform64(vals, hi, lo, dist, p, where, tail_hi, tail_lo, tail_vals):
    n = vals.shape[0]
    if dist == UNIFORM:
        for i in range(n):
            vals[i] = uniform64(wide_word(hi[i], lo[i]), p[0], p[1], p[6], p[7])
    elif dist == NORMAL:
        # as the float32 normal: the log-free window for every word, then the 4.5% of words whose high
        # word takes the tail found (by their high words), transformed together and put back
        for i in range(n):
            vals[i] = fma(p[5], std_normal64_central(wide_word(hi[i], lo[i])), p[4])
        k = _tail_where(hi, where)
        for j in range(k):
            tail_hi[j] = hi[where[j]]
            tail_lo[j] = lo[where[j]]
        # |z| <= 3.29 (all but 0.1% of values): Giles' central polynomial, vectorised; the others again
        for j in range(k):
            tail_vals[j] = fma(p[5], std_normal64_near(wide_word(tail_hi[j], tail_lo[j])), p[4])
        for j in range(k):
            if is_normal_deep64(tail_hi[j]):
                tail_vals[j] = fma(p[5], std_normal64_tail(wide_word(tail_hi[j], tail_lo[j])), p[4])
        for j in range(k):
            vals[where[j]] = tail_vals[j]
    elif dist == TRUNCNORM_WINDOW:
        for i in range(n):
            vals[i] = truncnorm64_window(wide_word(hi[i], lo[i]), p[0], p[1], p[4], p[5], p[6], p[7])
    elif dist == TRUNCNORM_CENTRAL:
        for i in range(n):
            vals[i] = truncnorm64_central(wide_word(hi[i], lo[i]), p[0], p[1], p[2], p[4], p[5], p[6], p[7])
    elif dist == UNIFORM_REL:
        for i in range(n):
            vals[i] = uniform_rel64(wide_word(hi[i], lo[i]), p[0], p[1], p[2], p[6], p[7])
    elif dist == TRUNCNORM_LOCAL:
        for i in range(n):
            w64 = wide_word(hi[i], lo[i])
            vals[i] = truncnorm_local64(w64, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11])
    else:
        for i in range(n):
            vals[i] = truncnorm64(wide_word(hi[i], lo[i]), p[0], p[1], p[2], p[4], p[5], p[6], p[7])


_INDEX_GROUP = 8  # words per step of ``_tail_indices``


# the lanes of each mask of 8 bits (lane i -> bit i), in order, padded with zeros: ``_tail_indices``' table
_LANES = [
    [i for i in range(_INDEX_GROUP) if m >> i & 1] + [0] * (_INDEX_GROUP - bin(m).count("1"))
    for m in range(1 << _INDEX_GROUP)
]


@intrinsic
def _tail_indices(typingctx, words, where):
    """The indices of the words of the whole groups of 8 of ``words`` whose ``w & 0x7fffffff`` is below
    ``R_CENTRAL`` (the normal's tail words), in order, into ``where``; returns their count ``k``.

    Each group is compared at once, its 8 results a bit mask ``m``; row ``m`` of a constant table holds
    the set lanes of ``m`` in order, and those 8 lanes plus the group's first index are stored at
    position ``k`` (at most the group's own first index), which then advances by the number of set
    bits. No branch depends on the words (a branch per tail word is mispredicted about once per
    group), and the code is plain IR on every target: ``where`` needs as many slots as there are
    words, and the slots from ``k`` on hold stale indices.
    """
    if words == types.Array(types.uint32, 1, "C") and where == types.Array(types.int32, 1, "C"):

        def codegen(context, builder, signature, args):
            i8, i32, i64 = ir.IntType(8), ir.IntType(32), ir.IntType(64)
            vec, lanes_ty = ir.VectorType(i32, _INDEX_GROUP), ir.VectorType(i8, _INDEX_GROUP)
            w_ary, x_ary = (context.make_array(t)(context, builder, a) for t, a in zip(signature.args, args))
            module = builder.module
            table_ty = ir.ArrayType(lanes_ty, len(_LANES))
            name = "arrayinit.tail_lanes"
            table = module.globals.get(name)
            if table is None:
                table = ir.GlobalVariable(module, table_ty, name)
                table.global_constant = True
                table.linkage = "internal"
                table.initializer = ir.Constant(table_ty, [ir.Constant(lanes_ty, row) for row in _LANES])
            groups = builder.lshr(builder.extract_value(w_ary.shape, 0), ir.Constant(i64, 3))
            ctpop = module.declare_intrinsic("llvm.ctpop", [i8], ir.FunctionType(i8, [i8]))
            low31 = ir.Constant(vec, [0x7FFFFFFF] * _INDEX_GROUP)
            bound = ir.Constant(vec, [int(R_CENTRAL)] * _INDEX_GROUP)
            zero = ir.Constant(vec, None)
            k_slot = cgutils.alloca_once_value(builder, ir.Constant(i64, 0))
            with cgutils.for_range(builder, groups) as loop:
                first = builder.mul(loop.index, ir.Constant(i64, _INDEX_GROUP))
                w = builder.load(builder.bitcast(builder.gep(w_ary.data, [first]), vec.as_pointer()), align=4)
                tail = builder.icmp_unsigned("<", builder.and_(w, low31), bound)
                # lane i -> bit i on a little-endian target (every target numba has): one vmovmskps on x86-64
                m = builder.bitcast(tail, i8)
                row = builder.gep(table, [ir.Constant(i32, 0), builder.zext(m, i64)])
                lanes = builder.zext(builder.load(row, align=_INDEX_GROUP), vec)
                start = builder.insert_element(zero, builder.trunc(first, i32), ir.Constant(i32, 0))
                index = builder.add(builder.shuffle_vector(start, zero, zero), lanes)
                k = builder.load(k_slot)
                builder.store(index, builder.bitcast(builder.gep(x_ary.data, [k]), vec.as_pointer()), align=4)
                builder.store(builder.add(k, builder.zext(builder.call(ctpop, [m]), i64)), k_slot)
            return builder.load(k_slot)

        return types.int64(words, where), codegen
    return None


# where the values of a task are computed in the scratch (uint32 words)
_VALS32 = CHUNK + 8
_VALS64 = 2 * CHUNK + 16
# fill64's tail buffers (uint32 words): the tail words' indices (int32), high and low words, values (float64)
_WHERE64 = 4 * CHUNK + 16
_TAIL_HI64 = 5 * CHUNK + 16
_TAIL_LO64 = 6 * CHUNK + 16
_TAIL_VALS64 = 7 * CHUNK + 16


@njit
def _fill32(out, kind, stream, conv, starts, row_len, k0, k1, s0, s1, dist, params, work, finish, scratch):
    cpr, total, per, ntasks = _tasks(starts.shape[0], row_len)
    words = scratch[: CHUNK + 8]
    vals = scratch[_VALS32 : _VALS32 + CHUNK].view(np.float32)
    where = scratch[2 * CHUNK + 8 : 3 * CHUNK + 8].view(np.int32)
    tail_words = scratch[3 * CHUNK + 8 : 4 * CHUNK + 8]
    tail_vals = scratch[4 * CHUNK + 8 : 5 * CHUNK + 8].view(np.float32)
    t, scan = _claim(work, ntasks, finish, -1)
    while t < ntasks:
        pos = 0
        o0 = -1
        for c in range(t * per, min(t * per + per, total)):
            row, j0, n = _chunk(c, cpr, row_len)
            if o0 < 0:
                o0 = row * row_len + j0
            off = _draw(words, starts[row] + j0, n, k0, k1, s0, s1)
            _transform32(vals[pos : pos + n], words[off : off + n], dist, params, where, tail_words, tail_vals)
            pos += n
        won, nxt, scan = _settle(work, t, ntasks, finish, scan)
        if won:
            _store(out[o0 : o0 + pos], vals[:pos], kind, stream, conv)
            _store_done(work, 1 + t)
        t = nxt


@njit
def _fill64(out, kind, stream, conv, starts, row_len, k0, k1, s0, s1, wide, dist, params, work, finish, scratch):
    cpr, total, per, ntasks = _tasks(starts.shape[0], row_len)
    s1_lo = s1 ^ np.uint64(0x80000000)  # stream s ^ 2**63
    hi = scratch[: CHUNK + 8]
    lo = scratch[CHUNK + 8 : 2 * CHUNK + 16]
    vals = scratch[_VALS64 : _VALS64 + 2 * CHUNK].view(np.float64)
    where = scratch[_WHERE64 : _WHERE64 + CHUNK].view(np.int32)
    tail_hi = scratch[_TAIL_HI64 : _TAIL_HI64 + CHUNK]
    tail_lo = scratch[_TAIL_LO64 : _TAIL_LO64 + CHUNK]
    tail_vals = scratch[_TAIL_VALS64 : _TAIL_VALS64 + 2 * CHUNK].view(np.float64)
    if not wide:  # float64 arithmetic for a narrower output: the low word of every element is 0
        for i in range(lo.shape[0]):
            lo[i] = 0
    t, scan = _claim(work, ntasks, finish, -1)
    while t < ntasks:
        pos = 0
        o0 = -1
        for c in range(t * per, min(t * per + per, total)):
            row, j0, n = _chunk(c, cpr, row_len)
            if o0 < 0:
                o0 = row * row_len + j0
            g0 = starts[row] + j0
            if wide:
                off = _draw_wide(hi, lo, g0, n, k0, k1, s0, s1, s1_lo)
            else:
                off = _draw(hi, g0, n, k0, k1, s0, s1)
            _transform64(
                vals[pos : pos + n],
                hi[off : off + n],
                lo[off : off + n],
                dist,
                params,
                where,
                tail_hi,
                tail_lo,
                tail_vals,
            )
            pos += n
        won, nxt, scan = _settle(work, t, ntasks, finish, scan)
        if won:
            _store(out[o0 : o0 + pos], vals[:pos], kind, stream, conv)
            _store_done(work, 1 + t)
        t = nxt


@njit
def _bits(out, stream, starts, row_len, k0, k1, s0, s1, work, finish, scratch):
    cpr, total, per, ntasks = _tasks(starts.shape[0], row_len)
    words = scratch[: CHUNK + 8]
    vals = scratch[CHUNK + 8 : 2 * CHUNK + 8]
    t, scan = _claim(work, ntasks, finish, -1)
    while t < ntasks:
        pos = 0
        o0 = -1
        for c in range(t * per, min(t * per + per, total)):
            row, j0, n = _chunk(c, cpr, row_len)
            if o0 < 0:
                o0 = row * row_len + j0
            off = _draw(words, starts[row] + j0, n, k0, k1, s0, s1)
            _copy(vals[pos : pos + n], words[off : off + n], False)
            pos += n
        won, nxt, scan = _settle(work, t, ntasks, finish, scan)
        if won:
            _copy(out[o0 : o0 + pos], vals[:pos], stream)
            _store_done(work, 1 + t)
        t = nxt


# --- C entry points -----------------------------------------------------------
#
# One per variant ``(family, dtype)``: ``family`` is "fill32" (float32
# arithmetic), "fill64" (float64 arithmetic) or "bits"; ``dtype`` the output
# dtype name. ``run(args)`` takes one block of ``ARGS`` int64 values (one
# argument to convert per call) and returns 0 (a numba error status, which the
# kernels never produce, gives -1):
#
#   OUT      (index ``A_OUT`` in ``arrayinit._plan``; the others alike) the
#            flat output storage (uint16 for 16-bit floats): its address, or
#            with OUT_AT = 1 the address where its address is stored (the
#            data field of a numpy array object)
#   N_OUT, STARTS (int64 first element of each run), N_ROWS, ROW_LEN,
#   K0, K1, S0, S1 (the 32-bit halves of key and stream), DIST,
#   PARAMS   ``N_PARAMS`` floats of the family's arithmetic,
#   WORK     the task states (int64), N_WORK = 1 + tasks,
#   SCRATCH  ``SCRATCH_WORDS`` uint32 words of the calling thread,
#   FINISH   0: a helper; 1: the calling thread, which finishes every task;
#            2: the calling thread alone (``work`` is zeroed first)
#   OUT_AT   1: OUT is where the output's address is stored
#   STREAM   1: write whole lines of the output by streaming stores (see
#            ``STREAM_FROM`` in ``arrayinit._plan``); 0: plain stores
#
# ``pending(work, n_work)`` counts the tasks not yet stored.

FAMILIES = CPU_FAMILIES
_STORAGE = {"float32": np.float32, "float64": np.float64, "bfloat16": np.uint16, "float16": np.uint16}
_STORAGE["uint32"] = np.uint32


def variants() -> list[tuple[str, str]]:
    """Every ``(family, dtype)`` with an entry point."""
    return [(family, dtype) for family, dtypes in FAMILIES.items() for dtype in dtypes]


@intrinsic
def _pointer(typingctx, addr, dtype):
    """The address ``addr`` (an int64) as a pointer to ``dtype`` values."""
    if isinstance(addr, types.Integer) and isinstance(dtype, types.NumberClass):
        ptr = types.CPointer(dtype.instance_type)

        def codegen(context, builder, signature, args):
            return builder.inttoptr(args[0], context.get_value_type(ptr))

        return ptr(addr, dtype), codegen
    return None


@njit
def _array(addr, n, dtype):
    return carray(_pointer(addr, dtype), (n,))


@njit
def _word(v):
    return np.uint64(v)


ENTRY_SIGNATURE = types.int64(types.CPointer(types.int64))


def entry_function(family: str, dtype: str):
    """The Python function of the entry point of a variant (to be compiled with ``ENTRY_SIGNATURE``)."""
    if family not in FAMILIES or dtype not in FAMILIES[family]:
        raise ValueError(f"no CPU kernel for family={family!r}, dtype={dtype!r}")
    kind = STORE_KIND.get(dtype, STORE_NATIVE)
    wide = dtype == "float64"
    storage = _STORAGE[dtype]
    arith = np.float64 if family == "fill64" else np.float32
    # values are streamed from where they are computed when that is the output's format, else
    # staged over the task's words (dead by then)
    direct = family != "bits" and kind == STORE_NATIVE and storage is arith
    conv_at = (_VALS64 if family == "fill64" else _VALS32) if direct else 0

    def run(args_p):
        a = carray(args_p, (ARGS,))
        out_addr = a[A_OUT]
        if a[A_OUT_AT] != 0:
            out_addr = _array(out_addr, 1, np.int64)[0]
        out = _array(out_addr, a[A_N_OUT], storage)
        starts = _array(a[A_STARTS], a[A_N_ROWS], np.int64)
        work = _array(a[A_WORK], a[A_N_WORK], np.int64)
        scratch = _array(a[A_SCRATCH], SCRATCH_WORDS, np.uint32)
        conv = _array(a[A_SCRATCH] + 4 * conv_at, CHUNK, storage)
        stream = a[A_STREAM] != 0
        finish = a[A_FINISH]
        if finish == 2:
            for i in range(work.shape[0]):
                work[i] = 0
        row_len = a[A_ROW_LEN]
        k0, k1, s0, s1 = _word(a[A_K0]), _word(a[A_K1]), _word(a[A_S0]), _word(a[A_S1])
        if family == "bits":
            _bits(out, stream, starts, row_len, k0, k1, s0, s1, work, finish != 0, scratch)
        else:
            params = _array(a[A_PARAMS], N_PARAMS, arith)
            dist = a[A_DIST]
            if family == "fill64":
                _fill64(
                    out,
                    kind,
                    stream,
                    conv,
                    starts,
                    row_len,
                    k0,
                    k1,
                    s0,
                    s1,
                    wide,
                    dist,
                    params,
                    work,
                    finish != 0,
                    scratch,
                )
            else:
                _fill32(
                    out, kind, stream, conv, starts, row_len, k0, k1, s0, s1, dist, params, work, finish != 0, scratch
                )
        return 0

    run.__name__ = run.__qualname__ = f"{family}_{dtype}"
    return run


def _pending(work_p, n_work):
    return pending(carray(work_p, (n_work,)))


PENDING_SIGNATURE = types.int64(types.CPointer(types.int64), types.int64)


def _library(family: str, dtype: str):
    """A numba code library holding the variant's two C entry points (finalized)."""
    from numba.core.compiler_lock import global_compiler_lock

    with global_compiler_lock:
        compiled: list[tuple[Any, str]] = []  # (numba compile result, entry point name)
        sources = [(ENTRY_SIGNATURE, entry_function(family, dtype), "run"), (PENDING_SIGNATURE, _pending, "pending")]
        for sig, fn, name in sources:
            compiled.append((njit(sig, nogil=True)(fn).overloads[sig.args], name))
        context = compiled[0][0].target_context
        module = context.create_module(symbol(family, dtype, "entries"))
        i64 = ir.IntType(64)
        for cres, name in compiled:
            fndesc = cres.fndesc
            callee = ir.Function(
                module, context.call_conv.get_function_type(fndesc.restype, fndesc.argtypes), fndesc.llvm_func_name
            )
            argtys = [context.get_value_type(t) for t in fndesc.argtypes]
            fn = ir.Function(module, ir.FunctionType(i64, argtys), symbol(family, dtype, name))
            builder = ir.IRBuilder(fn.append_basic_block("entry"))
            status, res = context.call_conv.call_function(builder, callee, fndesc.restype, fndesc.argtypes, fn.args)
            builder.ret(builder.select(status.is_error, ir.Constant(i64, -1), res))
        library = context.codegen().create_library(symbol(family, dtype, "library"))
        library.add_ir_module(module)
        for cres, _ in compiled:
            library.add_linking_library(cres.library)
        library.finalize()
    return library


def portable_bitcode(family: str, dtype: str) -> tuple[bytes, str, str]:
    """The variant's LLVM bitcode before any optimisation (numba with ``NUMBA_OPT=0``): (bitcode, triple, layout).

    Every definition but the two entry points is internal. ``tools/gen_cpu_ir.py``
    ships this bitcode with the package; ``arrayinit._targets.native`` optimises
    it for the machine it runs on.
    """
    from numba.core import config

    if int(config.OPT) != 0:  # type: ignore[attr-defined, unused-ignore]
        raise RuntimeError("portable_bitcode needs numba imported with NUMBA_OPT=0 (unoptimised code)")
    module = _library(family, dtype)._final_module
    internalize(module, entries(family, dtype))
    # drop what the entry points never reach (numba's Python wrappers): no optimisation, no CPU tuning
    import llvmlite.binding as llvm

    tm = llvm.Target.from_triple(module.triple).create_target_machine(opt=0)
    pb = llvm.create_pass_builder(tm, llvm.create_pipeline_tuning_options(speed_level=0))
    pm = pb.getModulePassManager()
    pm.add_global_dead_code_eliminate_pass()
    pm.add_strip_dead_prototype_pass()
    pm.run(module, pb)
    return _without_addresses(llvm, module).as_bitcode(), module.triple, module.data_layout


def _without_addresses(llvm, module):
    """The module with numba's per-process addresses (``numba.dynamic.globals.<address>``: the
    functions' environment, used only on error paths the kernels never take) set to null, and named
    by order of appearance, so the bitcode is the same from every run and holds no address."""
    text = str(module)
    names: dict[str, str] = {}

    def rename(m):
        return names.setdefault(m.group(0), f"@arrayinit.env.{len(names)}")

    text = re.sub(r"@numba\.dynamic\.globals\.[0-9a-f]+(?:\.\d+)*", rename, text)
    text = re.sub(
        r"^(@arrayinit\.env\.\d+ = internal global ptr) inttoptr \(i64 \d+ to ptr\)", r"\1 null", text, flags=re.M
    )
    if re.search(r"inttoptr \(i64 \d{6,} to ptr\)", text):
        raise RuntimeError("the kernel bitcode holds an address of this process")
    return llvm.parse_assembly(text)
