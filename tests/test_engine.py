"""Reliability of the CPU engine: threads, fork, thread-count invariance, imports, caching."""

import multiprocessing as mp
import subprocess
import sys
import textwrap
import threading

import numba
import numpy as np
import pytest

import arrayinit.random as ar


def test_same_values_with_one_and_two_threads():
    shape = (3, 70_001)
    prev = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = [ar.truncated_normal(shape, seed=5, dtype=d) for d in ("float32", "float64", "bfloat16")]
        one.append(ar.bits(shape, seed=5))
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = [ar.truncated_normal(shape, seed=5, dtype=d) for d in ("float32", "float64", "bfloat16")]
        two.append(ar.bits(shape, seed=5))
    finally:
        numba.set_num_threads(prev)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a.view(np.uint8), b.view(np.uint8))


def test_eight_python_threads_at_once():
    expected = {s: ar.normal((50_000,), seed=s) for s in range(8)}
    results, errors = {}, []
    barrier = threading.Barrier(8)

    def work(s):
        try:
            barrier.wait()
            for _ in range(5):
                results[s] = ar.normal((50_000,), seed=s)
        except Exception as e:  # collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert all(not t.is_alive() for t in threads)
    for s in range(8):
        np.testing.assert_array_equal(results[s], expected[s])


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


def _run_py(code: str) -> str:
    res = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)
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
    assert after == "['numba']"


def test_cache_fallback_when_no_cache_directory_is_writable(monkeypatch):
    from arrayinit._targets import cpu

    calls = []
    real_njit = cpu.njit

    def fake_njit(**kw):
        calls.append(kw.get("cache"))
        if kw.get("cache"):
            raise RuntimeError("cannot cache function 'f': no locator available for file 'f.py'")
        return real_njit(**kw)

    monkeypatch.setattr(cpu, "njit", fake_njit)

    def f(x):
        for i in numba.prange(x.shape[0]):
            x[i] += 1

    jitted = cpu._parallel_jit(f)
    assert calls == [True, False]
    x = np.arange(5.0)
    jitted(x)
    np.testing.assert_array_equal(x, np.arange(1.0, 6.0))


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
