"""arrayinit's XLA op (arrayinit._xla): under jax.jit an initializer writes into XLA's own buffer.

One device here; tests/workers/jax_sharded.py runs the sharded programs on 8 host
devices in a subprocess (the device count is fixed when jax starts).
"""

import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

jax = pytest.importorskip("jax", reason="jax is installed by the tests_xp session")
import jax.numpy as jnp  # noqa: E402

import arrayinit as ai  # noqa: E402
import arrayinit.flax as aif  # noqa: E402
from arrayinit import _dtypes  # noqa: E402
from arrayinit._xla import callback as cb  # noqa: E402
from arrayinit._xla import op  # noqa: E402

KEY = jax.random.key(11)
SEED = aif.seed_from_key(jax.random.key_data(KEY))


def compiled_text(init, shape, dtype=None):
    return jax.jit(lambda k: init(k, shape, dtype)).lower(KEY).compile().as_text()


def test_the_op_is_available_in_this_jax():
    assert op.available()


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16", "complex64"])
def test_under_jit_the_op_writes_xla_buffer(dtype):
    """One custom call of buffer_callback's target (no pure_callback), equal to eager and to arrayinit.random."""
    init = aif.normal(0.5)
    text = compiled_text(init, (40, 24), dtype)
    calls = re.findall(r'custom_call_target="([^"]+)"', text)
    assert calls == ["xla_buffer_python_cpu_callback"], calls
    jitted = jax.jit(lambda k: init(k, (40, 24), dtype))(KEY)
    expect = ai.random.normal((40, 24), seed=SEED, stddev=0.5, dtype=dtype)
    np.testing.assert_array_equal(np.asarray(jitted).view(expect.dtype), expect)
    np.testing.assert_array_equal(np.asarray(init(KEY, (40, 24), dtype)).view(expect.dtype), expect)


def test_every_factory_equal_eager_and_jit_and_core():
    shape = (3, 3, 8, 16)
    core = {
        "he_normal": ai.HeNormal(seed=SEED)(shape),
        "glorot_uniform": ai.GlorotUniform(seed=SEED)(shape),
        "lecun_normal": ai.LecunNormal(seed=SEED)(shape),
    }
    for name in ("he_normal", "glorot_uniform", "lecun_normal", "he_uniform", "delta_orthogonal"):
        init = getattr(aif, name)()
        eager = np.asarray(init(KEY, shape))
        np.testing.assert_array_equal(np.asarray(jax.jit(lambda k, init=init: init(k, shape))(KEY)), eager)
        if name in core:
            np.testing.assert_array_equal(eager, core[name])
    wrapped = aif.initializer(ai.Orthogonal(gain=2.0), jnp.bfloat16)
    np.testing.assert_array_equal(
        np.asarray(jax.jit(lambda k: wrapped(k, (16, 8)))(KEY)), ai.Orthogonal(gain=2.0, seed=SEED)((16, 8), "bfloat16")
    )


def test_eager_call_is_zero_copy(monkeypatch):
    """The eager result is the host storage the engine wrote, handed to jax without a copy (as xp=jax.numpy)."""
    made = []
    real = _dtypes.aligned_empty

    def recording(shape, dtype, align=64):
        made.append(real(shape, dtype, align))
        return made[-1]

    monkeypatch.setattr(_dtypes, "aligned_empty", recording)
    w = aif.truncated_normal(0.02)(KEY, (256, 128))
    assert len(made) == 1
    assert w.unsafe_buffer_pointer() == made[0].ctypes.data
    np.testing.assert_array_equal(np.asarray(w), ai.random.truncated_normal((256, 128), seed=SEED, stddev=0.02))


@pytest.mark.parametrize("jit", [False, True])
def test_vmap_over_keys(jit):
    keys = jax.random.split(KEY, 5)
    for init, dtype in ((aif.he_normal(), jnp.float32), (aif.normal(1.0), jnp.complex64), (aif.orthogonal(), None)):
        f = jax.vmap(lambda k, init=init, dtype=dtype: init(k, (6, 4), dtype))
        out = np.asarray(jax.jit(f)(keys) if jit else f(keys))
        assert out.shape == (5, 6, 4)
        for i in range(5):
            np.testing.assert_array_equal(out[i], np.asarray(init(keys[i], (6, 4), dtype)))
    nested = jax.vmap(jax.vmap(lambda k: aif.uniform()(k, (3,))))(jax.random.split(KEY, 6).reshape(2, 3))
    for i in range(2):
        for j in range(3):
            np.testing.assert_array_equal(
                np.asarray(nested[i, j]), np.asarray(aif.uniform()(jax.random.split(KEY, 6).reshape(2, 3)[i, j], (3,)))
            )
    in_axes = jax.vmap(aif.lecun_uniform(), in_axes=(0, None))(keys, (4, 2))  # as jax's initializers allow
    np.testing.assert_array_equal(np.asarray(in_axes[3]), np.asarray(aif.lecun_uniform()(keys[3], (4, 2))))


