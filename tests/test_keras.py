"""arrayinit.keras under the jax, torch and numpy Keras backends (one subprocess per backend)."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

if importlib.util.find_spec("keras") is None:
    pytest.skip("keras is installed by the tests_frameworks session", allow_module_level=True)

BACKENDS = {"jax": "jax", "torch": "torch", "numpy": None}


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_keras_model_builds_runs_saves_reloads(backend, tmp_path):
    lib = BACKENDS[backend]
    if lib and importlib.util.find_spec(lib) is None:
        pytest.skip(f"the {backend} Keras backend needs {lib}")
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu"}
    worker = Path(__file__).parent / "workers" / "keras_worker.py"
    res = subprocess.run(
        [sys.executable, str(worker), str(tmp_path)], env=env, capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, res.stderr[-4000:]
    report = json.loads(res.stdout.strip().splitlines()[-1])
    assert report["backend"] == backend
    assert report["conv_equal_arrayinit"]
    assert report["bias"] == [0.25] * 5
    assert report["predict_shape"] == [2, 5]
    assert report["reload_equal"]
    assert report["reloaded_initializer"] == "KerasInitializer"
    assert report["reloaded_values_equal"]
    assert report["bf16"] == "bfloat16"
    # integer and bool variables from the constant initializers, as Keras' own make them
    assert report["int_variables"] == {"zeros/int32": [0, 0], "ones/bool": [True, True], "constant/uint8": [3, 3]}
    assert report["int_random_refused"]
