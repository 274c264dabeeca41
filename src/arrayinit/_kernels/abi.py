"""The kernels' interface: distribution ids, the argument block of a CPU kernel call, the work split,
the variants and the store kinds.

Plain constants shared by the planner (``arrayinit._plan``), the engine and
the targets. This file is a kernel source: the kernel cache and the shipped
bitcode are stamped with its hash, so only what the kernels see lives here.
"""

# distribution ids shared with the targets
UNIFORM = 0
NORMAL = 1
TRUNCNORM = 2
TRUNCNORM_CENTRAL = 3
BITS = 4
UNIFORM_REL = 5
TRUNCNORM_LOCAL = 6
TRUNCNORM_WINDOW = 7

N_PARAMS = 12  # length of every sampler's parameter tuple

# the CPU kernels' work split (shared by ``arrayinit._engine`` and ``arrayinit._targets.cpu``):
# tasks of at most CHUNK elements, each FREE, then STORING by the one thread that won it, then DONE
CHUNK = 4096
SCRATCH_WORDS = 9 * CHUNK + 16  # per-thread scratch of a kernel call, uint32 words (8-byte aligned)
FREE = 0
STORING = 1
DONE = 2
# outputs of at least STREAM_FROM bytes whose pages are in memory are written by non-temporal stores of
# STREAM_LINE-byte lines: they would not stay in the core's caches, and such stores skip reading each line
# before writing it (the engine decides per call and passes A_STREAM; see ``arrayinit._engine.cpu.streamed``)
STREAM_FROM = 1 << 22
STREAM_LINE = 64

# the block of int64 arguments of a CPU kernel call (``arrayinit._targets.cpu``: C entry points)
(A_OUT, A_N_OUT, A_STARTS, A_N_ROWS, A_ROW_LEN, A_K0, A_K1, A_S0, A_S1, A_DIST, A_PARAMS, A_WORK, A_N_WORK) = range(13)
(A_SCRATCH, A_FINISH, A_OUT_AT, A_STREAM) = range(13, 17)
ARGS = 17

# the CPU kernels' variants: (family, output dtype); "fill32"/"fill64": float32/float64 arithmetic
CPU_FAMILIES = {
    "fill32": ("float32", "bfloat16", "float16"),
    "fill64": ("float64", "float32", "bfloat16", "float16"),
    "bits": ("uint32",),
}

# how the targets store a value: as it is computed, or as bfloat16 / float16 bit patterns
STORE_NATIVE = 0
STORE_BF16 = 1
STORE_F16 = 2
STORE_KIND = {"bfloat16": STORE_BF16, "float16": STORE_F16}  # other dtypes: STORE_NATIVE
