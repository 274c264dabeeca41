"""Reliability of the CPU engine: threads, fork, thread-count invariance, imports, caching."""

import json
import multiprocessing as mp
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import arrayinit.random as ar
from arrayinit._kernels import abi
from tests.conftest import copy_package, run_in

_THREADS_SCRIPT = """
import hashlib, json
import numba
import arrayinit
import arrayinit.random as ar
from arrayinit import _engine

out = {}
for k in (1, 2, 3, 4):
    numba.set_num_threads(k)
    assert _engine.num_threads() == k
    arrays = [ar.truncated_normal((3, 70_001), seed=5, dtype=d) for d in ("float32", "float64", "bfloat16")]
    arrays += [ar.bits((3, 70_001), seed=5), ar.uniform(2**20 + 3, seed=6), ar.normal((1000, 37), seed=7)]
    arrays.append(ar.normal((5, 9, 3000), seed=8, full_shape=(9, 9, 4096), offset=(2, 0, 1000)))
    out[k] = [hashlib.sha256(a.tobytes()).hexdigest() for a in arrays]
    out[f"helpers{k}"] = len(_engine.pool.get_pool()._threads)
print(json.dumps(out))
"""


def test_same_values_with_one_to_four_threads():
    out = json.loads(_run_py(_THREADS_SCRIPT, NUMBA_NUM_THREADS="4"))
    for k in (2, 3, 4):
        assert out[str(k)] == out["1"], k
    # the engine's helpers follow numba.set_num_threads (the calling thread is one of the threads)
    assert [out[f"helpers{k}"] for k in (1, 2, 3, 4)] == [0, 1, 2, 3]


def test_thread_count_is_numbas_without_starting_its_threading_layer():
    out = _run_py(
        """
        import arrayinit.random as ar
        from arrayinit import _engine
        from numba.np.ufunc import parallel
        ar.normal(2**20, seed=0)
        print(_engine.num_threads(), parallel._is_initialized)
        """,
        NUMBA_NUM_THREADS="3",
    )
    assert out.split() == ["3", "False"]


def _run_kernel(n, work, finish, out=None, stream=0):
    """Runs the float32 truncated normal kernel (seed 11) on ``work`` as one thread; returns ``out``.

    ``stream``: 1 writes whole lines by streaming stores (the engine asks for them for large ``out=``
    arrays only; the kernels take them at any size).
    """
    from arrayinit import _engine, _plan

    d, c64, p = _plan.truncnorm_params(0.0, 1.0, -2.0, 2.0, -2.0, 2.0, "float32")
    plan = _plan.FillPlan((n,), (n,), (0,), d, "float32", 11, 0, c64, p)
    starts, row_len, starts_addr = _engine.args.layout(plan.shape, plan.full_shape, plan.offset)
    k0, k1 = _engine.args.words64(plan.seed)
    s0, s1 = _engine.args.words64(plan.stream)
    _, params_addr = _engine.args.typed_params(p, False)
    out = np.zeros(n, np.float32) if out is None else out
    kernel = _engine.kernel(*_engine.variant(plan))
    vals = [out.ctypes.data, n, starts_addr, starts.shape[0], row_len, k0, k1, s0, s1, d, params_addr]
    vals += [work.ctypes.data, work.shape[0], 0, 0, 0, stream]
    assert _engine.pool.call(kernel.run, vals, int(finish), _engine.pool.CallState()) == 0
    return out


@pytest.mark.parametrize("stream", [0, 1])
def test_calling_thread_finishes_tasks_a_helper_took_and_never_stored(stream):
    from arrayinit import _engine

    n = 10 * abi.CHUNK + 17
    expected = ar.truncated_normal(n, seed=11)
    tasks = _engine.cpu.task_count(1, n)
    work = np.zeros(1 + tasks, np.int64)
    work[0] = 7  # tasks 0..6 were handed to a helper that was descheduled before storing them
    out = _run_kernel(n, work, True, stream=stream)
    np.testing.assert_array_equal(out, expected)
    assert _engine.kernel("fill32", "float32").pending(work) == 0
    assert (work[1:] == abi.DONE).all()


