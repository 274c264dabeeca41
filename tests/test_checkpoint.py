"""Sharded safetensors checkpoints (materialize --out FOLDER): the plan, the files, parallel writers, resume,
interrupts."""

import contextlib
import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import arrayinit as ai
from arrayinit import _blocks, _checkpoint, _safetensors, cli
from arrayinit.cli import _materialize, _resources

SRC = pathlib.Path(ai.__file__).resolve().parent.parent
SPEC = {
    "seed": 7,
    "dtype": "bfloat16",
    "metadata": {"model": "test"},
    "parameters": {
        "embed.weight": {
            "shape": [500, 64],
            "initializer": {"class_name": "TruncatedNormal", "config": {"stddev": 0.02}},
        },
        "layers.0.w": {"shape": [64, 192], "initializer": "glorot_uniform"},
        "layers.0.norm": {"shape": [64], "initializer": "ones", "dtype": "float32"},
        "layers.0.q": {"shape": [64, 64], "initializer": "orthogonal", "dtype": "float64"},
        "layers.1.w": {"shape": [64, 192], "initializer": "he_normal", "dtype": "float16"},
        "big": {"shape": [300, 200], "initializer": "lecun_uniform", "dtype": "float32"},
        "scale": {"shape": [], "initializer": {"class_name": "Constant", "config": {"value": 2.5}}},
    },
}
SHARD = 40_000  # bytes of data per shard: several shards, one tensor ("big", 240,000 bytes) above the size


def _write_spec(tmp_path, spec=SPEC) -> pathlib.Path:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    return path


def _partials(folder) -> list[str]:
    return sorted(p.name for p in pathlib.Path(folder).rglob(".arrayinit-*"))


def _tensor_bytes(path) -> dict[str, bytes]:
    """Every tensor of a safetensors file: name -> its data bytes (any dtype, bfloat16 included)."""
    header = _safetensors.read_header(path)
    data = pathlib.Path(path).read_bytes()
    start = 8 + struct_len(data)
    return {
        name: data[start + e["data_offsets"][0] : start + e["data_offsets"][1]]
        for name, e in header.items()
        if name != _safetensors.METADATA_KEY
    }


def struct_len(data: bytes) -> int:
    return int.from_bytes(data[:8], "little")


def _read_checkpoint(folder) -> dict[str, bytes]:
    """The tensors of a checkpoint, found through its index."""
    index = json.loads((pathlib.Path(folder) / _checkpoint.INDEX_NAME).read_text())
    out: dict[str, bytes] = {}
    for name in sorted(set(index["weight_map"].values())):
        out.update(_tensor_bytes(pathlib.Path(folder) / name))
    assert set(out) == set(index["weight_map"])
    for tensor, shard in index["weight_map"].items():
        assert tensor in _tensor_bytes(pathlib.Path(folder) / shard)
    assert index["metadata"]["total_size"] == sum(len(b) for b in out.values())
    return out


def _files(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(pathlib.Path(folder).iterdir())}