def test_pure_callback_fallback_gives_the_same_values(monkeypatch):
    """Where jax lacks a piece of the op (older or newer jax), jit runs a pure_callback: same values."""
    init = aif.truncated_normal(0.02, jnp.bfloat16)
    expect = np.asarray(init(KEY, (20, 12)))
    monkeypatch.setattr(op, "_MISSING", "ImportError: for the test")
    text = compiled_text(init, (20, 12))
    assert "xla_buffer_python_cpu_callback" not in text
    assert "xla_ffi_python_cpu_callback" in text
    np.testing.assert_array_equal(np.asarray(jax.jit(lambda k: init(k, (20, 12)))(KEY)), expect)
    batched = jax.jit(jax.vmap(lambda k: init(k, (20, 12))))(jax.random.split(KEY, 2))
    np.testing.assert_array_equal(np.asarray(batched[1]), np.asarray(init(jax.random.split(KEY, 2)[1], (20, 12))))


# --- the callback body: blocks, uneven tiles, batches (what each device runs) -------------------------


def _spec(template, batch=()):
    return cb.Spec(template, aif.seed_from_key, 2, batch)


def _keys(n):
    return np.asarray(jax.random.key_data(jax.random.split(KEY, n)))


@pytest.mark.parametrize(
    ("offset", "tile"),
    [((0, 0), (12, 10)), ((4, 5), (4, 5)), ((9, 0), (4, 10)), ((4, 8), (4, 4)), ((16, 0), (4, 10))],
)
@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "complex64"])
def test_fill_host_writes_the_block_at_the_offset(offset, tile, dtype):
    """A tile of the (12, 10) tensor at ``offset``; what lies past the end (uneven shards) is zero."""
    plan = ai.RandomNormal(seed=0)._plan((12, 10), (12, 10), (0, 0), dtype)
    keys = _keys(1)[0]
    out = np.full(tile, 7, _dtypes.storage_dtype(dtype))
    cb.fill_host(_spec(plan), keys, cb.where_words(offset, None), out)
    expect = np.zeros(tile, out.dtype)
    part = ai.random.normal((12, 10), seed=aif.seed_from_key(keys), stddev=0.05, dtype=dtype)
    part = part.view(_dtypes.storage_dtype(dtype))[offset[0] : offset[0] + tile[0], offset[1] : offset[1] + tile[1]]
    expect[: part.shape[0], : part.shape[1]] = part
    np.testing.assert_array_equal(out, expect)


def test_fill_host_refuses_a_strided_buffer():
    plan = ai.RandomNormal(seed=0)._plan((4, 4), (4, 4), (0, 0), "float32")
    with pytest.raises(ValueError, match="C-contiguous output buffer"):
        cb.fill_host(_spec(plan), _keys(1)[0], cb.where_words((0, 0), None), np.zeros((4, 8), np.float32)[:, :4])


def test_fill_host_batches_each_key_its_own_seed():
    plan = ai.TruncatedNormal(seed=0)._plan((5, 3), (5, 3), (0, 0), "float16")
    keys = _keys(6).reshape(3, 2, 2)
    out = np.zeros((2, 2, 5, 3), np.uint16)  # the tile of batch rows 1..2 (3 rows in all: one of padding)
    cb.fill_host(_spec(plan, (3, 2)), keys, cb.where_words((1, 0, 0, 0), None), out)
    for i in range(2):
        for j in range(2):
            expect = np.zeros((5, 3), np.uint16)
            if i + 1 < 3:
                seed = aif.seed_from_key(keys[i + 1, j])
                expect = ai.TruncatedNormal(seed=seed)((5, 3), "float16").view(np.uint16)
            np.testing.assert_array_equal(out[i, j], expect)