@pytest.mark.parametrize("stream", [0, 1])
def test_a_task_is_stored_once_and_only_by_its_winner(stream):
    from arrayinit import _engine

    chunk = abi.CHUNK
    n = 6 * chunk
    work = np.zeros(1 + _engine.cpu.task_count(1, n), np.int64)
    work[1 + 2] = abi.DONE  # task 2 was stored by another thread: never written again
    work[1 + 4] = abi.STORING  # task 4 is being stored by another thread
    out = _run_kernel(n, work, True, stream=stream)
    assert (out[2 * chunk : 3 * chunk] == 0).all()
    assert (out[4 * chunk : 5 * chunk] == 0).all()
    assert _engine.kernel("fill32", "float32").pending(work) == 1
    expected = ar.truncated_normal(n, seed=11)
    keep = np.ones(n, bool)
    keep[2 * chunk : 3 * chunk] = keep[4 * chunk : 5 * chunk] = False
    np.testing.assert_array_equal(out[keep], expected[keep])


@pytest.mark.parametrize("stream", [0, 1])
def test_helpers_alone_compute_everything(stream):
    from arrayinit import _engine

    n = 5 * abi.CHUNK + 1
    work = np.zeros(1 + _engine.cpu.task_count(1, n), np.int64)
    out = _run_kernel(n, work, False, stream=stream)
    np.testing.assert_array_equal(out, ar.truncated_normal(n, seed=11))
    assert _engine.kernel("fill32", "float32").pending(work) == 0


@pytest.mark.parametrize(
    ("n_rows", "row_len"), [(1, 1), (1, 4096), (1, 4097), (3, 5), (5000, 3), (7, 4096), (2, 12289), (1000, 1365)]
)
def test_task_count_matches_the_kernels(n_rows, row_len):
    from arrayinit import _engine

    expected = ar.bits((n_rows, row_len), seed=2, full_shape=(n_rows + 1, row_len + 1), offset=(1, 1))
    starts = np.ascontiguousarray((np.arange(n_rows, dtype=np.int64) + 1) * (row_len + 1) + 1)
    out = np.zeros(n_rows * row_len, np.uint32)
    work = np.zeros(1 + _engine.cpu.task_count(n_rows, row_len), np.int64)
    kernel = _engine.kernel("bits", "uint32")
    vals = [out.ctypes.data, out.size, starts.ctypes.data, n_rows, row_len, 2, 0, 0, 0, abi.BITS, 0]
    vals += [work.ctypes.data, work.shape[0], 0, 0, 0, 0]
    assert _engine.pool.call(kernel.run, vals, 1, _engine.pool.CallState()) == 0
    np.testing.assert_array_equal(out, expected.reshape(-1))
    assert work[0] >= work.shape[0] - 1  # every task was handed out
    assert kernel.pending(work) == 0