@pytest.fixture(scope="module")
def single_file(tmp_path_factory):
    """The spec written as one file by materialize: the reference values."""
    tmp = tmp_path_factory.mktemp("single")
    out = tmp / "model.safetensors"
    assert cli.main(["materialize", str(_write_spec(tmp)), "--out", str(out), "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def sharded(tmp_path_factory):
    """The spec written as a sharded checkpoint in this process: the reference files."""
    tmp = tmp_path_factory.mktemp("sharded")
    out = tmp / "ckpt"
    args = ["materialize", str(_write_spec(tmp)), "--out", str(out), "--max-shard-size", str(SHARD), "--quiet"]
    assert cli.main(args) == 0
    return _files(out)


# --- the plan ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "nbytes"),
    [
        ("5GB", 5 * 10**9),
        ("500MB", 500 * 10**6),
        ("1.5GB", 1_500_000_000),
        ("2GiB", 2 * 2**30),
        ("512mib", 512 * 2**20),
        ("100kB", 100_000),
        ("4096", 4096),
        (123, 123),
    ],
)
def test_sizes_are_decimal_or_binary(text, nbytes):
    assert _checkpoint.parse_size(text) == nbytes


@pytest.mark.parametrize("bad", ["", "5XB", "-1GB", "0", "GB", "1e9", 0, -5, 1.5, True, None])
def test_bad_sizes_name_the_argument_and_value(bad):
    with pytest.raises((ValueError, TypeError), match=r"max_shard_size") as e:
        _checkpoint.parse_size(bad)
    assert "Received" in str(e.value)


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(
    st.lists(st.integers(0, 5000), min_size=0, max_size=40),
    st.integers(1, 6000),
)
def test_shard_ranges_are_the_greedy_split_in_order(sizes, limit):
    ranges = _checkpoint.shard_ranges(sizes, limit)
    # consecutive, in order, every tensor once, no empty shard
    assert [i for a, b in ranges for i in range(a, b)] == list(range(len(sizes)))
    assert all(b > a for a, b in ranges)
    for k, (a, b) in enumerate(ranges):
        total = sum(sizes[a:b])
        assert total <= limit or b - a == 1  # only a lone tensor passes the size
        if k + 1 < len(ranges):
            # a new shard starts only when the next tensor would take this one past the size
            assert total + sizes[b] > limit


@settings(max_examples=40, derandomize=True, database=None, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 40), st.integers(1, 30)), min_size=1, max_size=8),
    st.integers(1, 4000),
)
def test_a_plan_names_and_sizes_every_shard(shapes, limit):
    tensors = [
        _checkpoint.Tensor(f"t{i}", shape, "float32", _checkpoint.FromInitializer(ai.Zeros()))
        for i, shape in enumerate(shapes)
    ]
    ckpt = _checkpoint.plan(tensors, limit, {"k": "v"})
    index = ckpt.index()
    n = ckpt.num_shards
    assert list(index["weight_map"]) == [f"t{i}" for i in range(len(shapes))]
    assert sorted(set(index["weight_map"].values())) == [
        f"model-{i:05d}-of-{n:05d}.safetensors" for i in range(1, n + 1)
    ]
    assert index["metadata"] == {"k": "v", "total_size": sum(4 * a * b for a, b in shapes)}
    for i in range(n):
        entries = ckpt.shard_entries(i)
        assert ckpt.shard_size(i) == _safetensors.file_size(entries, ckpt.shard_metadata(i))


def test_the_plan_fingerprint_changes_with_any_recipe():
    def fingerprint(init, name="w", shape=(4, 4), dtype="float32"):
        t = _checkpoint.Tensor(name, shape, dtype, _checkpoint.FromInitializer(init))
        return _checkpoint.plan([t], "1GB").shard_metadata(0)["plan"]

    base = fingerprint(ai.TruncatedNormal(stddev=0.02, seed=1))
    assert base == fingerprint(ai.TruncatedNormal(stddev=0.02, seed=1))
    assert base != fingerprint(ai.TruncatedNormal(stddev=0.01, seed=1))
    assert base != fingerprint(ai.TruncatedNormal(stddev=0.02, seed=2))
    assert base != fingerprint(ai.RandomNormal(stddev=0.02, seed=1))
    assert base != fingerprint(ai.TruncatedNormal(stddev=0.02, seed=1), dtype="float16")


# --- the files ---------------------------------------------------------------------------------


def test_sharded_values_equal_the_single_file(tmp_path, single_file, sharded):
    names = [n for n in sharded if n.endswith(".safetensors")]
    assert len(names) >= 4
    folder = tmp_path / "ckpt"
    folder.mkdir()
    for name, data in sharded.items():
        (folder / name).write_bytes(data)
    got = _read_checkpoint(folder)
    want = _tensor_bytes(single_file)
    assert got == want
    assert list(json.loads(sharded[_checkpoint.INDEX_NAME])["weight_map"]) == list(SPEC["parameters"])
    # a tensor above the size is a shard alone, the order is the spec's
    index = json.loads(sharded[_checkpoint.INDEX_NAME])
    big = index["weight_map"]["big"]
    assert [t for t, f in index["weight_map"].items() if f == big] == ["big"]
    meta = _safetensors.read_header(folder / big)[_safetensors.METADATA_KEY]
    assert {k: meta[k] for k in ("generator", "seed", "model", "format")} == {
        "generator": "arrayinit",
        "seed": "7",
        "model": "test",
        "format": "pt",
    }


def test_the_safetensors_package_reads_the_shards(tmp_path, sharded):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    folder = tmp_path / "ckpt"
    folder.mkdir()
    for name, data in sharded.items():
        (folder / name).write_bytes(data)
    index = json.loads((folder / _checkpoint.INDEX_NAME).read_text())
    spec = ai.cli.plan_spec(SPEC)
    for name, shape, dtype, init in spec:
        if dtype == "bfloat16":  # safetensors.numpy cannot read BF16 (compared through the bytes above)
            continue
        values = safetensors_numpy.load_file(str(folder / index["weight_map"][name]))[name]
        np.testing.assert_array_equal(values, init(shape, dtype))


