import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

DATA = pathlib.Path(__file__).parent / "data"

FLOAT_DTYPES = ["float32", "float64", "float16", "bfloat16"]


def as_f64(x: np.ndarray) -> np.ndarray:
    """Any float array (bfloat16 included) as float64."""
    return np.asarray(x).astype(np.float32).astype(np.float64) if x.dtype.itemsize == 2 else x.astype(np.float64)


@pytest.fixture(params=FLOAT_DTYPES)
def float_dtype(request):
    return request.param


def copy_package(dest: pathlib.Path) -> pathlib.Path:
    """A copy of the arrayinit package (without caches) under ``dest``; returns the folder to put on sys.path."""
    import arrayinit

    src = pathlib.Path(arrayinit.__file__).parent
    shutil.copytree(src, dest / "arrayinit", ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def run_in(path: pathlib.Path, code: str, **env) -> str:
    """stdout of ``code`` run by a fresh interpreter importing arrayinit from ``path``; it must exit 0, silently."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NUMBA_CACHE_DIR")}
    full_env.update(PYTHONPATH=str(path), **env)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900, env=full_env)
    assert res.returncode == 0, res.stderr
    assert res.stderr == "", res.stderr
    return res.stdout