def test_many_python_threads_at_once_mixed_sizes_and_dtypes():
    cases = [((50_000,), "float32"), ((3, 40_000), "bfloat16"), ((2**17,), "float64"), ((300,), "float32")]
    expected = {(s, i): ar.truncated_normal(cases[i][0], seed=s, dtype=cases[i][1]) for s in range(8) for i in range(4)}
    errors = []
    barrier = threading.Barrier(8)

    def work(s):
        try:
            barrier.wait()
            for r in range(6):
                i = (s + r) % 4
                got = ar.truncated_normal(cases[i][0], seed=s, dtype=cases[i][1])
                if got.tobytes() != expected[s, i].tobytes():
                    errors.append(f"seed {s} case {i} differs")
        except Exception as e:  # collected and asserted below
            errors.append(repr(e))

    threads = [threading.Thread(target=work, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert all(not t.is_alive() for t in threads)
    assert errors == []


_STREAMED = [
    ("truncated_normal", "float32", {}),  # float32 arithmetic
    ("truncated_normal", "bfloat16", {}),  # 16-bit patterns staged in the scratch
    ("normal", "float16", {}),
    ("truncated_normal", "float64", {}),  # float64 arithmetic, two words per value
    ("truncated_normal", "float32", {"lower": 30.0, "upper": 31.0}),  # float64 arithmetic, float32 output
    ("bits", None, {}),
]


@pytest.mark.parametrize(("name", "dtype", "kw"), _STREAMED)
@pytest.mark.parametrize(("shift", "extra"), [(0, 3), (0, 1001), (1, 3), (7, 1001), ("bytes", 3)])
def test_outputs_written_by_streaming_stores_hold_the_same_values(name, dtype, kw, shift, extra):
    from arrayinit import _engine

    fn = getattr(ar, name)
    args = dict(kw, dtype=dtype) if dtype else dict(kw)
    itemsize = fn(1, seed=0, **args).itemsize
    # above the threshold; the last task holds ``extra`` values (``extra < CHUNK``)
    n = abi.STREAM_FROM // itemsize + extra
    piece = abi.STREAM_FROM // itemsize // 3  # computed below the threshold, by plain stores
    expected = np.concatenate(
        [fn(min(piece, n - i), seed=4, full_shape=(n,), offset=(i,), **args) for i in range(0, n, piece)]
    )
    raw = np.full((n + 32) * itemsize + 64, 0, np.uint8)  # written: its pages are in memory
    start = -raw.ctypes.data % 64  # the first byte on a 64-byte line
    if shift == "bytes":  # an address that is not a multiple of the item size: plain stores
        start += 1
    else:  # ``shift`` values before the output on its first line
        start += shift * itemsize
    out = raw[start : start + n * itemsize].view(expected.dtype)
    assert _engine.cpu.streamed(out.view(np.uint8)) == 1
    fn(n, seed=4, out=out, **args)
    np.testing.assert_array_equal(out.view(np.uint8), expected.view(np.uint8))
    assert not raw[:start].any()
    assert not raw[start + n * itemsize :].any()


def test_streaming_stores_for_large_outputs_in_memory_only(monkeypatch):
    import mmap

    from arrayinit import _engine

    packed = _engine.pool.ARGS_BLOCK
    seen = []

    class Spy:
        size = packed.size

        def pack_into(self, buf, offset, *vals):
            seen.append(vals[abi.A_STREAM])
            packed.pack_into(buf, offset, *vals)

    monkeypatch.setattr(_engine.pool, "ARGS_BLOCK", Spy())
    n = abi.STREAM_FROM // 4 + 5
    expected = ar.truncated_normal(n, seed=3)
    seen.clear()
    written = np.full(n, np.nan, np.float32)  # written: its pages are in memory (np.zeros would not write them)
    ar.truncated_normal(n, seed=3, out=written)
    assert set(seen) == {1}
    seen.clear()
    new = mmap.mmap(-1, 4 * n)  # pages the system has not yet provided: plain stores
    untouched = np.frombuffer(new, np.float32)
    ar.truncated_normal(n, seed=3, out=untouched)
    assert set(seen) == {0}
    seen.clear()
    ar.truncated_normal(n - 10, seed=3, out=written[: n - 10])  # below the threshold
    assert set(seen) == {0}
    np.testing.assert_array_equal(written, expected)
    np.testing.assert_array_equal(untouched, expected)
    del untouched
    new.close()


def _child(q):
    q.put(ar.truncated_normal((100_000,), seed=9).tobytes())


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method is Linux-only here")
# jax, once a test of the same process has started its backend, warns at every fork (a hook it registers)
@pytest.mark.filterwarnings("ignore:os.fork\\(\\) was called:RuntimeWarning")
def test_generate_then_fork_then_generate_in_child():
    parent = ar.truncated_normal((100_000,), seed=9)  # starts the parallel runtime
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(q,))
    p.start()
    data = q.get(timeout=120)
    p.join(timeout=60)
    assert p.exitcode == 0
    np.testing.assert_array_equal(np.frombuffer(data, np.float32), parent)


_FORK_SCRIPT = """
import hashlib, os, sys, threading, time
import arrayinit
import arrayinit.random as ar

N = 2**20
stop = threading.Event()
first_done = threading.Event()


def busy():
    while not stop.is_set():
        ar.truncated_normal(N, seed=4)
        ar.normal((3, 2**18), seed=4, dtype="float64")
        first_done.set()


t = threading.Thread(target=busy)
t.start()
children = []
for delay in [0.0, 0.0005, 0.002, 0.01, 0.03] + [0.003] * 15:
    time.sleep(delay)  # the first forks happen during the first call (compilation when the cache is cold)
    r, w = os.pipe()
    during_first_call = not first_done.is_set()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        a = ar.truncated_normal(N, seed=4)
        b = ar.normal((3, 2**18), seed=4, dtype="float64")
        os.write(w, (hashlib.sha256(a.tobytes() + b.tobytes()).hexdigest() + "\\n").encode())
        os._exit(0)
    os.close(w)
    children.append((pid, r, during_first_call))
stop.set()
t.join()
a = ar.truncated_normal(N, seed=4)
b = ar.normal((3, 2**18), seed=4, dtype="float64")
expected = hashlib.sha256(a.tobytes() + b.tobytes()).hexdigest()
during_first = 0
for pid, r, early in children:
    got = os.read(r, 100).decode().strip()
    _, status = os.waitpid(pid, 0)
    assert status == 0 and got == expected, (status, got, expected)
    during_first += early
print("ok", len(children), during_first)
"""


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="os.fork with threads: Linux only here")
@pytest.mark.parametrize("cache", ["warm", "bitcode", "numba"])
def test_fork_at_any_moment_during_calls_in_another_thread(tmp_path, cache):
    # warm: kernels from the cache; bitcode: built from the shipped bitcode; numba: compiled by numba
    pkg = copy_package(tmp_path / "pkg")
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    if cache == "numba":  # sources that differ from the shipped bitcode's
        f = pkg / "arrayinit/_kernels/ops.py"
        f.write_text(f.read_text() + "\n# edited\n")
    if cache == "warm":
        run_in(
            pkg,
            "import arrayinit.random as ar; ar.truncated_normal(2**20, seed=0); "
            "ar.normal(2**20, seed=0, dtype='float64')",
            **env,
        )
    out = run_in(pkg, textwrap.dedent(_FORK_SCRIPT), **env).split()
    assert out[:2] == ["ok", "20"]
    if cache != "warm":
        assert int(out[2]) >= 1  # some forks happened before the first call returned