@pytest.mark.parametrize("workers", [2, 4])
def test_the_same_bytes_with_any_number_of_workers(tmp_path, sharded, workers):
    out = tmp_path / "ckpt"
    args = ["materialize", str(_write_spec(tmp_path)), "--out", str(out), "--max-shard-size", str(SHARD)]
    assert cli.main([*args, "--workers", str(workers), "--quiet"]) == 0
    assert _files(out) == sharded
    assert _partials(tmp_path) == []


def test_workers_start_under_a_temporary_folder_too_long_for_a_unix_socket(tmp_path, monkeypatch, sharded):
    deep = tmp_path / ("t" * 60) / ("t" * 60)
    deep.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    monkeypatch.setenv("TMPDIR", str(deep))
    out = tmp_path / "ckpt"
    args = ["materialize", str(_write_spec(tmp_path)), "--out", str(out), "--max-shard-size", str(SHARD)]
    assert cli.main([*args, "--workers", "2", "--quiet"]) == 0
    assert _files(out) == sharded


def test_the_bytes_do_not_depend_on_the_block_size(tmp_path, monkeypatch, sharded):
    monkeypatch.setattr(_blocks, "BLOCK_VALUES", 1000)
    out = tmp_path / "ckpt"
    args = ["materialize", str(_write_spec(tmp_path)), "--out", str(out), "--max-shard-size", str(SHARD), "--quiet"]
    assert cli.main(args) == 0
    assert _files(out) == sharded


def test_one_shard_when_everything_fits(tmp_path):
    out = tmp_path / "ckpt"
    assert cli.main(["materialize", str(_write_spec(tmp_path)), "--out", str(out), "--quiet"]) == 0
    assert sorted(os.listdir(out)) == ["model-00001-of-00001.safetensors", _checkpoint.INDEX_NAME]


def test_progress_counts_the_bytes_of_the_whole_checkpoint(tmp_path, monkeypatch):
    seen = []
    real = _materialize.Progress

    class Spy(real):
        def __init__(self, total, label, stream=None, enabled=True, unit="value", initial=0):
            super().__init__(total, label, stream, enabled, unit, initial)
            seen.append(self)

    monkeypatch.setattr(_materialize, "Progress", Spy)
    out = tmp_path / "ckpt"
    args = ["materialize", str(_write_spec(tmp_path)), "--out", str(out), "--max-shard-size", str(SHARD), "--quiet"]
    assert cli.main(args) == 0
    files = [p for p in out.iterdir() if p.suffix == ".safetensors"]
    (bar,) = seen
    assert bar.unit == "B"
    assert bar.total == bar.done == sum(p.stat().st_size for p in files)
    # a rerun: everything is there, the bar starts full
    seen.clear()
    removed = files[0].stat().st_size
    files[0].unlink()
    assert cli.main(args) == 0
    (bar,) = seen
    assert bar.initial == bar.total - removed
    assert bar.done == bar.total


# --- resume --------------------------------------------------------------------------------------


def test_a_rerun_writes_only_missing_or_mismatched_shards(tmp_path, monkeypatch, sharded):
    out = tmp_path / "ckpt"
    out.mkdir()
    for name, data in sharded.items():
        (out / name).write_bytes(data)
    shards = sorted(n for n in sharded if n.endswith(".safetensors"))
    (out / shards[0]).unlink()  # missing
    (out / shards[1]).write_bytes(sharded[shards[1]][:-8])  # truncated
    (out / _checkpoint.INDEX_NAME).unlink()
    written = []
    real = _checkpoint.write_shard
    monkeypatch.setattr(
        _checkpoint, "write_shard", lambda c, i, f, w=lambda n: None: (written.append(i), real(c, i, f, w))
    )
    args = ["materialize", str(_write_spec(tmp_path)), "--out", str(out), "--max-shard-size", str(SHARD), "--quiet"]
    assert cli.main(args) == 0
    assert written == [0, 1]
    assert _files(out) == sharded
    written.clear()
    assert cli.main(args) == 0  # complete: nothing to write, the index again
    assert written == []
    assert _files(out) == sharded


def test_a_changed_spec_rewrites_the_shards_it_changes(tmp_path, monkeypatch, sharded):
    out = tmp_path / "ckpt"
    args = ["materialize", "", "--out", str(out), "--max-shard-size", str(SHARD), "--quiet"]
    assert cli.main([*args[:1], str(_write_spec(tmp_path)), *args[2:]]) == 0
    changed = json.loads(json.dumps(SPEC))
    changed["parameters"]["big"]["initializer"] = "he_uniform"  # same names, shapes and dtypes
    written = []
    real = _checkpoint.write_shard
    monkeypatch.setattr(
        _checkpoint, "write_shard", lambda c, i, f, w=lambda n: None: (written.append(i), real(c, i, f, w))
    )
    assert cli.main([*args[:1], str(_write_spec(tmp_path, changed)), *args[2:]]) == 0
    index = json.loads((out / _checkpoint.INDEX_NAME).read_text())
    big = index["weight_map"]["big"]
    assert [_checkpoint.shard_name(i, len(set(index["weight_map"].values()))) for i in written] == [big]
    want = ai.HeUniform(seed=ai.derive_seed(7, "big"))((300, 200), "float32")
    assert _tensor_bytes(out / big)["big"] == want.tobytes()