def test_where_row_round_trip_beyond_32_bits():
    offsets = (0, 2**32 + 5, 2**62 + 3)
    assert cb.read_where(cb.where_words(offsets, 3), 3) == (offsets, 3)
    assert cb.read_where(cb.where_words((), None), 0) == ((), None)
    with pytest.raises(ValueError, match="must have 3 words"):
        cb.read_where(np.zeros(5, np.uint32), 1)


def test_tiles_of_hlo_shardings():
    """The tile shape and each partition's offset, as XLA lays tiles out (ceil-sized, padded at the end)."""
    mesh_devices = np.arange(8)

    class Hlo:  # the HloSharding methods `tiles` reads
        def __init__(self, dims, devices, replicated=False):
            self.dims, self.devices, self.replicated = dims, devices, replicated

        def is_replicated(self):
            return self.replicated

        def is_maximal(self):
            return False

        def is_tiled(self):
            return not self.replicated

        def tile_assignment_dimensions(self):
            return self.dims

        def tile_assignment_devices(self):
            return self.devices

    tile, starts = op.tiles(Hlo([4, 1, 2], list(mesh_devices)), (10, 6), 8)  # rows over 4, replicated over 2
    assert tile == (3, 6)
    assert starts == [(0, 0), (0, 0), (3, 0), (3, 0), (6, 0), (6, 0), (9, 0), (9, 0)]
    tile, starts = op.tiles(Hlo([2, 4], [0, 2, 4, 6, 1, 3, 5, 7]), (4, 8), 8)
    assert tile == (2, 2)
    assert (starts[2], starts[1]) == ((0, 2), (2, 0))
    assert op.tiles(Hlo([], [], replicated=True), (4, 8), 3) == ((4, 8), [(0, 0)] * 3)


def test_sharded_programs_on_8_host_devices():
    """tests/workers/jax_sharded.py under pytest with 8 host CPU devices (a subprocess: set before jax starts)."""
    root = pathlib.Path(__file__).parents[1]
    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=8",
        "JAX_PLATFORMS": "cpu",
        "PYTHONPATH": os.pathsep.join([str(root / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root / "tests/workers/jax_sharded.py")],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert re.search(r"\b19 passed\b", r.stdout), r.stdout[-2000:]


def test_jax_benchmark_runs_on_8_host_devices(capsys):
    """The jax rows of ``arrayinit bench`` (``arrayinit._bench_jax``, also benchmarks/bench_jax.py), quick size."""
    from arrayinit import _bench, _bench_jax

    res = _bench.jax_times(quick=True, busy=False, reps=1)  # a process of its own, with 8 host devices
    assert res is not None, capsys.readouterr().out
    assert res["shape"] == [2048, 4096]
    assert set(res["quiet"]) == {
        "numpy path",
        "xp=jax.numpy",
        "flax eager",
        "flax jit",
        "jax.random jit",
        "flax sharded (8 devices)",
        "jax.random sharded (8 devices)",
    }
    assert len(res["ratios"]["quiet"]) == 4
    assert "flax sharded / jax.random sharded (goal >= 3)" in capsys.readouterr().out
    with pytest.raises(ValueError, match="Argument `--shape` must be two positive integers"):
        _bench_jax.main(["--shape", "64"])


def test_gpu_check_jax_runs_its_checks_on_cpu_devices():
    """benchmarks/gpu_check_jax.py (run once a GPU is lent) runs here on the CPU devices: every check runs
    and passes (sharding is skipped on one device, with its reason); without a GPU, the GPU run is skipped."""
    import importlib.util

    path = pathlib.Path(__file__).parents[1] / "benchmarks" / "gpu_check_jax.py"
    spec = importlib.util.spec_from_file_location("gpu_check_jax", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    res = module.run(large=False, platform="cpu")
    statuses = {name: r["status"] for name, r in res.items()}
    assert statuses == {
        "op_lowering": "run",
        "jit_equal_cpu": "run",
        "vmap_equal_cpu": "run",
        "sharded_equal_cpu": "skipped",
        "throughput": "run",
    }, res
    assert res["jit_equal_cpu"]["cases"] == 30
    assert res["throughput"]["speedup_vs_jax_random"] > 0
    if not any(d.platform == "gpu" for d in jax.devices()):
        assert module.run(platform="gpu")["jax"]["status"] == "skipped"