def _run_py(code: str, **env) -> str:
    full_env = dict(os.environ, **env)
    res = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=600, env=full_env
    )
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_import_does_not_import_numba_or_array_libraries():
    out = _run_py(
        """
        import sys
        import arrayinit
        print(sorted(m for m in ("numba", "torch", "jax", "cupy", "dask", "numba.cuda") if m in sys.modules))
        arrayinit.random.normal((10,), seed=0)
        print(sorted(m for m in ("numba", "torch", "jax", "cupy", "dask", "numba.cuda") if m in sys.modules))
        """
    )
    before, after = out.strip().splitlines()
    assert before == "[]"
    assert after == "[]"  # the kernel came from the shipped bitcode or the cache: numba is not needed


_BITS = "import arrayinit.random as ar; print(ar.bits(8, seed=3).tolist())"


@pytest.mark.slow
def test_edited_kernel_source_is_never_served_from_an_old_cache(tmp_path):
    # numba's own cache is stamped by the jitted function's file only: an edited
    # callee in another file (here a Philox constant) kept running old code
    xdg = str(tmp_path / "xdg")
    warm = copy_package(tmp_path / "warm")
    before = run_in(warm, _BITS, XDG_CACHE_HOME=xdg)
    assert (warm / "arrayinit/_targets/__pycache__/kernels").is_dir()  # the cache was written, in the tree
    assert run_in(warm, _BITS, XDG_CACHE_HOME=xdg) == before
    for copy in (warm, copy_package(tmp_path / "fresh")):
        f = copy / "arrayinit/_kernels/philox.py"
        text = f.read_text()
        assert "PHILOX_W0 = np.uint64(0x9E3779B9)" in text
        f.write_text(text.replace("PHILOX_W0 = np.uint64(0x9E3779B9)", "PHILOX_W0 = np.uint64(0x9E3779BB)"))
    after = run_in(warm, _BITS, XDG_CACHE_HOME=xdg)
    assert after != before
    assert after == run_in(tmp_path / "fresh", _BITS, XDG_CACHE_HOME=xdg)  # compiled from the edited source
    assert not (tmp_path / "xdg").exists()  # the in-tree cache was writable: nothing per-user