def test_shards_of_another_plan_are_removed_when_the_index_is_written(tmp_path):
    out = tmp_path / "ckpt"
    spec = _write_spec(tmp_path)
    assert cli.main(["materialize", str(spec), "--out", str(out), "--max-shard-size", str(SHARD), "--quiet"]) == 0
    (out / "notes.txt").write_text("kept")
    assert cli.main(["materialize", str(spec), "--out", str(out), "--quiet"]) == 0
    assert sorted(os.listdir(out)) == ["model-00001-of-00001.safetensors", _checkpoint.INDEX_NAME, "notes.txt"]


def test_an_interrupt_leaves_complete_shards_no_partial_and_no_index(tmp_path, monkeypatch, sharded, capsys):
    out = tmp_path / "ckpt"
    args = ["materialize", str(_write_spec(tmp_path)), "--out", str(out), "--max-shard-size", str(SHARD), "--quiet"]
    assert cli.main(args) == 0  # a complete checkpoint, whose index the interrupted rerun must take away
    for p in list(out.iterdir())[:3]:
        if p.name != _checkpoint.INDEX_NAME:
            p.unlink()
    real = _checkpoint.write_shard
    calls = []

    def interrupted(ckpt, i, folder, written=lambda n: None):
        calls.append(i)
        if len(calls) == 2:
            real_blocks = ckpt.shard_tensors(i)[0].source.blocks

            def blocks(shape, dtype, w):
                yield from real_blocks(shape, dtype, w)
                assert _partials(folder)
                raise cli.Interrupted(signal.SIGTERM)

            object.__setattr__(ckpt.shard_tensors(i)[0].source, "blocks", blocks)
        return real(ckpt, i, folder, written)

    monkeypatch.setattr(_checkpoint, "write_shard", interrupted)
    assert cli.main(args) == 128 + signal.SIGTERM
    assert capsys.readouterr().err.strip().endswith("interrupted by SIGTERM; no partial file left")
    assert _partials(tmp_path) == []
    assert not (out / _checkpoint.INDEX_NAME).exists()
    monkeypatch.undo()
    assert cli.main(args) == 0
    assert _files(out) == sharded


def _cli_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_sigterm_at_random_moments_then_resume(tmp_path):
    """SIGTERM at random moments (fixed seed): never a partial file, an index only when complete; a rerun
    then completes the checkpoint with the uninterrupted bytes. The assertions hold whenever the signal lands."""
    names = [f"layers.{i}.{k}" for i in range(6) for k in ("w", "v")]
    big = {"seed": 1, "parameters": {n: {"shape": [2048, 2048], "initializer": "he_normal"} for n in names}}
    spec = _write_spec(tmp_path, big)
    shard = str(32 * 2**20)  # 192 MiB in 6 shards
    reference = tmp_path / "reference"
    t0 = time.perf_counter()
    assert cli.main(["materialize", str(spec), "--out", str(reference), "--max-shard-size", shard, "--quiet"]) == 0
    writing = time.perf_counter() - t0  # about how long the shards take: the signals land within it (or after)
    want = _files(reference)
    rng = random.Random(0)
    launch = (
        "import signal, sys\n"
        "for s in (signal.SIGINT, signal.SIGTERM):\n"
        "    signal.signal(s, signal.SIG_DFL)\n"
        "from arrayinit import cli\n"
        "sys.exit(cli.main(sys.argv[1:]))\n"
    )
    for run, workers in enumerate([1, 2, 1, 2]):
        out = tmp_path / f"ckpt{run}"
        args = ["materialize", str(spec), "--out", str(out), "--max-shard-size", shard, "--quiet"]
        args += ["--workers", str(workers)]
        for attempt in range(2):
            proc = subprocess.Popen(
                [sys.executable, "-c", launch, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_cli_env()
            )
            deadline = time.monotonic() + 300  # only against a hang
            while not (out.exists() and _partials(out)) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.002)  # until the first shard is being written
            time.sleep(rng.uniform(0, 1.2 * writing))
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=300)
            # -SIGTERM: the signal landed before the command set its handlers (nothing was written)
            assert proc.returncode in (0, 128 + signal.SIGTERM, -signal.SIGTERM), err
            assert _partials(tmp_path) == [], (run, attempt)
            if proc.returncode == 128 + signal.SIGTERM:
                assert err.strip().splitlines() == [
                    b"arrayinit materialize: interrupted by SIGTERM; no partial file left"
                ]
            have = _files(out) if out.exists() else {}
            if proc.returncode == 0 or _checkpoint.INDEX_NAME in have:
                assert have == want  # an index means every shard is there and complete
            for name, data in have.items():
                assert data == want[name]  # what stays is complete
        assert cli.main(args) == 0
        assert _files(out) == want


