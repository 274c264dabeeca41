"""nox sessions: lint, tests, tests_xp, tests_tf, tests_cudasim, ptx, ptx_cu13, fuzz, docs, build (default); bench
(on demand).

Installs are silent (their output is shown only when they fail). ``nox -R`` reuses the environments
of a previous run and skips the installs; ``nox -s tests -- -k fans`` passes arguments to pytest.
"""

import nox

nox.options.sessions = [
    "lint",
    "tests",
    "tests_xp",
    "tests_tf",
    "tests_cudasim",
    "ptx",
    "ptx_cu13",
    "fuzz",
    "docs",
    "build",
]
nox.options.default_venv_backend = "venv"


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff==0.17.6", "mypy==2.4.1", "numpy")
    paths = ["src", "tests", "benchmarks", "tools", "noxfile.py", "conftest.py"]
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)
    session.run("mypy")


@nox.session
def tests(session: nox.Session) -> None:
    session.create_tmp()  # TMPDIR: what the tests and the libraries they run write to a temporary folder
    session.install("-e", ".[test,cli]")
    session.run("pytest", *session.posargs)


XP_PACKAGES = [
    "torch==2.13.0",
    "jax",
    "jaxlib",
    "dask[array,distributed]",
    "array-api-strict",
    "zarr",
    "keras",
    "flax",
    # array-API libraries the project has no adapter for: the generic adapter's tests
    "marray",
    "ndonnx",
]


@nox.session
def tests_xp(session: nox.Session) -> None:
    """Libraries and frameworks: the (library, device, dtype) matrix with torch (CPU build), jax (CPU),
    dask (with a process cluster), array-api-strict; the torch, keras (jax/torch/numpy backends),
    flax and dask integrations."""
    session.create_tmp()  # TMPDIR: what the tests and the libraries they run write to a temporary folder
    session.install("-e", ".[test,cli]", *XP_PACKAGES)
    tests = [
        "tests/test_xp.py",
        "tests/test_torch.py",
        "tests/test_checkpoint_xp.py",
        "tests/test_dask.py",
        "tests/test_keras.py",
        "tests/test_flax.py",
        "tests/test_jax_op.py",
        "tests/test_backends.py",
        "tests/test_catalogue.py",
        "tests/test_docs.py",
    ]
    # a documentation example that needs one of these libraries fails here instead of being skipped
    docs_require = "torch,jax,flax,keras,dask,distributed,zarr,array_api_strict,marray,ndonnx,matplotlib,ml_dtypes"
    env = {"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "ARRAYINIT_DOCS_REQUIRE": docs_require}
    session.run("pytest", *tests, "src/arrayinit", *session.posargs, env=env)


TF_PACKAGE = "tensorflow-cpu==2.21.0"
# tf-keras requires the `tensorflow` distribution; installed without dependencies it runs on tensorflow-cpu
# (the same package, without a second 600 MB download)
TF_KERAS_PACKAGE = "tf-keras==2.21.0"


@nox.session
def tests_tf(session: nox.Session) -> None:
    """arrayinit.compat.v1 inside TensorFlow (CPU only, legacy Keras): names, configs, TF1 graph code, statistics."""
    session.create_tmp()  # TMPDIR: what the tests and the libraries they run write to a temporary folder
    session.install("-e", ".[test]", TF_PACKAGE)
    session.install("--no-deps", TF_KERAS_PACKAGE)
    env = {"TF_USE_LEGACY_KERAS": "1", "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2"}
    tests = ["tests/test_tf.py", "tests/test_compat_v1.py", "src/arrayinit/compat"]
    session.run("pytest", *tests, *session.posargs, env=env)
    # the documentation's TensorFlow examples (skipped elsewhere: only this session has TensorFlow)
    env["ARRAYINIT_DOCS_REQUIRE"] = "tensorflow"
    session.run("pytest", "tests/test_docs.py", "-k", "test_python_block_runs and tf1", *session.posargs, env=env)


# the numba-cuda the CUDA target is tested with (pyproject's cuda extras have the same floor)
NUMBA_CUDA = "numba-cuda>=0.30.4"


@nox.session
def tests_cudasim(session: nox.Session) -> None:
    """CUDA kernels in numba's CUDA simulator, bit-equal to the CPU kernels (no GPU needed); the rehearsal of
    benchmarks/gpu_check.py."""
    session.create_tmp()  # TMPDIR: what the tests and the libraries they run write to a temporary folder
    session.install("-e", ".[test]", NUMBA_CUDA)
    session.run("pytest", "tests/test_cuda_sim.py", *session.posargs, env={"NUMBA_ENABLE_CUDASIM": "1"})


PTX_ENV = {"NUMBA_ENABLE_CUDASIM": "0", "ARRAYINIT_REQUIRE_PTXAS": "1"}


@nox.session
def ptx(session: nox.Session) -> None:
    """Every CUDA kernel compiled to PTX for sm_90 with NVVM from the CUDA 12 wheels and assembled by their
    ptxas; rounding checked."""
    session.create_tmp()  # TMPDIR: what the tests and the libraries they run write to a temporary folder
    session.install("-e", ".[test]", NUMBA_CUDA.replace("numba-cuda", "numba-cuda[cu12]"))
    session.run("pytest", "tests/test_ptx.py", *session.posargs, env=PTX_ENV)


@nox.session
def ptx_cu13(session: nox.Session) -> None:
    """The same with the CUDA 13 wheels (the ``cuda13`` extra's NVVM; ptxas from nvidia-cuda-nvcc 13)."""
    session.create_tmp()  # TMPDIR: what the tests and the libraries they run write to a temporary folder
    session.install("-e", ".[test]", NUMBA_CUDA.replace("numba-cuda", "numba-cuda[cu13]"), "nvidia-cuda-nvcc>=13,<14")
    session.run("pytest", "tests/test_ptx.py", *session.posargs, env=PTX_ENV)


@nox.session
def fuzz(session: nox.Session) -> None:
    """Property-based fuzzing (hypothesis, derandomized, no database, a fixed budget of examples) of every
    public function, initializer and command: a correct result or a clear error naming the argument."""
    session.create_tmp()  # TMPDIR: what the tests and the libraries they run write to a temporary folder
    session.install("-e", ".[test,cli]", "hypothesis", "torch==2.13.0")
    env = {"ARRAYINIT_FUZZ_EXAMPLES": "250"}  # about two minutes of tests on two cores
    session.run("pytest", "tests/fuzz", "-p", "no:cacheprovider", *session.posargs, env=env)


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site (mkdocs-material + mkdocstrings), warnings as errors."""
    session.install("-e", ".[docs]")
    session.run("mkdocs", "build", "--strict", "--quiet", "--site-dir", "site", env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session
def build(session: nox.Session) -> None:
    """The sdist and wheel, checked to contain the package data."""
    session.install("build")
    session.run("python", "-m", "build", "--outdir", "dist", silent=True)  # setuptools' log only on failure
    session.run(
        "python",
        "-c",
        "import glob, zipfile; names = zipfile.ZipFile(glob.glob('dist/*.whl')[0]).namelist(); "
        "assert 'arrayinit/py.typed' in names and 'arrayinit/_kernels/_ndtri_tails.py' in names, names; "
        "assert 'arrayinit/_targets/cpu_ir/kernels.zip' in names and '_arrayinit_main.py' in names, names; "
        "print('built', *sorted(glob.glob('dist/*')))",
    )


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    session.install("-e", ".[bench]", "dask", "array-api-strict")
    session.run("python", "benchmarks/bench_cpu.py", *session.posargs)