@pytest.mark.slow
def test_per_user_cache_when_the_install_is_not_writable_then_in_memory(tmp_path):
    pkg = copy_package(tmp_path / "ro")
    (pkg / "arrayinit/_targets/__pycache__").write_text("")  # a file: no cache folder can be made there
    expected = run_in(copy_package(tmp_path / "ref"), _BITS, XDG_CACHE_HOME=str(tmp_path / "xdg0"))
    xdg = tmp_path / "xdg"
    assert run_in(pkg, _BITS, XDG_CACHE_HOME=str(xdg)) == expected
    assert list((xdg / "arrayinit").glob("*.o"))  # cached per user
    blocked = tmp_path / "blocked"
    blocked.write_text("")  # neither place writable: compiled in memory, same values, no warning
    assert run_in(pkg, _BITS, XDG_CACHE_HOME=str(blocked)) == expected


def test_cuda_target_without_driver_or_numba_cuda_is_a_clear_error():
    from arrayinit import _engine, _plan
    from arrayinit._errors import DeviceUnavailableError

    d, c64, p = _plan.normal_params(0.0, 1.0, "float32")
    plan = _plan.FillPlan((4,), (4,), (0,), d, "float32", 0, 0, c64, p)
    try:
        from numba import cuda

        if cuda.is_available():
            pytest.skip("a CUDA GPU is present: the error path is for machines without one")
    except ImportError:
        pass
    with pytest.raises(DeviceUnavailableError, match=r"'cuda:0'"):
        _engine.run_cuda_library(plan, np.zeros(4, np.float32), 0, None)


_REENTRANT_SCRIPT = """
import signal, sys
import numpy as np
import arrayinit as ai
import arrayinit.random as ar

expected = dict(np.load(sys.argv[1]))

# calls of every size (2**18: helpers; 2**21 float64: pieces), dtype and kind, as they were computed by another process
CALLS = {
    "small": lambda: ar.normal((33,), seed=5),
    "bf16": lambda: ar.truncated_normal((300,), seed=1, dtype="bfloat16").view(np.uint16),
    "f16": lambda: ar.uniform((1000,), seed=2, dtype="float16"),
    "c64": lambda: ar.normal((17,), seed=3, dtype="complex64"),
    "he": lambda: ai.HeNormal(seed=4)((64, 32)),
    "orth": lambda: ai.Orthogonal(seed=4)((8, 8)),
    "big": lambda: ar.truncated_normal((2**18,), seed=6),
    "f64": lambda: ar.normal((2**21 + 5,), seed=7, dtype="float64"),
}
NESTED = ["small", "bf16", "f16", "c64", "he", "orth", "big"]
OUTER = ["small", "bf16", "c64", "he", "big", "small", "f16", "orth"]
nested = {"calls": 0, "bad": []}


def handler(signum, frame):
    # a one-shot timer, armed again when the handler is done: the handler interrupts the other calls at any
    # bytecode every 0.3 ms of their time, and never itself (a periodic timer faster than a handler on a busy
    # machine nests handlers without end, whatever the handler does)
    name = NESTED[nested["calls"] % len(NESTED)]
    nested["calls"] += 1
    if not np.array_equal(CALLS[name](), expected[name]):
        nested["bad"].append(name)
    signal.setitimer(signal.ITIMER_REAL, 0.0003)


signal.signal(signal.SIGALRM, handler)
signal.setitimer(signal.ITIMER_REAL, 0.0003)
bad = []
for i in range(int(sys.argv[2])):
    name = "f64" if i % 2000 == 1999 else OUTER[i % len(OUTER)]
    if not np.array_equal(CALLS[name](), expected[name]):
        bad.append(name)
signal.setitimer(signal.ITIMER_REAL, 0, 0)
signal.signal(signal.SIGALRM, signal.SIG_DFL)
print(nested["calls"], len(nested["bad"]), len(bad), sorted(set(nested["bad"] + bad)))
"""


