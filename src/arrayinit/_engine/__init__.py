"""Runs a FillPlan on a target: ``run_cpu`` into host memory, ``run_cuda``/``run_cuda_library`` into device
memory. Nothing here imports numba on the CPU path (the kernels are loaded as machine code).

- ``args``: the kernel arguments of a plan (runs, key words, typed parameters);
- ``pool``: the helper threads and each thread's call state;
- ``cpu``: CPU runs (tasks, pieces, streaming stores, nested runs);
- ``cuda``: CUDA runs on a library's device and stream.

The CPU target is run by the calling thread together with a few helper
threads owned by the engine (not numba's threading layer): the kernels are
serial and ``nogil``; the calling thread and the helpers take tasks from a
shared counter, and the calling thread finishes every task no helper has
stored yet. A helper that is slow to wake up or descheduled (a busy machine)
never delays a call: the call degrades to the time of one thread. Any number
of Python threads may call at once. A forked child starts without helpers and
makes its own; a fork waits for a kernel load or a numba compilation running
in another thread, so a child forked at any moment can generate.

The values never depend on the number of threads nor on who computed what.
"""

from arrayinit._engine.cpu import kernel, libc_function, run_cpu, variant
from arrayinit._engine.cuda import run_cuda, run_cuda_library
from arrayinit._engine.pool import num_threads

__all__ = ["kernel", "libc_function", "num_threads", "run_cpu", "run_cuda", "run_cuda_library", "variant"]
