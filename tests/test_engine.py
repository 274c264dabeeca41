"""Reliability of the CPU engine: threads, fork, thread-count invariance, imports, caching."""

import multiprocessing as mp
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap
import threading

import numba
import numpy as np
import pytest

import arrayinit
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


def _copy_package(dest: pathlib.Path) -> pathlib.Path:
    """A copy of the arrayinit package (without caches) under ``dest``; returns the folder to put on sys.path."""
    src = pathlib.Path(arrayinit.__file__).parent
    shutil.copytree(src, dest / "arrayinit", ignore=shutil.ignore_patterns("__pycache__"))
    return dest


_BITS = "import arrayinit.random as ar; print(ar.bits(8, seed=3).tolist())"


def _run_in(path: pathlib.Path, code: str, **env) -> str:
    full_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NUMBA_CACHE_DIR")}
    full_env.update(PYTHONPATH=str(path), **env)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=full_env)
    assert res.returncode == 0, res.stderr
    assert res.stderr == "", res.stderr
    return res.stdout


@pytest.mark.slow
def test_edited_kernel_source_is_never_served_from_an_old_cache(tmp_path):
    # numba's own cache is stamped by the jitted function's file only: an edited
    # callee in another file (here a Philox constant) kept running old code
    xdg = str(tmp_path / "xdg")
    warm = _copy_package(tmp_path / "warm")
    before = _run_in(warm, _BITS, XDG_CACHE_HOME=xdg)
    assert (warm / "arrayinit/_targets/__pycache__/kernels").is_dir()  # the cache was written, in the tree
    assert _run_in(warm, _BITS, XDG_CACHE_HOME=xdg) == before
    for copy in (warm, _copy_package(tmp_path / "fresh")):
        f = copy / "arrayinit/_kernels/philox.py"
        text = f.read_text()
        assert "PHILOX_W0 = np.uint64(0x9E3779B9)" in text
        f.write_text(text.replace("PHILOX_W0 = np.uint64(0x9E3779B9)", "PHILOX_W0 = np.uint64(0x9E3779BB)"))
    after = _run_in(warm, _BITS, XDG_CACHE_HOME=xdg)
    assert after != before
    assert after == _run_in(tmp_path / "fresh", _BITS, XDG_CACHE_HOME=xdg)  # compiled from the edited source
    assert not (tmp_path / "xdg").exists()  # the in-tree cache was writable: nothing per-user


def test_cache_key_covers_every_kernel_source_and_the_version():
    from arrayinit._targets import cpu

    names = {f.relative_to(pathlib.Path(arrayinit.__file__).parent).as_posix() for f in cpu.kernel_sources()}
    assert {"_targets/cpu.py", "_plan.py", "_kernels/philox.py", "_kernels/samplers.py", "_kernels/floats.py"} <= names
    assert {"_kernels/special.py", "_kernels/ops.py", "_kernels/_ndtri_tails.py"} <= names
    assert cpu.cache_key().startswith(arrayinit.__version__ + "-")


@pytest.mark.slow
def test_per_user_cache_when_the_install_is_not_writable_then_in_memory(tmp_path):
    pkg = _copy_package(tmp_path / "ro")
    (pkg / "arrayinit/_targets/__pycache__").write_text("")  # a file: no cache folder can be made there
    expected = _run_in(_copy_package(tmp_path / "ref"), _BITS, XDG_CACHE_HOME=str(tmp_path / "xdg0"))
    xdg = tmp_path / "xdg"
    assert _run_in(pkg, _BITS, XDG_CACHE_HOME=str(xdg)) == expected
    assert list((xdg / "arrayinit").rglob("*.nbi"))  # cached per user
    blocked = tmp_path / "blocked"
    blocked.write_text("")  # neither place writable: compiled in memory, same values, no warning
    assert _run_in(pkg, _BITS, XDG_CACHE_HOME=str(blocked)) == expected


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