def _reentrant_expected(path) -> None:
    import arrayinit as ai

    calls = {
        "small": ar.normal((33,), seed=5),
        "bf16": ar.truncated_normal((300,), seed=1, dtype="bfloat16").view(np.uint16),
        "f16": ar.uniform((1000,), seed=2, dtype="float16"),
        "c64": ar.normal((17,), seed=3, dtype="complex64"),
        "he": ai.HeNormal(seed=4)((64, 32)),
        "orth": ai.Orthogonal(seed=4)((8, 8)),
        "big": ar.truncated_normal((2**18,), seed=6),
        "f64": ar.normal((2**21 + 5,), seed=7, dtype="float64"),
    }
    np.savez(path, **calls)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(__import__("signal"), "setitimer"), reason="needs signal.setitimer (POSIX)")
@pytest.mark.parametrize("cache", ["cold", "warm"])
def test_calls_from_a_signal_handler_on_a_fast_timer_are_correct(tmp_path, cache):
    # a handler calls arrayinit every 0.3 ms, between any two bytecodes of another call of the same thread:
    # while its kernel is packed, run, offered to the helpers, run in pieces, or loaded (cold: built from the
    # shipped bitcode while the handler's calls wait for the same and other loads)
    _reentrant_expected(tmp_path / "expected.npz")
    pkg = copy_package(tmp_path / "pkg")
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    if cache == "warm":
        run_in(pkg, "import arrayinit.random as ar; ar.normal(8, seed=0)", **env)
    script = tmp_path / "reentrant.py"
    script.write_text(_REENTRANT_SCRIPT)
    res = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "expected.npz"), "20000"],
        capture_output=True,
        text=True,
        timeout=900,
        env={
            **{k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NUMBA_CACHE_DIR")},
            **env,
            "PYTHONPATH": str(pkg),
        },
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stderr == ""
    nested_calls, nested_bad, outer_bad, names = res.stdout.split(maxsplit=3)
    assert int(nested_calls) >= 1000  # the handler did run many calls inside the others
    assert (nested_bad, outer_bad, names.strip()) == ("0", "0", "[]")


_FORK_FIRST_CALLS_SCRIPT = """
import hashlib, os, signal, sys, threading, time
import numpy as np
import arrayinit as ai
import arrayinit.random as ar
from arrayinit import _engine, _plan
from arrayinit._errors import DeviceUnavailableError

assert "ml_dtypes" not in sys.modules and "numba" not in sys.modules  # every import below is a first one


def cuda_less():
    d, c64, p = _plan.normal_params(0.0, 1.0, "float32")
    plan = _plan.FillPlan((4,), (4,), (0,), d, "float32", 0, 0, c64, p)
    try:
        _engine.run_cuda_library(plan, np.zeros(4, np.float32), 0, None)
    except DeviceUnavailableError:
        return b"no-cuda"
    return b"cuda"


def values():
    a = ar.truncated_normal((3, 77), seed=4, dtype="bfloat16").view(np.uint16)
    b = ar.normal((5, 3), seed=4, dtype="complex64")
    c = ai.GlorotUniform(seed=4)((9, 4), "float16").view(np.uint16)
    d = ar.uniform((2**17 + 3,), seed=4, dtype="float64")
    return hashlib.sha256(a.tobytes() + b.tobytes() + c.tobytes() + d.tobytes()).hexdigest()


FIRST = [
    lambda: ar.normal((8,), seed=1, dtype="bfloat16"),
    lambda: ar.uniform((8,), seed=1, dtype="complex128"),
    lambda: ai.HeNormal(seed=1)((4, 4), "float16"),
    cuda_less,
    values,
]
threads = [threading.Thread(target=f) for f in FIRST]
for t in threads:
    t.start()
children = []
for delay in [0.0, 0.0002, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.03, 0.06] + [0.02] * 10:
    time.sleep(delay)  # the first forks happen while the threads import and load
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        signal.alarm(300)  # a child that hangs ends here, and the parent sees it
        os.write(w, (values() + " " + cuda_less().decode() + "\\n").encode())
        os._exit(0)
    os.close(w)
    children.append((pid, r))
for t in threads:
    t.join()
expected = values() + " " + cuda_less().decode()
bad = []
for pid, r in children:
    got = os.read(r, 200).decode().strip()
    _, status = os.waitpid(pid, 0)
    if status != 0 or got != expected:
        bad.append((status, got))
print("ok", len(children), bad)
"""


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="os.fork with threads: Linux only here")
def test_fork_while_other_threads_make_their_first_calls_with_empty_caches(tmp_path):
    # the first 16-bit call imports ml_dtypes, the first complex and CUDA-less calls import modules of their
    # own, the first call of each kind loads its kernel: a child forked meanwhile must not inherit a lock held
    # by a thread it does not have (it waited forever on the import lock of ml_dtypes)
    pkg = copy_package(tmp_path / "pkg")
    out = run_in(pkg, _FORK_FIRST_CALLS_SCRIPT, XDG_CACHE_HOME=str(tmp_path / "xdg"))
    assert out.split() == ["ok", "20", "[]"]


