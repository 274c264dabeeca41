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
    out[f"helpers{k}"] = len(_engine._get_pool()._threads)
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
    starts, row_len, starts_addr = _engine._layout(plan.shape, plan.full_shape, plan.offset)
    k0, k1 = _engine._words64(plan.seed)
    s0, s1 = _engine._words64(plan.stream)
    _, params_addr = _engine._typed_params(p, False)
    out = np.zeros(n, np.float32) if out is None else out
    kernel = _engine.kernel(*_engine.variant(plan))
    vals = [out.ctypes.data, n, starts_addr, starts.shape[0], row_len, k0, k1, s0, s1, d, params_addr]
    vals += [work.ctypes.data, work.shape[0], 0, 0, 0, stream]
    assert _engine._call(kernel.run, vals, int(finish)) == 0
    return out


@pytest.mark.parametrize("stream", [0, 1])
def test_calling_thread_finishes_tasks_a_helper_took_and_never_stored(stream):
    from arrayinit import _engine, _plan

    n = 10 * _plan.CHUNK + 17
    expected = ar.truncated_normal(n, seed=11)
    tasks = _engine.task_count(1, n)
    work = np.zeros(1 + tasks, np.int64)
    work[0] = 7  # tasks 0..6 were handed to a helper that was descheduled before storing them
    out = _run_kernel(n, work, True, stream=stream)
    np.testing.assert_array_equal(out, expected)
    assert _engine.kernel("fill32", "float32").pending(work) == 0
    assert (work[1:] == _plan.DONE).all()


@pytest.mark.parametrize("stream", [0, 1])
def test_a_task_is_stored_once_and_only_by_its_winner(stream):
    from arrayinit import _engine, _plan

    chunk = _plan.CHUNK
    n = 6 * chunk
    work = np.zeros(1 + _engine.task_count(1, n), np.int64)
    work[1 + 2] = _plan.DONE  # task 2 was stored by another thread: never written again
    work[1 + 4] = _plan.STORING  # task 4 is being stored by another thread
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
    from arrayinit import _engine, _plan

    n = 5 * _plan.CHUNK + 1
    work = np.zeros(1 + _engine.task_count(1, n), np.int64)
    out = _run_kernel(n, work, False, stream=stream)
    np.testing.assert_array_equal(out, ar.truncated_normal(n, seed=11))
    assert _engine.kernel("fill32", "float32").pending(work) == 0


@pytest.mark.parametrize(
    ("n_rows", "row_len"), [(1, 1), (1, 4096), (1, 4097), (3, 5), (5000, 3), (7, 4096), (2, 12289), (1000, 1365)]
)
def test_task_count_matches_the_kernels(n_rows, row_len):
    from arrayinit import _engine, _plan

    expected = ar.bits((n_rows, row_len), seed=2, full_shape=(n_rows + 1, row_len + 1), offset=(1, 1))
    starts = np.ascontiguousarray((np.arange(n_rows, dtype=np.int64) + 1) * (row_len + 1) + 1)
    out = np.zeros(n_rows * row_len, np.uint32)
    work = np.zeros(1 + _engine.task_count(n_rows, row_len), np.int64)
    kernel = _engine.kernel("bits", "uint32")
    vals = [out.ctypes.data, out.size, starts.ctypes.data, n_rows, row_len, 2, 0, 0, 0, _plan.BITS, 0]
    vals += [work.ctypes.data, work.shape[0], 0, 0, 0, 0]
    assert _engine._call(kernel.run, vals, 1) == 0
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
    from arrayinit import _engine, _plan

    fn = getattr(ar, name)
    args = dict(kw, dtype=dtype) if dtype else dict(kw)
    itemsize = fn(1, seed=0, **args).itemsize
    # above the threshold; the last task holds ``extra`` values (``extra < CHUNK``)
    n = _plan.STREAM_FROM // itemsize + extra
    piece = _plan.STREAM_FROM // itemsize // 3  # computed below the threshold, by plain stores
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
    assert _engine._streamed(out.view(np.uint8)) == 1
    fn(n, seed=4, out=out, **args)
    np.testing.assert_array_equal(out.view(np.uint8), expected.view(np.uint8))
    assert not raw[:start].any()
    assert not raw[start + n * itemsize :].any()


def test_streaming_stores_for_large_outputs_in_memory_only(monkeypatch):
    import mmap

    from arrayinit import _engine, _plan

    packed = _engine._ARGS
    seen = []

    class Spy:
        size = packed.size

        def pack_into(self, buf, offset, *vals):
            seen.append(vals[_plan.A_STREAM])
            packed.pack_into(buf, offset, *vals)

    monkeypatch.setattr(_engine, "_ARGS", Spy())
    n = _plan.STREAM_FROM // 4 + 5
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
