"""dask: chunk-invariant lazy arrays on the threaded scheduler and on a 2-worker process cluster; zarr."""

import numpy as np
import pytest

da = pytest.importorskip("dask.array", reason="dask is installed by the tests_xp session")
import dask  # noqa: E402

import arrayinit as ai  # noqa: E402
import arrayinit.dask as aid  # noqa: E402

CHUNKINGS = [(100, 70), (10, 7), (33, 25), ((1, 99), (69, 1)), ((50, 25, 25), (7, 7, 56)), "auto"]


@pytest.mark.parametrize("chunks", CHUNKINGS, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float64"])
def test_threaded_scheduler_any_chunking(chunks, dtype):
    init = ai.GlorotUniform(seed=4)
    full = init((100, 70), dtype)
    x = aid.array(init, (100, 70), chunks=chunks, dtype=dtype)
    with dask.config.set(scheduler="threads"):
        got = x.compute()
    np.testing.assert_array_equal(got.view(np.uint8), full.view(np.uint8))


def test_local_cluster_with_worker_processes(tmp_path):
    distributed = pytest.importorskip("distributed", reason="dask.distributed is installed by the tests_xp session")
    import dask

    # dask's scratch folder and its locks in tmp_path, not in the system's temporary folder
    with (
        dask.config.set({"temporary-directory": str(tmp_path)}),
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        for init, shape, chunks in [
            (ai.HeNormal(seed=1), (400, 300), (100, 75)),
            (ai.TruncatedNormal(stddev=0.02, seed=2), (257, 129), ((200, 57), (64, 65))),
            (ai.Orthogonal(seed=3), (64, 48), (16, 48)),
        ]:
            x = aid.array(init, shape, chunks=chunks)
            got = client.compute(x).result()
            np.testing.assert_array_equal(got, init(shape))
        workers = client.run(lambda: __import__("os").getpid())
        assert len(set(workers.values())) == 2


def test_to_zarr_round_trip(tmp_path):
    zarr = pytest.importorskip("zarr", reason="zarr is installed by the tests_xp session")
    init = ai.HeUniform(seed=8)
    path = tmp_path / "w.zarr"
    aid.to_zarr(init, (1000, 96), str(path), chunks=(128, 96), progress=False)
    z = zarr.open_array(str(path), mode="r")
    assert z.chunks == (128, 96)
    np.testing.assert_array_equal(z[:], init((1000, 96)))


def test_to_zarr_refuses_bfloat16_before_creating_the_store(tmp_path):
    pytest.importorskip("zarr", reason="zarr is installed by the tests_xp session")
    path = tmp_path / "w.zarr"
    with pytest.raises(ValueError, match="zarr has no bfloat16"):
        aid.to_zarr(ai.HeUniform(seed=8), (64, 8), str(path), chunks=(16, 8), dtype="bfloat16", progress=False)
    assert not path.exists()


def test_numpy_computed_initializers_are_chunked_too():
    for init in (ai.Zeros(), ai.Constant(0.5), ai.Identity(gain=2.0), ai.Orthogonal(seed=3)):
        x = aid.array(init, (64, 48), chunks=(16, 48))
        assert x.numblocks == (4, 1)
        np.testing.assert_array_equal(x.compute(scheduler="synchronous"), init((64, 48)))


def test_dask_arrays_check_their_arguments_at_call_time():
    # the errors come when the lazy array is made, not when a block is computed
    with pytest.raises(ValueError, match="rank >= 2"):
        aid.array(ai.Orthogonal(seed=0), (64,), chunks=(16,))
    with pytest.raises(ValueError, match="2D matrices"):
        aid.array(ai.Identity(), (4, 4, 4), chunks=(2, 4, 4))
    with pytest.raises(ValueError, match="overflows float16"):
        aid.array(ai.Constant(1e6), (8, 8), chunks=(4, 8), dtype="float16")
    with pytest.raises(ValueError, match="rank"):  # a fan rule the shape cannot satisfy
        aid.array(ai.VarianceScaling(seed=0, in_axis=3), (8, 8), chunks=(4, 8))


ABSURD = 2**62


@pytest.mark.parametrize(
    "call",
    [
        lambda: ai.random.normal((ABSURD,), seed=0, xp=da),
        lambda: ai.random.bits((ABSURD,), seed=0, xp=da),
        lambda: ai.HeNormal(seed=0)((2**31, 2**31), xp=da),
        lambda: aid.array(ai.GlorotUniform(seed=0), (ABSURD // 4, 4)),  # chunks="auto"
        lambda: ai.random.uniform((2**61,), seed=0, dtype="complex64", xp=da),
        lambda: ai.Zeros()((ABSURD,), xp=da),
    ],
    ids=["normal", "bits", "he_normal_2d", "dask_array", "complex", "zeros"],
)
def test_absurd_lazy_arrays_are_a_value_error_naming_shape(call):
    with pytest.raises(
        ValueError, match=r"^Argument `shape` asks for [\d,.]+ GiB \(\d+ values of \d+ bytes\) in "
    ) as info:
        call()
    assert "more than a dask array can hold (at most 16,777,216 chunks). Received: shape=(" in str(info.value)


@pytest.mark.parametrize("chunks", [1, (1000,), "1 KiB", {0: 1}], ids=str)
def test_too_many_chunks_name_chunks(chunks):
    with pytest.raises(ValueError, match=r"^Argument `chunks` splits the shape \(1099511627776,\) into ") as info:
        ai.random.normal((2**40,), seed=0, xp=da, chunks=chunks)
    assert str(info.value).endswith(f"give larger chunks. Received: chunks={chunks!r}")


def test_chunks_that_do_not_fit_still_say_so():
    with pytest.raises(
        ValueError, match=r"^Argument `chunks` does not fit the shape \(10,\): .* Received: chunks=\(3, 4\)$"
    ):
        ai.random.normal((10,), seed=0, xp=da, chunks=(3, 4))
    with pytest.raises(ValueError, match=r"^Argument `chunks` does not fit the shape"):
        ai.random.normal((4,), seed=0, dtype="complex64", xp=da, chunks=(3, 4))  # the complex path as well


def test_large_lazy_arrays_below_the_limit_are_made():
    x = ai.random.normal((2**40,), seed=0, xp=da)  # 4 TiB in 32,768 chunks of 128 MiB: lazy, never computed
    assert x.numblocks == (32768,)
    np.testing.assert_array_equal(x[:5].compute(scheduler="synchronous"), ai.random.normal((5,), seed=0))