@pytest.mark.parametrize(
    ("shape", "full_shape", "offset"),
    [
        ((70_001,), (70_001,), (0,)),  # one run, cut into pieces
        ((3, 9_001), (5, 9_001), (1, 0)),  # runs shorter than a piece: whole runs per piece
        ((250, 37), (251, 40), (1, 2)),  # many short runs
        ((2, 3, 20_011), (4, 3, 20_013), (1, 0, 1)),  # runs longer than a piece
    ],
)
@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16", "float16", "bits"])
def test_a_call_run_in_pieces_has_the_values_of_one_run(monkeypatch, shape, full_shape, offset, dtype):
    from arrayinit import _engine

    def call():
        kw = {"full_shape": full_shape, "offset": offset, "seed": 9}
        if dtype == "bits":
            return ar.bits(shape, **kw)
        return ar.truncated_normal(shape, dtype=dtype, lower=-1.5, upper=2.5, **kw).view(np.uint8)

    whole = call()
    runs = []
    real_run = _engine.cpu._run
    monkeypatch.setattr(_engine.cpu, "_run", lambda *a: runs.append(a[1][1]) or real_run(*a))
    monkeypatch.setattr(_engine.cpu, "PIECE", dict.fromkeys(_engine.cpu.PIECE, 5_003))
    monkeypatch.setattr(_engine.cpu, "PARALLEL_FROM", 4_096)  # pieces run with the helpers too
    np.testing.assert_array_equal(call(), whole)
    assert len(runs) > 1
    assert sum(runs) == int(np.prod(shape))
    assert max(runs) <= 5_003


_INTERRUPT_SCRIPT = """
import signal, sys
import numpy as np
import arrayinit.random as ar
from arrayinit import _engine

n = 3 * _engine.cpu.PIECE["fill32"] + 5
expected = ar.truncated_normal(1000, seed=3)
pieces = []
real_run = _engine.cpu._run


def run_then_ctrl_c(*args):
    pieces.append(args[1][1])
    real_run(*args)
    signal.raise_signal(signal.SIGINT)  # Ctrl-C while the first piece runs


_engine.cpu._run = run_then_ctrl_c
try:
    ar.truncated_normal(n, seed=3)
except KeyboardInterrupt:
    interrupted = True
else:
    interrupted = False
_engine.cpu._run = real_run
# the engine stays usable and right afterwards, on this thread and with helpers
ok = np.array_equal(ar.truncated_normal(1000, seed=3), expected)
ok = ok and np.array_equal(ar.truncated_normal(n, seed=3)[:1000], expected)
print(interrupted, len(pieces), ok)
"""