# --- errors ----------------------------------------------------------------------------------------


def _error(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--max-shard-size", "5XB"], "--max-shard-size must be a size such as 5GB"),
        (["--max-shard-size", "0"], "--max-shard-size must be a positive size. Received: --max-shard-size '0'"),
        (["--workers", "0"], "argument --workers: must be an integer from 1 to 1024. Received: '0'"),
        (["--workers", "two"], "argument --workers: must be an integer from 1 to 1024"),
    ],
)
def test_bad_options_are_one_error_line(tmp_path, capsys, extra, message):
    out = tmp_path / "ckpt"
    with pytest.raises(SystemExit) if extra[0] == "--workers" else contextlib.nullcontext() as e:
        rc = cli.main(["materialize", str(_write_spec(tmp_path)), "--out", str(out), *extra])
    assert (e.value.code if e else rc) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("arrayinit materialize: error: ")
    assert message in err[-1]
    assert e or len(err) == 1  # argparse's own errors come after the usage
    assert not out.exists() or not os.listdir(out)


def test_out_that_is_a_file_or_workers_with_one_file_are_errors(tmp_path, capsys):
    spec = str(_write_spec(tmp_path))
    (tmp_path / "taken").write_text("x")
    assert cli.main(["materialize", spec, "--out", str(tmp_path / "taken"), "--quiet"]) == 2
    assert "--out: " in (line := _error(capsys))
    assert "is not a folder" in line
    assert cli.main(["materialize", spec, "--out", str(tmp_path / "no" / "ckpt"), "--quiet"]) == 2
    assert "--out: cannot create the folder" in _error(capsys)
    assert cli.main(["materialize", spec, "--out", str(tmp_path / "m.safetensors"), "--workers", "2"]) == 2
    assert "give a folder as --out" in _error(capsys)
    assert (tmp_path / "taken").read_text() == "x"


def test_free_disk_is_checked_before_any_shard_is_written(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(_resources, "free_disk", lambda path: 1000)
    out = tmp_path / "ckpt"
    args = ["materialize", str(_write_spec(tmp_path)), "--out", str(out), "--max-shard-size", str(SHARD)]
    assert cli.main(args) == 2
    line = _error(capsys)
    assert "--out" in line
    assert "the shards to write need" in line
    assert "1000 bytes free" in line
    assert os.listdir(out) == []


def test_memory_is_checked_for_each_worker(tmp_path, capsys, monkeypatch):
    need = _blocks.working_memory(ai.LecunUniform(), (300, 200), "float32")
    monkeypatch.setattr(_resources, "available_memory", lambda: need * 2 - 1)
    out = tmp_path / "ckpt"
    args = ["materialize", str(_write_spec(tmp_path)), "--out", str(out), "--max-shard-size", str(SHARD), "--quiet"]
    assert cli.main([*args, "--workers", "2"]) == 2
    assert "in each of 2 worker processes" in _error(capsys)
    assert cli.main(args) == 0


def test_a_worker_error_is_the_command_error(tmp_path, capsys, monkeypatch):
    # a shard whose file cannot be created (a folder in its place): the worker's error, one line, exit 2
    out = tmp_path / "ckpt"
    out.mkdir()
    ckpt_names = _materialize.checkpoint_of(ai.cli.plan_spec(SPEC), {}, SHARD)
    (out / ckpt_names.shard_name(1)).mkdir()
    args = ["materialize", str(_write_spec(tmp_path)), "--out", str(out), "--max-shard-size", str(SHARD), "--quiet"]
    assert cli.main([*args, "--workers", "2"]) == 2
    assert "it is a folder" in _error(capsys)
    assert _partials(tmp_path) == []
    assert not (out / _checkpoint.INDEX_NAME).exists()


def test_help_says_sizes_are_decimal():
    text = cli.build_parser()._subparsers._group_actions[0].choices["materialize"].format_help()
    assert "--max-shard-size" in text
    assert "1GB = 10**9" in text
    assert "--workers" in text