@pytest.mark.skipif(not hasattr(__import__("signal"), "raise_signal"), reason="needs signal.raise_signal")
def test_ctrl_c_is_handled_between_the_pieces_of_a_big_call():
    # a call is one kernel run per piece: Ctrl-C raises KeyboardInterrupt once the running piece is done
    assert _run_py(_INTERRUPT_SCRIPT).split() == ["True", "1", "True"]


_HOOKS_SCRIPT = """
import gc, sys, threading
import numpy as np
import arrayinit.random as ar
from arrayinit import _engine

seen = []


class Cycle:  # garbage whose finalizer calls arrayinit, collected wherever the collector runs
    def __init__(self):
        self.me = self

    def __del__(self):
        seen.append(ar.normal((10,), seed=1))


gc.collect()
for _ in range(200):
    Cycle()
gc.set_threshold(1, 1, 1)  # collections everywhere: in the loader thread as it starts, and between its loads
b = ar.truncated_normal((100,), seed=2, dtype="float16")
gc.set_threshold(700, 10, 10)
gc.collect()

# the values of a call that the helpers share, made in pieces that they do not
n = 1 << 18
expected = np.concatenate([ar.normal((n // 4,), seed=1, full_shape=(n,), offset=(i,)) for i in range(0, n, n // 4)])
calls = threading.local()


def hook(frame, event, arg):
    # a trace hook of every new thread (the engine's helpers, started below) that calls arrayinit at a size
    # that would use the helpers, on the first events of the thread: some while it holds the pool's lock
    if threading.current_thread().name.startswith("arrayinit-"):
        calls.n = getattr(calls, "n", 0) + 1
        if calls.n <= 30:
            assert np.array_equal(ar.normal((n,), seed=1), expected)
    return None


threading.settrace(hook)
a = [ar.normal((1 << 20,), seed=0) for _ in range(3)]
threading.settrace(None)
ok = all(np.array_equal(x, a[0]) for x in a) and all(np.array_equal(x, expected[:10]) for x in seen)
print(ok, len(seen) > 0, b.dtype)
"""


@pytest.mark.slow
def test_calls_from_hooks_in_the_helpers_and_finalizers_in_the_loader_thread_do_not_deadlock(tmp_path):
    # a helper's trace hook that calls arrayinit ran while the helper held the pool's lock (offer waited for it
    # forever); a finalizer run by the collector in the loader thread as it started waited for a load that only
    # that thread could do
    pkg = copy_package(tmp_path / "pkg")
    assert run_in(pkg, _HOOKS_SCRIPT, XDG_CACHE_HOME=str(tmp_path / "xdg")).split() == ["True", "True", "float16"]


_LATE_WRITES_SCRIPT = """
import sys, time
import numpy as np
import arrayinit.random as ar
from arrayinit import _engine

buf = np.zeros(1 << 21, np.float64)
ar.normal(buf.shape, seed=1, dtype="float64", out=buf)  # helpers started, kernel loaded


def interrupt(frame, event, arg):  # Ctrl-C handled as the calling thread starts its share of the work
    if event == "call" and frame.f_code is _engine.pool.call.__code__:
        time.sleep(0.01)  # meanwhile the helper takes the job
        raise KeyboardInterrupt
    return None


late = 0
for _ in range(5):
    sys.settrace(interrupt)
    try:
        ar.normal(buf.shape, seed=2, dtype="float64", out=buf)
    except KeyboardInterrupt:
        pass
    sys.settrace(None)
    buf[:] = 0  # the caller reuses its buffer once the call has raised
    time.sleep(0.2)
    late += int(np.count_nonzero(buf))
print(late, np.array_equal(ar.normal((1000,), seed=2, dtype="float64"), ar.normal((1000,), seed=2, dtype="float64")))
"""


def test_no_helper_writes_into_out_after_an_interrupted_call_has_raised():
    assert _run_py(_LATE_WRITES_SCRIPT).split() == ["0", "True"]
