"""The arrayinit command: demo, sample, materialize, warmup, bench."""

import argparse
import contextlib
import errno
import io
import json
import math
import os
import pathlib
import re
import signal
import struct
import subprocess
import sys
import time

import numpy as np
import pytest

import arrayinit as ai
from arrayinit import _bench, _blocks, _engine, _safetensors, cli
from arrayinit.cli import (
    _arguments,
    _checks,
    _demo,
    _materialize,
    _plots,
    _progress,
    _resources,
    _sample,
    _signals,
    _warmup,
)

SRC = pathlib.Path(ai.__file__).resolve().parent.parent
# the safetensors package is no dependency of arrayinit nor of any nox session: the cross-checks run where it is
SAFETENSORS_SKIP = "cross-check with the safetensors package (installed by the test extra: pip install safetensors)"


def test_demo_statistics_match_theory(tmp_path):
    buf = io.StringIO()
    png = tmp_path / "demo.png"
    rows = cli.demo(seed=0, out=buf, plot=str(png))
    text = buf.getvalue()
    for name in ("he_normal", "glorot_uniform", "truncated_normal"):
        assert name in text
    assert len(rows) == len(_demo.DEMO_CASES)
    for r in rows:
        n = math.prod(r["shape"])
        assert r["lo"] <= r["min"]
        assert r["max"] <= r["hi"]
        assert abs(r["std"] / r["std_theory"] - 1) < 6 / math.sqrt(n) + 1e-3
        assert abs(r["mean"]) < 6 * r["std_theory"] / math.sqrt(n)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_he_normal_worked_case():
    # Keras he_normal on (256, 128): pre-truncation stddev sqrt(2/256)/0.8796 = 0.10049, cut at +-0.20098
    # (2 * 0.100484 = 0.200968; the seed document rounds the stddev first)
    x, _std_theory, lo, hi, _pdf = _demo.sample("he_normal", (256, 128), seed=0)
    assert abs(hi - 0.20098) < 2e-5
    assert abs(lo + 0.20098) < 2e-5
    assert abs(x.std() - math.sqrt(2 / 256)) < 0.002
    assert x.min() >= lo
    assert x.max() <= hi


def test_main_demo_exit_code(capsys, tmp_path):
    assert cli.main(["demo", "--seed", "3", "--dtype", "bfloat16", "--plot", str(tmp_path / "d.png")]) == 0
    out = capsys.readouterr().out
    assert "seed=3" in out
    assert "every sample lies inside its bounds" in out
    assert "OUTSIDE" not in out
    assert cli.main(["demo", "--no-plot"]) == 0


def _read_safetensors(path):
    header = _safetensors.read_header(path)
    with open(path, "rb") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
        fh.seek(8 + n)
        data = fh.read()
    out = {}
    kinds = {"F32": np.float32, "F64": np.float64, "BF16": np.uint16, "F16": np.float16}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        out[name] = (np.frombuffer(data[a:b], kinds[info["dtype"]]).reshape(info["shape"]), info["dtype"])
    return header, out


@pytest.mark.parametrize(
    ("fmt", "dtype", "kind"),
    [("npy", "float16", None), ("npy", "float64", None), ("safetensors", "bfloat16", "BF16")],
)
def test_sample_writes_the_values(tmp_path, capsys, fmt, dtype, kind):
    out = tmp_path / f"x.{fmt}"
    code = cli.main(["sample", "he_normal", "--shape", "64,32", "--seed", "5", "--dtype", dtype, "--out", str(out)])
    assert code == 0
    want = ai.HeNormal(seed=5)((64, 32), dtype)
    if fmt == "npy":
        got = np.load(out)
        assert got.dtype == want.dtype
    else:
        _, tensors = _read_safetensors(out)
        got, got_kind = tensors["x"]
        assert got_kind == kind
    np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8))
    assert "std=" in capsys.readouterr().out


def test_sample_json_initializer_and_plot(tmp_path):
    cfg = json.dumps({"class_name": "TruncatedNormal", "config": {"stddev": 0.02, "seed": 4}})
    png = tmp_path / "s.png"
    assert cli.main(["sample", cfg, "--shape", "128,128", "--out", str(tmp_path / "t.npy"), "--plot", str(png)]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "t.npy"), ai.TruncatedNormal(stddev=0.02, seed=4)((128, 128)))
    assert png.exists()


TRANSFORMER = {
    "seed": 42,
    "dtype": "bfloat16",
    "parameters": {
        "embed.weight": {
            "shape": [1000, 64],
            "initializer": {"class_name": "TruncatedNormal", "config": {"stddev": 0.02}},
        },
        "layers.0.attn.qkv.weight": {"shape": [64, 192], "initializer": "glorot_uniform"},
        "layers.0.attn.out.weight": {"shape": [64, 64], "initializer": "he_normal", "dtype": "float32"},
        "layers.0.mlp.up.weight": {"shape": [64, 256], "initializer": "lecun_normal"},
        "layers.0.mlp.down.weight": {"shape": [256, 64], "initializer": "orthogonal"},
        "layers.0.norm.weight": {"shape": [64], "initializer": "ones", "dtype": "float32"},
        "layers.0.norm.bias": {"shape": [64], "initializer": "zeros", "dtype": "float32"},
        "head.weight": {"shape": [64, 1000], "initializer": "variance_scaling", "seed": 7},
    },
}


def test_materialize_transformer_equals_per_parameter_calls(tmp_path, capsys):
    spec = tmp_path / "model.json"
    spec.write_text(json.dumps(TRANSFORMER))
    out = tmp_path / "model.safetensors"
    assert cli.main(["materialize", str(spec), "--out", str(out)]) == 0
    header, tensors = _read_safetensors(out)
    assert header["__metadata__"]["generator"] == "arrayinit"
    assert set(tensors) == set(TRANSFORMER["parameters"])
    for name, p in TRANSFORMER["parameters"].items():
        init = ai.get(p["initializer"])
        cfg = init.get_config()
        if "seed" in cfg:
            init = type(init).from_config({**cfg, "seed": p.get("seed", ai.derive_seed(42, name))})
        dtype = p.get("dtype", "bfloat16")
        want = init(tuple(p["shape"]), dtype)
        got, _ = tensors[name]
        np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8), err_msg=name)
    assert list(tmp_path.glob(".arrayinit-*")) == []
    safetensors = pytest.importorskip("safetensors.numpy", reason=SAFETENSORS_SKIP)
    loaded = safetensors.load_file(str(out))
    np.testing.assert_array_equal(loaded["layers.0.attn.out.weight"], tensors["layers.0.attn.out.weight"][0])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"parameters": {}}, "non-empty"),
        ({"parameters": {"w": {"shape": [3, -1], "initializer": "he_normal"}}}, "non-negative"),
        ({"parameters": {"w": {"shape": [3, 3], "initializer": "no_such"}}}, "Unknown initializer"),
        ({"parameters": {"w": {"shape": [3, 3]}}}, "required"),
        ({"parameters": {"w": {"shape": [3, 3], "initializer": "he_normal", "bogus": 1}}}, "unknown keys"),
        ({"parameters": {"w": {"shape": [3, 3], "initializer": "he_normal", "dtype": "int8"}}}, "floating point"),
        ({"params": {}}, "Unknown keys"),
        (
            {
                "parameters": {
                    "ok": {"shape": [4], "initializer": "zeros"},
                    "bad": {"shape": [5], "initializer": "orthogonal"},
                }
            },
            "rank >= 2",
        ),
    ],
)
def test_broken_spec_is_a_clear_error_and_leaves_no_file(tmp_path, capsys, spec, message):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    out = tmp_path / "model.safetensors"
    assert cli.main(["materialize", str(path), "--out", str(out), "--quiet"]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
    assert list(tmp_path.glob(".arrayinit-*")) == []


def test_invalid_json_and_yaml_specs(tmp_path, capsys):
    p = tmp_path / "spec.json"
    p.write_text("{not json")
    assert cli.main(["materialize", str(p), "--out", str(tmp_path / "m.safetensors")]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    yaml = pytest.importorskip("yaml", reason="YAML specs need PyYAML")
    y = tmp_path / "spec.yaml"
    y.write_text(yaml.safe_dump({"seed": 1, "parameters": {"w": {"shape": [8, 8], "initializer": "he_uniform"}}}))
    assert cli.main(["materialize", str(y), "--out", str(tmp_path / "m.safetensors"), "--quiet"]) == 0


def test_materialize_keeps_explicit_config_seed_and_rejects_string_shapes(tmp_path, capsys):
    cfg = {"class_name": "TruncatedNormal", "config": {"stddev": 0.1, "seed": 3}}
    spec = {
        "seed": 1,
        "parameters": {"w": {"shape": [16, 8], "initializer": cfg}, "z": {"shape": [0, 4], "initializer": "he_normal"}},
    }
    path = tmp_path / "s.json"
    path.write_text(json.dumps(spec))
    out = tmp_path / "m.safetensors"
    assert cli.main(["materialize", str(path), "--out", str(out), "--quiet"]) == 0
    _, tensors = _read_safetensors(out)
    np.testing.assert_array_equal(tensors["w"][0], ai.TruncatedNormal(stddev=0.1, seed=3)((16, 8)))
    assert tensors["z"][0].shape == (0, 4)
    spec["parameters"]["w"]["shape"] = "64"
    path.write_text(json.dumps(spec))
    assert cli.main(["materialize", str(path), "--out", str(tmp_path / "n.safetensors")]) == 2
    assert "list of non-negative integers" in capsys.readouterr().err


# --- review fixes: validation before generation, shapes, modes, metadata, devices, seeds, paths ---


@pytest.fixture
def generated(monkeypatch):
    """Number of values each engine call computes (the CPU engine fills every random tensor)."""
    sizes = []
    run_cpu = _engine.run_cpu

    def spy(plan, out):
        sizes.append(plan.size)
        return run_cpu(plan, out)

    monkeypatch.setattr(_engine, "run_cpu", spy)
    return sizes


def _write_spec(tmp_path, spec):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    return path


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"shape": [5], "initializer": "orthogonal"}, "The Orthogonal initializer requires a shape of rank >= 2"),
        ({"shape": [2, 3, 4], "initializer": "identity"}, "The Identity initializer can only be used for 2D"),
        (
            {
                "shape": [8],
                "dtype": "bfloat16",
                "initializer": {"class_name": "RandomUniform", "config": {"minval": 0.0, "maxval": 3.39e38}},
            },
            "The range [minval, maxval) must be finite and its width representable in bfloat16",
        ),
    ],
)
def test_materialize_checks_every_parameter_before_generating_any(
    tmp_path, capsys, monkeypatch, generated, bad, message
):
    writes = []
    monkeypatch.setattr(_safetensors, "write", lambda *a, **k: writes.append(a))
    spec = {"parameters": {"a": {"shape": [300, 300], "initializer": "he_normal"}, "b": bad}}
    out = tmp_path / "m.safetensors"
    assert cli.main(["materialize", str(_write_spec(tmp_path, spec)), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"parameter 'b': {message}" in err
    assert "tensors" not in err  # no progress bar: not one tensor was generated
    assert writes == []
    assert sum(generated) == 0
    assert not out.exists()


def test_plan_spec_runs_the_checks_without_generating(monkeypatch, generated):
    factored = []
    qr = np.linalg.qr

    def spy_qr(a, *args, **kwargs):
        factored.append(a.size)
        return qr(a, *args, **kwargs)

    monkeypatch.setattr(np.linalg, "qr", spy_qr)
    params = {
        "w": {"shape": [512, 256], "initializer": "orthogonal"},
        "v": {"shape": [300, 300], "initializer": "he_normal"},
        "e": {"shape": [256, 64], "initializer": "identity"},
    }
    plan = cli.plan_spec({"parameters": params})
    assert [name for name, *_ in plan] == list(params)
    assert factored == []  # Orthogonal's rank check needs no factorization
    assert sum(generated) <= 1
    # the spies do see generation: materializing the same plan computes every value
    factored.clear()
    for _name, shape, dtype, init in plan:
        init(shape, dtype)
    assert max(factored) == 512 * 256
    assert sum(generated) >= 300 * 300


@pytest.mark.parametrize("shape", [[3.7, 3], [True, 3], ["3", 3], [3, -1], "64", [None]])
def test_materialize_refuses_shapes_that_are_not_non_negative_integers(tmp_path, capsys, shape):
    spec = {
        "parameters": {"ok": {"shape": [2, 2], "initializer": "zeros"}, "w": {"shape": shape, "initializer": "ones"}}
    }
    path = _write_spec(tmp_path, spec)
    shape_read = json.loads(path.read_text())["parameters"]["w"]["shape"]  # as the spec reader sees it
    out = tmp_path / "m.safetensors"
    assert cli.main(["materialize", str(path), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "parameter 'w': 'shape' must be a list of non-negative integers" in err
    assert f"shape={shape_read!r}" in err
    assert not out.exists()


def _expected_mode(umask):
    return 0o666 & ~umask


@pytest.mark.skipif(os.name != "posix", reason="file modes and umask are POSIX")
@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_written_files_get_the_mode_of_a_normally_created_file(tmp_path, umask):
    spec = _write_spec(tmp_path, {"parameters": {"w": {"shape": [4, 4], "initializer": "he_normal"}}})
    previous = os.umask(umask)
    try:
        paths = [tmp_path / "m.safetensors", tmp_path / "x.npy", tmp_path / "x.safetensors"]
        assert cli.main(["materialize", str(spec), "--out", str(paths[0]), "--quiet"]) == 0
        for path in paths[1:]:
            assert cli.main(["sample", "he_normal", "--shape", "4,4", "--seed", "1", "--out", str(path)]) == 0
        with open(tmp_path / "plain", "wb"):
            pass
    finally:
        os.umask(previous)
    plain = (tmp_path / "plain").stat().st_mode & 0o777
    assert plain == _expected_mode(umask)
    for path in paths:
        assert path.stat().st_mode & 0o777 == plain, path.name


def test_materialize_writes_the_spec_metadata(tmp_path):
    spec = dict(TRANSFORMER, metadata={"model": "tiny-transformer", "license": "MIT"})
    out = tmp_path / "m.safetensors"
    assert cli.main(["materialize", str(_write_spec(tmp_path, spec)), "--out", str(out), "--quiet"]) == 0
    header, tensors = _read_safetensors(out)
    assert header["__metadata__"] == {"generator": "arrayinit", "seed": str(spec["seed"]), **spec["metadata"]}
    assert set(tensors) == set(spec["parameters"])
    safetensors = pytest.importorskip("safetensors", reason=SAFETENSORS_SKIP)
    with safetensors.safe_open(str(out), "numpy") as fh:
        assert fh.metadata() == header["__metadata__"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"parameters": {"__metadata__": {"shape": [2], "initializer": "zeros"}}},
            "parameter '__metadata__': the name '__metadata__' is reserved",
        ),
        (
            {"metadata": {"model": 3}, "parameters": {"w": {"shape": [2], "initializer": "zeros"}}},
            "metadata['model']=3",
        ),
        ({"metadata": ["a"], "parameters": {"w": {"shape": [2], "initializer": "zeros"}}}, "metadata=['a']"),
        ({"metadata": {"seed": "7"}, "parameters": {"w": {"shape": [2], "initializer": "zeros"}}}, "cannot set 'seed'"),
        (
            {"metadata": {"generator": "me"}, "parameters": {"w": {"shape": [2], "initializer": "zeros"}}},
            "cannot set 'generator'",
        ),
        ({"seed": -1, "parameters": {"w": {"shape": [2], "initializer": "zeros"}}}, "The spec's 'seed'"),
    ],
)
def test_metadata_name_and_entries_are_checked(tmp_path, capsys, spec, message):
    out = tmp_path / "m.safetensors"
    assert cli.main(["materialize", str(_write_spec(tmp_path, spec)), "--out", str(out), "--quiet"]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


@pytest.mark.parametrize(
    "device",
    [
        pytest.param("cuda:0", marks=pytest.mark.skipif(_cuda_available(), reason="this machine has a CUDA device")),
        "tpu",
    ],
)
def test_sample_on_an_unavailable_device_is_a_clean_error(tmp_path, capsys, device):
    out = tmp_path / "x.npy"
    argv = ["sample", "he_normal", "--shape", "3,4", "--seed", "0", "--device", device, "--out", str(out)]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("arrayinit sample: error: ")
    assert repr(device) in err
    assert not out.exists()


def _drawn_seed(text):
    found = re.findall(r"pass --seed (\d+) to reproduce", text)
    assert len(found) == 1, text
    return int(found[0])


def test_sample_without_seed_prints_the_seed_it_drew(tmp_path, capsys):
    seeds = []
    for i in range(2):
        assert cli.main(["sample", "glorot_uniform", "--shape", "16,8", "--out", str(tmp_path / f"{i}.npy")]) == 0
        text = capsys.readouterr().out
        assert "seed=None" not in text
        seeds.append(_drawn_seed(text))
        assert f"seed={seeds[-1]}" in text.splitlines()[0]  # the initializer's repr shows it too
    assert seeds[0] != seeds[1]
    again = tmp_path / "again.npy"
    assert cli.main(["sample", "glorot_uniform", "--shape", "16,8", "--seed", str(seeds[0]), "--out", str(again)]) == 0
    assert "to reproduce" not in capsys.readouterr().out
    np.testing.assert_array_equal(np.load(again), np.load(tmp_path / "0.npy"))
    np.testing.assert_array_equal(np.load(again), ai.GlorotUniform(seed=seeds[0])((16, 8)))
    cfg = json.dumps({"class_name": "RandomNormal", "config": {"seed": 11}})
    assert cli.main(["sample", cfg, "--shape", "4"]) == 0
    text = capsys.readouterr().out
    assert "seed=11" in text
    assert "to reproduce" not in text


@pytest.mark.parametrize("name", ["x.txt", "x.npz", "x"])
def test_sample_refuses_an_unsupported_out_before_sampling(tmp_path, capsys, generated, name):
    out = tmp_path / name
    assert cli.main(["sample", "he_normal", "--shape", "64,64", "--seed", "0", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert "--out must end in .npy or .safetensors" in captured.err
    assert repr(str(out)) in captured.err
    assert captured.out == ""  # nothing was sampled: no statistics printed
    assert generated == []
    assert not out.exists()


@pytest.mark.parametrize("option", ["--out", "--plot"])
def test_sample_refuses_an_empty_path_instead_of_ignoring_it(capsys, generated, option):
    assert cli.main(["sample", "ones", "--shape", "2", option, ""]) == 2
    captured = capsys.readouterr()
    assert f"error: {option} must end in" in captured.err
    assert captured.out == ""
    assert generated == []


@pytest.mark.parametrize("name", ["x.npy", "x.safetensors"])
def test_out_in_a_missing_folder_names_the_path_given(tmp_path, capsys, generated, name):
    out = str(tmp_path / "no" / "such" / name)
    assert cli.main(["sample", "he_normal", "--shape", "64,64", "--seed", "0", "--out", out]) == 2
    err = capsys.readouterr().err
    assert repr(out) in err
    assert ".arrayinit-" not in err
    assert generated == []
    spec = _write_spec(tmp_path, {"parameters": {"w": {"shape": [64, 64], "initializer": "he_normal"}}})
    out_m = str(tmp_path / "no" / "m.safetensors")
    assert cli.main(["materialize", str(spec), "--out", out_m, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert repr(out_m) in err
    assert ".arrayinit-" not in err
    assert sum(generated) == 0  # the spec's checks ran on empty blocks; no tensor was generated
    assert not (tmp_path / "no").exists()


def test_sample_refuses_bfloat16_in_npy(tmp_path, capsys, generated):
    out = tmp_path / "w.npy"
    assert cli.main(["sample", "he_normal", "--shape", "8,8", "--dtype", "bfloat16", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "bfloat16" in err
    assert ".safetensors" in err
    assert repr(str(out)) in err
    assert generated == []
    assert not out.exists()


def test_demo_names_a_sample_outside_its_bounds(monkeypatch, capsys):
    real = _demo.sample

    def leaky(name, shape, seed, dtype="float32"):
        x, std, lo, hi, density = real(name, shape, seed, dtype)
        x = x.copy()
        x.flat[0] = 2 * hi
        return x, std, lo, hi, density

    monkeypatch.setattr(_demo, "DEMO_CASES", [("glorot_uniform", (20, 10)), ("he_normal", (16, 8))])
    monkeypatch.setattr(_demo, "sample", lambda name, *a: (leaky if name == "he_normal" else real)(name, *a))
    assert cli.main(["demo", "--no-plot"]) == 1
    out = capsys.readouterr().out
    assert "every sample lies inside its bounds" not in out
    outside = [line for line in out.splitlines() if line.startswith("OUTSIDE")]
    assert len(outside) == 1
    assert "he_normal (16, 8)" in outside[0]


def test_bench_writes_into_the_current_folder_by_default(tmp_path, monkeypatch, capsys):
    seen = []
    monkeypatch.setattr(_bench, "run", lambda args: seen.append(args) or 0)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["bench", "--quick"]) == 0
    assert len(seen) == 1
    assert os.path.samefile(seen[0].results, tmp_path)
    assert seen[0].quick
    other = tmp_path / "other"
    other.mkdir()
    assert cli.main(["bench", "--results", str(other)]) == 0
    assert os.path.samefile(seen[1].results, other)
    missing = tmp_path / "missing"
    assert cli.main(["bench", "--results", str(missing)]) == 0  # a folder the user names may be new
    assert os.path.samefile(os.path.dirname(os.path.abspath(seen[2].results)), tmp_path)
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    assert cli.main(["bench", "--results", str(a_file)]) == 2
    assert repr(str(a_file)) in capsys.readouterr().err
    assert len(seen) == 3  # refused before benchmarking
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt", "other"]  # no benchmarks/ created
    with pytest.raises(SystemExit):
        cli.main(["bench", "--help"])
    assert "current directory" in capsys.readouterr().out
    if hasattr(os, "mkfifo"):  # an output that is not a regular file is refused before benchmarking
        os.mkfifo(other / "bench_cpu.json")
        assert cli.main(["bench", "--results", str(other)]) == 2
        line = _one_error_line(capsys.readouterr().err, "bench")
        assert f"--results: Cannot write {str(other / 'bench_cpu.json')!r}: it is a FIFO" in line
        assert len(seen) == 3


@pytest.mark.parametrize(
    ("param", "match"),
    [
        ({"shape": [2, 2], "initializer": {"class_name": "Constant", "config": {"value": 10**400}}}, "finite"),
        ({"shape": [2, 2], "initializer": "he_normal", "seed": None}, "seed"),
    ],
)
def test_materialize_reports_bad_values_without_a_traceback(tmp_path, capsys, param, match):
    path = _write_spec(tmp_path, {"parameters": {"w": param}})
    out = tmp_path / "m.safetensors"
    assert cli.main(["materialize", str(path), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "parameter 'w'" in err
    assert match in err
    assert "Traceback" not in err
    assert not out.exists()


# --- interrupts: no partial file, one line, 128 + the signal ---------------------------------------


def _partials(folder):
    return list(pathlib.Path(folder).glob(".arrayinit-*"))


def _cli_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_signal_during_materialize_leaves_no_partial_file(tmp_path, sig):
    signum = getattr(signal, sig)
    spec = {
        "parameters": {
            "w": {"shape": [64, 64], "initializer": "he_normal"},
            "b": {"shape": [64], "initializer": "zeros"},
        }
    }
    path = _write_spec(tmp_path, spec)
    out = tmp_path / "m.safetensors"
    writing = tmp_path / "writing"

    # the child restores the default handlers before the command starts: a child of a shell's background job
    # would otherwise inherit an ignored SIGINT (set here, not by preexec_fn: a fork hook of a threaded library
    # loaded in this process, such as jax, warns when a child is forked). Once the first tensor is in the file,
    # it says so and waits: the signal lands while the file is being written, however slow the machine.
    launch = (
        "import pathlib, signal, sys, time\n"
        "for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):\n"
        "    signal.signal(s, signal.SIG_DFL)\n"
        "from arrayinit import cli\n"
        "from arrayinit.cli import _materialize\n"
        "real = _materialize.tensor_blocks\n"
        "def blocks(*args, **kwargs):\n"
        "    yield from real(*args, **kwargs)\n"
        "    pathlib.Path(sys.argv[1]).touch()\n"
        "    while True:\n"
        "        time.sleep(1)\n"
        "_materialize.tensor_blocks = blocks\n"
        "sys.exit(cli.main(sys.argv[2:]))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", launch, str(writing), "materialize", str(path), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_cli_env(),
    )
    try:
        deadline = time.monotonic() + 300  # only against a hang: the child says when it is writing
        while not writing.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert writing.exists(), "the command never started writing"
        assert len(_partials(tmp_path)) == 1
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 128 + signum, err
    assert _partials(tmp_path) == []
    assert not out.exists()
    lines = err.strip().splitlines()
    assert lines == [f"arrayinit materialize: interrupted by {sig}; no partial file left"], err


@pytest.mark.skipif(os.name != "posix", reason="POSIX pipes")
def test_a_closed_stdout_ends_quietly():
    env = {**_cli_env(), "PYTHONUNBUFFERED": "1"}  # each line is written when printed: the pipe breaks in the command
    proc = subprocess.Popen(
        [sys.executable, "-m", "arrayinit.cli", "demo", "--no-plot"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    # closed before the first line is written, as `| head -0` does (a reader that closes after a line could be
    # too late on a busy machine: the whole output fits in the pipe's buffer)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=300) == 128 + 13
    assert err == ""


def test_an_interrupt_in_process_removes_the_partial_file(tmp_path, capsys, monkeypatch):
    real = _blocks.tensor_blocks

    def interrupted(init, shape, dtype, written=lambda n: None):
        yield from real(init, shape, dtype, written)
        assert _partials(tmp_path)  # the first tensor is in the temporary file
        raise cli.Interrupted(signal.SIGTERM)

    monkeypatch.setattr(_materialize, "tensor_blocks", interrupted)
    spec = {
        "parameters": {"a": {"shape": [64, 64], "initializer": "he_normal"}, "b": {"shape": [8], "initializer": "ones"}}
    }
    out = tmp_path / "m.safetensors"
    assert cli.main(["materialize", str(_write_spec(tmp_path, spec)), "--out", str(out)]) == 128 + signal.SIGTERM
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["arrayinit materialize: interrupted by SIGTERM; no partial file left"]
    assert _partials(tmp_path) == []
    assert not out.exists()


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signals")
def test_an_ignored_signal_stays_ignored(tmp_path):
    seen = []
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as nohup leaves it
    try:
        with _signals.signals_as_exceptions():
            seen.append(signal.getsignal(signal.SIGHUP))
            seen.append(signal.getsignal(signal.SIGTERM))
        seen.append(signal.getsignal(signal.SIGTERM))
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert seen[0] is signal.SIG_IGN
    assert callable(seen[1])  # ours while the command runs
    assert seen[2] is signal.SIG_DFL


# --- specs: duplicates, null dtypes, scalars, text, sizes -----------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (
            '{"parameters": {"w": {"shape": [2], "initializer": "ones"}, "w": {"shape": [3], "initializer": "zeros"}}}',
            "w",
        ),
        ('{"seed": 1, "seed": 2, "parameters": {"w": {"shape": [2], "initializer": "ones"}}}', "seed"),
        (
            '{"parameters": {"w": {"shape": [2], "initializer": '
            '{"class_name": "RandomNormal", "config": {"stddev": 1.0, "stddev": 2.0}}}}}',
            "stddev",
        ),
    ],
)
def test_a_key_given_twice_in_a_json_spec_is_an_error(tmp_path, capsys, text, key):
    path = tmp_path / "spec.json"
    path.write_text(text)
    out = tmp_path / "m.safetensors"
    assert cli.main(["materialize", str(path), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"gives the key {key!r} twice" in err
    assert not out.exists()


def test_a_key_given_twice_in_a_yaml_spec_is_an_error(tmp_path, capsys):
    pytest.importorskip("yaml", reason="YAML specs need PyYAML (installed by nox -s tests)")
    path = tmp_path / "spec.yaml"
    path.write_text(
        "seed: 1\nparameters:\n  w: {shape: [2], initializer: ones}\n  v: {shape: [2], initializer: zeros}\n"
        "  w: {shape: [3], initializer: zeros}\n"
    )
    out = tmp_path / "m.safetensors"
    assert cli.main(["materialize", str(path), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "gives the key 'w' twice in one mapping (line 5)" in err
    assert not out.exists()
    # YAML merge keys are not duplicates: explicit keys override merged ones
    path.write_text("base: &b {shape: [4], initializer: ones}\nparameters:\n  w: {<<: *b, shape: [2]}\n")
    assert cli.main(["materialize", str(path), "--out", str(out), "--quiet"]) == 2  # 'base' is not a spec key
    assert "Unknown keys in the spec: ['base']" in capsys.readouterr().err
    path.write_text("parameters:\n  w: &b {shape: [4], initializer: ones}\n  v: {<<: *b, shape: [2]}\n")
    assert cli.main(["materialize", str(path), "--out", str(out), "--quiet"]) == 0
    _, tensors = _read_safetensors(out)
    assert tensors["v"][0].shape == (2,)


@pytest.mark.parametrize(
    ("spec_dtype", "param_dtype", "kind"),
    [(None, None, "F32"), ("bfloat16", None, "BF16"), (None, "float64", "F64"), ("float16", None, "F16")],
)
def test_a_null_dtype_is_the_spec_default_else_float32(tmp_path, spec_dtype, param_dtype, kind):
    spec = {
        "dtype": spec_dtype,
        "parameters": {"w": {"shape": [8, 4], "initializer": "he_normal", "dtype": param_dtype}},
    }
    out = tmp_path / "m.safetensors"
    assert cli.main(["materialize", str(_write_spec(tmp_path, spec)), "--out", str(out), "--quiet"]) == 0
    header, tensors = _read_safetensors(out)
    assert header["w"]["dtype"] == kind
    name = {"F32": "float32", "BF16": "bfloat16", "F64": "float64", "F16": "float16"}[kind]
    want = ai.HeNormal(seed=ai.derive_seed(0, "w"))((8, 4), name)
    np.testing.assert_array_equal(tensors["w"][0].view(np.uint8), want.view(np.uint8))


def test_scalar_tensors_are_written_and_read_back_as_scalars(tmp_path, capsys):
    spec = {
        "parameters": {
            "s": {"shape": [], "initializer": "he_normal"},
            "c": {
                "shape": [],
                "initializer": {"class_name": "Constant", "config": {"value": 1.5}},
                "dtype": "bfloat16",
            },
            "v": {"shape": [3], "initializer": "ones"},
        }
    }
    out = tmp_path / "m.safetensors"
    assert cli.main(["materialize", str(_write_spec(tmp_path, spec)), "--out", str(out), "--quiet"]) == 0
    header, tensors = _read_safetensors(out)
    assert header["s"]["shape"] == []
    assert tensors["s"][0].shape == ()
    np.testing.assert_array_equal(tensors["s"][0], ai.HeNormal(seed=ai.derive_seed(0, "s"))(()))
    assert tensors["c"][0].shape == ()
    assert int(tensors["c"][0]) == 0x3FC0  # 1.5 in bfloat16
    npy = tmp_path / "x.safetensors"
    assert cli.main(["sample", "lecun_normal", "--shape", "()", "--seed", "3", "--out", str(npy)]) == 0
    assert _read_safetensors(npy)[1]["x"][0].shape == ()
    assert cli.main(["sample", "lecun_normal", "--shape", "()", "--seed", "3", "--out", str(tmp_path / "x.npy")]) == 0
    assert np.load(tmp_path / "x.npy").shape == ()
    safetensors = pytest.importorskip("safetensors.numpy", reason=SAFETENSORS_SKIP)
    loaded = safetensors.load_file(str(out))
    assert loaded["s"].shape == ()
    assert loaded["s"] == tensors["s"][0]


@pytest.mark.parametrize(
    "spec",
    [
        {"metadata": {"note": "\ud800"}, "parameters": {"w": {"shape": [2], "initializer": "ones"}}},
        {"metadata": {"\udfff": "x"}, "parameters": {"w": {"shape": [2], "initializer": "ones"}}},
        {"parameters": {"w\ud800": {"shape": [2], "initializer": "ones"}}},
    ],
)
def test_text_that_utf8_cannot_encode_is_refused_before_writing(tmp_path, capsys, spec):
    out = tmp_path / "m.safetensors"
    assert cli.main(["materialize", str(_write_spec(tmp_path, spec)), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "lone surrogate" in err
    assert not out.exists()
    assert _partials(tmp_path) == []
    with pytest.raises(ValueError, match="lone surrogate"):
        _safetensors.write(out, [("w", (2,), "float32")], lambda n: np.zeros(2, np.float32), metadata={"k": "\ud800"})
    assert not out.exists()


def _one_error_line(err, command):
    lines = err.strip().splitlines()
    assert "Traceback" not in err
    assert lines[-1].startswith(f"arrayinit {command}: error: "), err
    # Short apart from the paths it quotes, whose length is the machine's (where its temporary folder is).
    assert len(re.sub(r"'/[^']*'", "'PATH'", lines[-1])) < 400, lines[-1]
    return lines[-1]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--shape", "100000000000,100000"], "of memory"),
        (["--shape", "0,1180591620717411303424"], "below 2**63"),
        (["--shape", "4294967296,4294967296"], "below 2**63"),
        (["--shape", "x"], "--shape must be non-negative integers"),
        (["--shape", ""], "--shape must be non-negative integers"),
        (["--shape", "3,,4"], "--shape must be non-negative integers"),
        (["--shape", "-1"], "--shape must be non-negative integers"),
        (["--shape", "1e3"], "--shape must be non-negative integers"),
        (["--shape", "4", "--seed", "9" * 4400], "--seed: must be an integer in [0, 2**64)"),
        (["--shape", "4", "--seed", str(2**64)], "--seed: must be an integer in [0, 2**64)"),
    ],
)
def test_sample_reports_bad_sizes_and_seeds_in_one_line(tmp_path, capsys, generated, argv, message):
    out = tmp_path / "x.npy"
    try:
        code = cli.main(["sample", "he_normal", *argv, "--out", str(out)])
    except SystemExit as e:  # argparse's own errors
        code = e.code
    assert code == 2
    line = _one_error_line(capsys.readouterr().err, "sample")
    assert message in line
    assert sum(generated) == 0
    assert not out.exists()


@pytest.mark.parametrize(("text", "shape"), [("()", ()), ("(5,)", (5,)), ("[2, 3]", (2, 3)), ("2x3x4", (2, 3, 4))])
def test_sample_shape_spellings(capsys, text, shape):
    assert cli.main(["sample", "zeros", "--shape", text]) == 0
    assert f"shape={shape}" in capsys.readouterr().out


def test_sample_checks_the_plot_before_sampling(tmp_path, capsys, generated, monkeypatch):
    out = tmp_path / "a.npy"
    a_file = tmp_path / "f"
    a_file.write_text("")
    for plot, message in [(a_file / "p.png", "does not exist"), (tmp_path / "p.txt", "image format")]:
        assert cli.main(["sample", "he_normal", "--shape", "8,8", "--out", str(out), "--plot", str(plot)]) == 2
        assert message in _one_error_line(capsys.readouterr().err, "sample")
    monkeypatch.setattr(_plots, "pyplot", lambda: None)  # matplotlib not installed
    assert (
        cli.main(["sample", "he_normal", "--shape", "8,8", "--out", str(out), "--plot", str(tmp_path / "p.png")]) == 2
    )
    assert "needs matplotlib" in _one_error_line(capsys.readouterr().err, "sample")
    assert generated == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"parameters": {"w": {"shape": [0, 2**70], "initializer": "zeros"}}}, "below 2**63"),
        ({"parameters": {"w": {"shape": [2**40, 2**40], "initializer": "zeros"}}}, "below 2**63"),
        ({"parameters": {"w": {"shape": [2**31, 2**31], "initializer": "he_normal"}}}, "free"),
        ({"seed": "HUGE", "parameters": {"w": {"shape": [2], "initializer": "zeros"}}}, "4401 digits"),
    ],
)
def test_materialize_checks_sizes_against_the_machine_before_writing(tmp_path, capsys, generated, spec, message):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec).replace('"HUGE"', "1" + "0" * 4400))  # 10**4400: beyond int(str)
    out = tmp_path / "m.safetensors"
    assert cli.main(["materialize", str(path), "--out", str(out)]) == 2
    assert message in _one_error_line(capsys.readouterr().err, "materialize")
    assert sum(generated) == 0
    assert not out.exists()
    assert _partials(tmp_path) == []


def test_a_huge_integer_in_a_yaml_spec_is_one_error_line(tmp_path, capsys):
    pytest.importorskip("yaml", reason="YAML specs need PyYAML (installed by nox -s tests)")
    path = tmp_path / "spec.yaml"
    path.write_text("seed: 1" + "0" * 4400 + "\nparameters:\n  w: {shape: [2], initializer: ones}\n")
    assert cli.main(["materialize", str(path), "--out", str(tmp_path / "m.safetensors")]) == 2
    line = _one_error_line(capsys.readouterr().err, "materialize")
    assert "a number of 4401 digits is too large" in line
    assert "set_int_max_str_digits" not in line


def test_yaml_aliases_that_expand_a_spec_enormously_are_refused(tmp_path, capsys):
    pytest.importorskip("yaml", reason="YAML specs need PyYAML (installed by nox -s tests)")
    lines = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]  # 10**9 values
    text = (
        "\n".join(lines)
        + "\nparameters:\n  w: {shape: *a8, initializer: {class_name: Constant, config: {value: *a8}}}\n"
    )
    path = tmp_path / "laughs.yaml"
    path.write_text(text)
    assert cli.main(["materialize", str(path), "--out", str(tmp_path / "m.safetensors")]) == 2
    assert "expands to more than 1,000,000 values" in _one_error_line(capsys.readouterr().err, "materialize")


def test_materialize_refuses_a_folder_as_out_before_generating(tmp_path, capsys, generated):
    spec = _write_spec(tmp_path, {"parameters": {"w": {"shape": [300, 300], "initializer": "he_normal"}}})
    (tmp_path / "m.safetensors").mkdir()
    assert cli.main(["materialize", str(spec), "--out", str(tmp_path / "m.safetensors")]) == 2
    assert "is a folder" in _one_error_line(capsys.readouterr().err, "materialize")
    assert sum(generated) == 0
    assert _partials(tmp_path) == []


def test_materialize_checks_free_disk_and_memory(tmp_path, capsys, monkeypatch, generated):
    spec = {
        "parameters": {
            "a": {"shape": [300, 300], "initializer": "he_normal"},
            "q": {"shape": [512, 256], "initializer": "orthogonal"},
        }
    }
    path = _write_spec(tmp_path, spec)
    out = tmp_path / "m.safetensors"
    size = 8 + (300 * 300 + 512 * 256) * 4
    monkeypatch.setattr(_resources, "free_disk", lambda p: size)  # short of the header's bytes
    assert cli.main(["materialize", str(path), "--out", str(out)]) == 2
    assert "its folder has" in _one_error_line(capsys.readouterr().err, "materialize")
    monkeypatch.setattr(_resources, "free_disk", lambda p: 2**40)
    # one float64 copy of the matrix: too few
    monkeypatch.setattr(_resources, "available_memory", lambda: 512 * 256 * 8)
    assert cli.main(["materialize", str(path), "--out", str(out)]) == 2
    line = _one_error_line(capsys.readouterr().err, "materialize")
    assert "parameter 'q' (Orthogonal, shape (512, 256)) needs about" in line
    assert sum(generated) == 0
    assert not out.exists()
    monkeypatch.setattr(_resources, "available_memory", lambda: None)  # a platform that does not say: no check
    assert cli.main(["materialize", str(path), "--out", str(out), "--quiet"]) == 0


def test_deeply_nested_specs_are_one_error_line(tmp_path, capsys):
    deep = '{"parameters": ' + "[" * 100_000 + "]" * 100_000 + "}"
    path = tmp_path / "deep.json"
    path.write_text(deep)
    assert cli.main(["materialize", str(path), "--out", str(tmp_path / "m.safetensors")]) == 2
    assert "nested too deeply" in _one_error_line(capsys.readouterr().err, "materialize")
    pytest.importorskip("yaml", reason="YAML specs need PyYAML (installed by nox -s tests)")
    ypath = tmp_path / "deep.yaml"
    ypath.write_text("parameters: " + "[" * 20_000 + "]" * 20_000 + "\n")
    assert cli.main(["materialize", str(ypath), "--out", str(tmp_path / "m.safetensors")]) == 2
    _one_error_line(capsys.readouterr().err, "materialize")


# --- block-by-block generation: bit-identical, bounded memory, progress ------------------------------


@pytest.mark.parametrize(
    ("shape", "init", "dtype"),
    [
        ((1000,), "he_normal", "float32"),
        ((37, 29), "glorot_uniform", "bfloat16"),
        ((3, 700), "truncated_normal", "float64"),
        ((2, 3, 5, 40), "lecun_normal", "float16"),
        ((1, 1, 999), "zeros", "float32"),
        ((60, 50), "identity", "bfloat16"),
        ((40, 30), "orthogonal", "float32"),
        ((5, 1, 300), {"class_name": "Constant", "config": {"value": 0.3}}, "float16"),
    ],
)
def test_blocks_are_bit_identical_to_the_whole_tensor(monkeypatch, shape, init, dtype):
    monkeypatch.setattr(_blocks, "BLOCK_VALUES", 128)
    initializer = ai.get(init)
    cfg = initializer.get_config()
    if "seed" in cfg:
        initializer = type(initializer).from_config({**cfg, "seed": 11})
    calls = []
    real_call = type(initializer).__call__

    def spy(self, s, *a, **k):
        calls.append(math.prod(s))
        return real_call(self, s, *a, **k)

    monkeypatch.setattr(type(initializer), "__call__", spy)
    counted = []
    blocks = [b.copy() for b in _blocks.tensor_blocks(initializer, shape, dtype, counted.append)]
    monkeypatch.undo()
    want = initializer(shape, dtype)
    got = np.concatenate([b.reshape(-1) for b in blocks])
    np.testing.assert_array_equal(got.view(np.uint8), want.reshape(-1).view(np.uint8))
    assert sum(counted) == math.prod(shape)
    if init == "orthogonal":
        assert calls == [math.prod(shape)]  # whole: each block would factor the whole matrix
    else:
        assert len(calls) > 1
        assert max(calls) <= 128


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads the peak RSS (VmHWM) from Linux's /proc")
def test_materialize_peak_memory_is_one_block_not_the_tensor(tmp_path):
    # 512 MiB of float32: a whole-tensor writer peaks above it; block by block stays near the interpreter's own
    spec = {"parameters": {"w": {"shape": [8192, 16384], "initializer": "he_normal"}}}
    path = _write_spec(tmp_path, spec)
    out = tmp_path / "m.safetensors"
    # VmHWM: this process's peak RSS (getrusage's ru_maxrss would include the forking parent's size)
    code = (
        "import re, sys; from arrayinit import cli; rc = cli.main(sys.argv[1:]); "
        "print(re.search(r'VmHWM:\\s*(\\d+) kB', open('/proc/self/status').read()).group(1)); sys.exit(rc)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    r = subprocess.run(
        [sys.executable, "-c", code, "materialize", str(path), "--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    peak_kib = int(r.stdout.split()[-1])
    assert out.stat().st_size > 512 * 2**20
    assert peak_kib * 1024 < 400 * 2**20, f"peak RSS {peak_kib / 1024:.0f} MiB"


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_advances_within_the_first_tensor(tmp_path, monkeypatch):
    monkeypatch.setattr(_blocks, "BLOCK_VALUES", 1000)
    updates = []
    monkeypatch.setattr(_progress.Progress, "update", lambda self, n, name="": updates.append((name, n)))
    spec = {
        "parameters": {
            "big": {"shape": [100, 100], "initializer": "he_normal"},
            "small": {"shape": [10], "initializer": "zeros"},
        }
    }
    cli.materialize(spec, str(tmp_path / "m.safetensors"))
    assert [n for name, n in updates if name == "big"] == [1000] * 10
    assert updates[-1] == ("small", 10)


def test_progress_is_plain_lines_without_a_terminal(tmp_path, monkeypatch):
    monkeypatch.setattr(_blocks, "BLOCK_VALUES", 1000)
    monkeypatch.setattr(_progress.Progress, "QUIET_FOR", 0.0)
    stream = io.StringIO()
    spec = {"parameters": {"big": {"shape": [100, 100], "initializer": "he_normal"}}}
    cli.materialize(spec, str(tmp_path / "m.safetensors"), stream=stream)
    text = stream.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert len(lines) == 10
    assert lines[0].startswith("m.safetensors: 10% (1,000 of 10,000 values, ")
    assert lines[-1].startswith("m.safetensors: 100% (10,000 of 10,000 values, ")


def test_progress_bar_on_a_terminal(tmp_path, monkeypatch):
    pytest.importorskip("tqdm", reason="tqdm comes with the cli extra (nox -s tests installs it)")
    monkeypatch.setattr(_blocks, "BLOCK_VALUES", 1000)
    stream = _Terminal()
    spec = {"parameters": {"big": {"shape": [100, 100], "initializer": "he_normal"}}}
    cli.materialize(spec, str(tmp_path / "m.safetensors"), stream=stream)
    text = stream.getvalue()
    assert "\r" in text  # animated, on a terminal only
    last = text.split("\r")[-1]
    assert "10.0k/10.0k" in last
    assert "value/s" in last  # the rate
    assert "<" in last  # elapsed<remaining


# --- help, version, every verb as a new user meets it ----------------------------------------------


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"arrayinit {ai.__version__}"


@pytest.mark.parametrize("verb", ["demo", "sample", "materialize", "warmup", "bench"])
def test_every_verb_has_a_description_and_help_for_every_option(capsys, verb):
    with pytest.raises(SystemExit) as exc:
        cli.main([verb, "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[verb]
    assert len(sub.description or "") > 80
    for action in sub._actions:
        assert action.help, (verb, action.dest)
    assert "'class_name'" not in text  # examples are real JSON


@pytest.mark.parametrize(
    "argv",
    [
        ["demo", "--dtype", "int8"],
        ["demo", "--seed", "-1"],
        ["sample"],
        ["sample", "he_normal"],
        ["materialize", "spec.json"],
        ["warmup", "--bogus"],
        ["bench", "--bogus"],
        ["nonsense"],
        [],
    ],
)
def test_bad_arguments_are_a_usage_error(capsys, argv):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err.strip().splitlines()[-1]
    assert "Traceback" not in err


def test_sample_without_out_says_how_to_save(capsys):
    assert cli.main(["sample", "he_normal", "--shape", "64,32", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "mean=" in out
    assert "std=" in out
    assert "theory: normal std" in out
    assert "not saved: add --out FILE.npy" in out
    assert cli.main(["sample", "he_normal", "--shape", "64,32", "--seed", "2", "--dtype", "bf16"]) == 0
    assert "--out FILE.safetensors" in capsys.readouterr().out


def _figures(monkeypatch):
    matplotlib = pytest.importorskip("matplotlib", reason="plots need matplotlib (the cli extra)")
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figures = []
    real = Figure.savefig

    def spy(self, *args, **kwargs):
        figures.append(self)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", spy)
    return figures


def _check_panel(ax):
    assert ax.get_xlabel() == "value"
    assert ax.get_ylabel() == "probability density"
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["sample", "theory"]
    ax.figure.canvas.draw()
    box = legend.get_window_extent().transformed(ax.transData.inverted())
    tallest = max(p.get_path().vertices[:, 1].max() for p in ax.patches)
    assert box.y0 > tallest  # the legend covers no bar
    assert len(ax.lines) == 1  # the theory curve


def test_sample_plot_fills_the_figure_with_the_theory_and_the_dtype(tmp_path, monkeypatch):
    figures = _figures(monkeypatch)
    png = tmp_path / "s.png"
    assert cli.main(["sample", "glorot_uniform", "--shape", "300,200", "--dtype", "bfloat16", "--plot", str(png)]) == 0
    (fig,) = figures
    visible = [ax for ax in fig.axes if ax.axison]
    assert len(visible) == 1
    box = visible[0].get_position()
    assert box.width > 0.75  # the whole figure, not a third of it
    assert "bfloat16" in fig._suptitle.get_text()
    _check_panel(visible[0])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_plot_has_axis_labels_and_a_legend_per_panel(tmp_path, monkeypatch, capsys):
    figures = _figures(monkeypatch)
    cli.demo(seed=0, out=io.StringIO(), plot=str(tmp_path / "d.png"))
    (fig,) = figures
    panels = [ax for ax in fig.axes if ax.axison]
    assert len(panels) == len(_demo.DEMO_CASES)
    for ax in panels:
        _check_panel(ax)


def test_theory_comes_from_the_initializers():
    init = ai.VarianceScaling(scale=3.0, mode="fan_out", distribution="untruncated_normal", seed=0)
    th = cli.theory(init, (40, 90))
    assert th.std == init.sampling((40, 90)).stddev
    uni = cli.theory(ai.HeUniform(seed=0), (3, 3, 16, 8))
    assert uni.hi == ai.HeUniform(seed=0).sampling((3, 3, 16, 8)).limit
    assert cli.theory(ai.Orthogonal(seed=0), (4, 4)) is None
    assert cli.theory(ai.Zeros(), (4,)) is None


def test_warmup_reports_every_kernel_family_and_the_cache(capsys):
    rows = cli.warmup()
    out = capsys.readouterr().out
    families = {family for _, family, _ in rows}
    assert {"float32", "float64", "16-bit (float16, bfloat16)"} <= families
    dists = {d for d, _, _ in rows}
    assert {"normal", "uniform", "truncated normal", "truncated normal, far tail", "random bits"} <= dists
    assert all(seconds >= 0 for *_, seconds in rows)
    where = _warmup.kernel_cache()
    if os.access(SRC / "arrayinit" / "_targets", os.W_OK):  # a writable tree always has a cache folder
        assert where is not None
    if where is None:
        assert "kernel cache: none" in out
    else:
        assert f"kernel cache: {where}" in out
        assert os.path.isdir(where)


def _proc_stat(pid: int) -> list[str]:
    # the fields after the command name in /proc/PID/stat: [0] the state (R running, S sleeping, T stopped),
    # [11] and [12] the user and system CPU time in clock ticks
    return pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _wait_for_process(pid: int, what: str, done, timeout: float = 10.0) -> None:
    """Poll /proc/PID/stat until ``done(fields)``: a signal takes effect when the process is next scheduled,
    which on a busy machine can be many milliseconds after it was sent."""
    deadline = time.monotonic() + timeout
    while not done(fields := _proc_stat(pid)):
        assert time.monotonic() < deadline, f"process {pid} {what}: not within {timeout} s (state {fields[0]})"
        time.sleep(0.01)


def _cpu_ticks(fields: list[str]) -> int:
    return int(fields[11]) + int(fields[12])


@pytest.mark.skipif(not pathlib.Path("/proc/self/stat").exists(), reason="reads process states from /proc (Linux)")
def test_bench_spinner_runs_only_inside_busy_blocks():
    with _bench.BusyCore() as core:
        with core.busy():
            proc = core._proc
            assert proc is not None
            assert proc.pid != os.getpid()  # the spinning is another process's
            start = _cpu_ticks(_proc_stat(proc.pid))
            _wait_for_process(proc.pid, "spins", lambda f: f[0] == "R" and _cpu_ticks(f) > start)
        _wait_for_process(proc.pid, "is paused between blocks", lambda f: f[0] == "T")
        with core.busy():
            assert core._proc is proc  # resumed, not restarted
            _wait_for_process(proc.pid, "runs again", lambda f: f[0] == "R")
    assert proc.poll() is not None  # killed on exit


def test_bench_times_every_case_in_each_condition_and_round(monkeypatch):
    calls = []
    busy_states = []

    @contextlib.contextmanager
    def busy(self):
        busy_states.append(True)
        yield
        busy_states.append(False)

    monkeypatch.setattr(_bench.BusyCore, "busy", busy)
    n = 2**10
    buf = np.empty(n, np.float32)
    cases = {
        ("float32", n, _bench.TRUNC): lambda: calls.append("trunc") or ai.random.truncated_normal(n, seed=1, out=buf),
        ("float32", n, "peer"): lambda: calls.append("peer"),
        ("float32", 2 * n, "peer"): lambda: calls.append("peer2"),
    }
    res = _bench.measure(cases, rounds=2, reps=4, busy=True)
    assert set(res) == set(cases)
    for key, conds in res.items():
        # at least reps // rounds timed calls per condition and round
        assert conds["quiet"]["runs"] >= 4
        assert conds["busy"]["runs"] >= 4
        assert conds["quiet"]["q1"] <= conds["quiet"]["median"] <= conds["quiet"]["q3"]
        # the one-thread process times arrayinit's float32 truncated normal only
        assert (conds["one"] is not None) == (key[2] == _bench.TRUNC)
    assert res["float32", n, _bench.TRUNC]["one"]["runs"] >= 4
    assert busy_states == [True, False] * (2 * len(cases))  # one busy block per case and round
    assert calls.index("peer2") > len(calls) - calls[::-1].index("trunc") - 1  # one size after the other
    quiet_only = _bench.measure(cases, rounds=1, reps=1, busy=False)
    assert all(c["busy"] is None for c in quiet_only.values())


# --- outputs: only a regular file (or a link to one) is replaced ---------------------------------------

# (command, option, suffix) of every output the commands write
OUTPUTS = [
    ("materialize", "--out", ".safetensors"),
    ("sample", "--out", ".npy"),
    ("sample", "--out", ".safetensors"),
    ("sample", "--plot", ".png"),
]
OUTPUT_IDS = [f"{c}{o}{s}" for c, o, s in OUTPUTS]
W_8x8 = ai.HeNormal(seed=0)((8, 8))  # what every command below writes


def _output_argv(tmp_path, command, option, target):
    if option == "--plot":
        pytest.importorskip("matplotlib", reason="--plot needs matplotlib (the cli extra)")
    if command == "materialize":
        spec = _write_spec(tmp_path, {"parameters": {"w": {"shape": [8, 8], "initializer": "he_normal", "seed": 0}}})
        return ["materialize", str(spec), "--out", str(target), "--quiet"]
    return ["sample", "he_normal", "--shape", "8,8", "--seed", "0", option, str(target)]


def _check_written(path, command, suffix):
    """``path`` holds what ``command`` writes with the arguments of ``_output_argv``."""
    if suffix == ".png":
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    elif suffix == ".npy":
        np.testing.assert_array_equal(np.load(path), W_8x8)
    else:  # sample names its tensor x
        np.testing.assert_array_equal(_read_safetensors(path)[1]["w" if command == "materialize" else "x"][0], W_8x8)


def _make(kind, path):
    """Something at ``path`` that is not a regular file: what it is, for the assertions afterwards."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        import socket

        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))  # a short relative name: socket paths are limited to about 100 bytes
        sock.close()
    elif kind == "folder":
        path.mkdir()
    return {"fifo": "FIFO", "socket": "socket", "folder": "folder"}[kind]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs and sockets")
@pytest.mark.parametrize("kind", ["fifo", "socket", "folder", "link to a fifo"])
@pytest.mark.parametrize(("command", "option", "suffix"), OUTPUTS, ids=OUTPUT_IDS)
def test_an_output_that_is_not_a_regular_file_is_refused(
    tmp_path, monkeypatch, capsys, generated, kind, command, option, suffix
):
    # a FIFO or a socket stands for a device such as /dev/null, which only root could create here
    monkeypatch.chdir(tmp_path)
    target = pathlib.Path("t" + suffix)
    named = target
    if kind == "link to a fifo":
        (tmp_path / "elsewhere").mkdir()
        named = pathlib.Path("elsewhere") / ("fifo" + suffix)
        what = _make("fifo", named)
        target.symlink_to(os.path.abspath(named))
    else:
        what = _make(kind, target)
    before = os.lstat(target)
    assert cli.main(_output_argv(tmp_path, command, option, target)) == 2
    line = _one_error_line(capsys.readouterr().err, command)
    assert line.startswith(f"arrayinit {command}: error: {option}: Cannot write {str(target)!r}"), line
    assert what in line
    if named != target:
        assert repr(os.path.abspath(named)) in line  # where the link leads
    after = os.lstat(target)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)  # not replaced
    assert sum(generated) == 0  # refused before sampling
    assert _partials(tmp_path) == []
    assert _partials(tmp_path / "elsewhere") == []


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="symbolic links")
@pytest.mark.parametrize(("command", "option", "suffix"), OUTPUTS, ids=OUTPUT_IDS)
def test_a_symbolic_link_is_written_through_and_stays_a_link(tmp_path, command, option, suffix):
    folder = tmp_path / "store"
    folder.mkdir()
    real = folder / ("w" + suffix)
    real.write_bytes(b"old contents")
    link = tmp_path / ("link" + suffix)
    link.symlink_to(os.path.relpath(real, tmp_path))  # a relative link: it is read relative to its own folder
    assert cli.main(_output_argv(tmp_path, command, option, link)) == 0
    assert link.is_symlink()
    assert os.readlink(link) == os.path.relpath(real, tmp_path)
    assert real.is_file()
    assert not real.is_symlink()
    _check_written(real, command, suffix)
    _check_written(link, command, suffix)  # the same file, read through the link
    assert _partials(tmp_path) == []
    assert _partials(folder) == []


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="symbolic links")
@pytest.mark.parametrize(("command", "option", "suffix"), OUTPUTS, ids=OUTPUT_IDS)
def test_a_dangling_symbolic_link_creates_the_file_it_names(tmp_path, capsys, command, option, suffix):
    folder = tmp_path / "store"
    folder.mkdir()
    real = folder / ("w" + suffix)
    link = tmp_path / ("link" + suffix)
    link.symlink_to(real)
    assert cli.main(_output_argv(tmp_path, command, option, link)) == 0
    assert link.is_symlink()
    assert os.readlink(link) == str(real)
    _check_written(real, command, suffix)
    # a link into a folder that does not exist, and a loop of links: refused, naming the link
    nowhere = tmp_path / ("nowhere" + suffix)
    nowhere.symlink_to(tmp_path / "missing" / ("w" + suffix))
    loop_a, loop_b = tmp_path / ("a" + suffix), tmp_path / ("b" + suffix)
    loop_a.symlink_to(loop_b)
    loop_b.symlink_to(loop_a)
    for bad, message in ((nowhere, "does not exist"), (loop_a, "loop of links")):
        capsys.readouterr()
        assert cli.main(_output_argv(tmp_path, command, option, bad)) == 2
        line = _one_error_line(capsys.readouterr().err, command)
        assert f"Cannot write {str(bad)!r}" in line
        assert message in line
    assert not (tmp_path / "missing").exists()
    assert _partials(tmp_path) == []


# --- a full disk, a file too large: the error names the file ----------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("shape", ["()", "0,3", "7", "3,5,2"])
def test_sample_writes_the_bytes_of_np_save(tmp_path, capsys, dtype, shape):
    # .npy files are written through the file object (a full disk names the file), byte for byte as np.save
    out = tmp_path / "x.npy"
    assert (
        cli.main(["sample", "glorot_uniform", "--shape", shape, "--seed", "5", "--dtype", dtype, "--out", str(out)])
        == 0
    )
    expected = io.BytesIO()
    np.save(expected, ai.GlorotUniform(seed=5)(_arguments.parse_shape(shape), dtype))
    assert out.read_bytes() == expected.getvalue()


class _FullDisk(io.BufferedWriter):
    """A file on a disk that fills after ``room`` bytes."""

    room = 200  # past the header of a .npy or .safetensors file: the disk fills in the values

    def write(self, data):
        self.room -= memoryview(data).nbytes
        if self.room < 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return super().write(data)


@pytest.mark.parametrize(("command", "option", "suffix"), OUTPUTS, ids=OUTPUT_IDS)
def test_a_full_disk_names_the_file_that_could_not_be_written(tmp_path, monkeypatch, capsys, command, option, suffix):
    target = tmp_path / ("t" + suffix)
    target.write_bytes(b"old contents")
    argv = _output_argv(tmp_path, command, option, target)
    real_fdopen = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda fd, mode="r", *a, **k: _FullDisk(io.FileIO(fd, "wb")))
    assert cli.main(argv) == 2
    monkeypatch.setattr(os, "fdopen", real_fdopen)
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    line = _one_error_line(err, command)
    assert line == f"arrayinit {command}: error: Cannot write {str(target)!r}: {os.strerror(errno.ENOSPC)}"
    assert target.read_bytes() == b"old contents"  # left as it was
    assert _partials(tmp_path) == []


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="POSIX file size limits (RLIMIT_FSIZE)")
@pytest.mark.parametrize(("command", "suffix"), [("materialize", ".safetensors"), ("sample", ".npy")])
def test_a_file_too_large_for_the_process_limit_names_the_file(tmp_path, command, suffix):
    # the operating system's own refusal of a write (EFBIG past RLIMIT_FSIZE), through numpy and the file object
    out = tmp_path / ("t" + suffix)
    spec = _write_spec(tmp_path, {"parameters": {"w": {"shape": [512, 1024], "initializer": "he_normal"}}})
    if command == "materialize":
        argv = ["materialize", str(spec), "--out", str(out), "--quiet"]
    else:
        argv = ["sample", "he_normal", "--shape", "512,1024", "--seed", "0", "--out", str(out)]
    launch = (
        "import resource, signal, sys\n"
        "from arrayinit import cli\n"
        "assert cli.main(['sample', 'he_normal', '--shape', '64', '--seed', '0']) == 0  # kernels loaded\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))\n"
        "sys.exit(cli.main(sys.argv[1:]))\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", launch, *argv], capture_output=True, text=True, env=_cli_env(), timeout=300
    )
    assert r.returncode == 2, r.stderr
    assert r.stderr.splitlines() == [
        f"arrayinit {command}: error: Cannot write {str(out)!r}: {os.strerror(errno.EFBIG)}"
    ]
    assert not out.exists()
    assert _partials(tmp_path) == []


# --- spec errors on one line -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ("parameters:\n  w: {shape: [2], initializer: ones}\n bad: 1\n", "line 3, column 2", "expected <block end>"),
        (
            "parameters: {w: {shape: [2, initializer: ones}\n",
            "line 1, column 46",
            "expected ',' or ']', but got '}' (while parsing a flow sequence that starts at line 1, column 25)",
        ),
        (
            "parameters:\n  w: {shape: *nowhere, initializer: ones}\n",
            "line 2, column 14",
            "found undefined alias 'nowhere'",
        ),
        ("seed: 1\nparameters: \x07\n", "line 2, column 13", "U+0007: special characters are not allowed"),
        ('parameters: {w: {shape: [2], initializer: "\\q"}}\n', "line 1, column 45", "unknown escape character 'q'"),
    ],
)
def test_a_yaml_error_is_one_line_with_the_file_and_the_position(tmp_path, capsys, text, where, problem):
    pytest.importorskip("yaml", reason="YAML specs need PyYAML (installed by nox -s tests)")
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    assert cli.main(["materialize", str(path), "--out", str(tmp_path / "m.safetensors")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    line = _one_error_line(err, "materialize")
    assert line.startswith(f"arrayinit materialize: error: The spec {path} is not valid YAML: {where}: "), line
    assert problem in line


def test_a_json_error_is_one_line_with_the_file_and_the_position(tmp_path, capsys):
    path = tmp_path / "spec.json"
    path.write_text('{"parameters": {\n  "w": {"shape": [2] "initializer": "ones"}}}\n')
    assert cli.main(["materialize", str(path), "--out", str(tmp_path / "m.safetensors")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        f"arrayinit materialize: error: The spec {path} is not valid JSON: line 2, column 22: Expecting ',' delimiter"
    )


def test_an_error_text_of_several_lines_is_printed_on_one(tmp_path, monkeypatch, capsys):
    def fail(args):
        raise ValueError("first\n  second\r\nthird")

    monkeypatch.setitem(cli._COMMANDS, "warmup", fail)
    assert cli.main(["warmup"]) == 2
    assert capsys.readouterr().err == "arrayinit warmup: error: first second third\n"


# --- Ctrl-C at any moment: one line, status 130, no traceback ----------------------------------------


def test_ctrl_c_while_the_options_are_parsed(monkeypatch, capsys):
    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert cli.main(["warmup"]) == 130
    assert capsys.readouterr().err.strip() == "arrayinit: interrupted by SIGINT; no partial file left"


def _interrupt_at_import(module: str) -> str:
    """Python code that sends this process SIGINT (as Ctrl-C does) when ``module`` is first imported."""
    return (
        "import os, signal, sys\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name == {module!r}:\n"
        "            sys.meta_path.remove(self)\n"
        "            os.kill(os.getpid(), signal.SIGINT)\n"
        "        return None\n"
        "sys.meta_path.insert(0, Interrupt())\n"
    )


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize(
    ("module", "argv", "line"),
    [
        ("arrayinit._bench", ["warmup"], "arrayinit: interrupted by SIGINT; no partial file left"),
        (
            "matplotlib",
            ["sample", "ones", "--shape", "2", "--plot", "x.png"],
            "arrayinit sample: interrupted by SIGINT",
        ),
        (
            "yaml",
            ["materialize", "spec.yaml", "--out", "m.safetensors"],
            "arrayinit materialize: interrupted by SIGINT",
        ),
    ],
)
def test_ctrl_c_while_the_command_imports_a_module(tmp_path, module, argv, line):
    (tmp_path / "spec.yaml").write_text("parameters: {w: {shape: [2], initializer: ones}}\n")
    code = _interrupt_at_import(module) + "from arrayinit import cli\nsys.exit(cli.main(sys.argv[1:]))\n"
    r = subprocess.run(
        [sys.executable, "-c", code, *argv], cwd=tmp_path, capture_output=True, text=True, env=_cli_env(), timeout=300
    )
    assert r.returncode == 130, r.stderr
    assert "Traceback" not in r.stderr
    assert r.stderr.strip().startswith(line), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.yaml"]  # nothing written


def _entry_point() -> tuple[str, str] | None:
    """(module, function) of the ``arrayinit`` command as pyproject.toml declares it; None without the file."""
    pyproject = SRC.parent / "pyproject.toml"
    if not pyproject.exists():
        return None
    found = re.search(r'^arrayinit\s*=\s*"([\w.]+):(\w+)"', pyproject.read_text(), re.MULTILINE)
    assert found, "pyproject.toml declares no arrayinit command"
    return found.group(1), found.group(2)


ENTRY = _entry_point()


@pytest.mark.skipif(os.name != "posix" or ENTRY is None, reason="POSIX signals; the entry point of pyproject.toml")
@pytest.mark.xfail(
    ENTRY is not None and ENTRY[0].startswith("arrayinit."),
    reason="an entry point inside the package runs only after `import arrayinit`: Ctrl-C before it cannot be caught",
    strict=True,
)
@pytest.mark.parametrize("module", ["arrayinit._initializers", "argparse"])
def test_ctrl_c_while_the_command_itself_is_imported(tmp_path, module):
    # what the script that pip installs for the command does, interrupted inside the package's import (a module of
    # arrayinit) and inside the command's own (argparse, which only arrayinit.cli imports)
    entry_module, entry_function = ENTRY
    code = _interrupt_at_import(module) + f"from {entry_module} import {entry_function}\nsys.exit({entry_function}())\n"
    r = subprocess.run(
        [sys.executable, "-c", code, "--version"], capture_output=True, text=True, env=_cli_env(), timeout=300
    )
    assert r.returncode == 130, r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


# --- absurd sizes: the project's error, naming the option or the parameter, never a bare MemoryError ------


@pytest.mark.parametrize("command", ["sample", "materialize"])
def test_more_dimensions_than_numpy_allows_is_one_error_line(tmp_path, capsys, generated, command):
    shape = [1] * (_checks.MAX_DIMS + 1)
    if command == "sample":
        argv = ["sample", "he_normal", "--shape", ",".join(map(str, shape)), "--seed", "0"]
    else:
        argv = [
            "materialize",
            str(_write_spec(tmp_path, {"parameters": {"w": {"shape": shape, "initializer": "ones"}}})),
        ]
        argv += ["--out", str(tmp_path / "m.safetensors")]
    assert cli.main(argv) == 2
    line = _one_error_line(capsys.readouterr().err, command)
    assert f"a tensor has at most {_checks.MAX_DIMS} dimensions (numpy's limit)" in line
    assert f"({_checks.MAX_DIMS + 1} dimensions)" in line
    assert sum(generated) == 0


def _out_of_memory(*args, **kwargs):
    raise MemoryError


class OutOfMemoryError(RuntimeError):
    """What torch raises when a GPU's memory is exhausted (a RuntimeError of this name)."""


def test_an_allocation_that_fails_after_the_memory_check_names_the_option(monkeypatch, capsys):
    # the available memory was enough when checked (or the platform does not say), yet the allocation failed
    monkeypatch.setattr(_resources, "available_memory", lambda: None)
    monkeypatch.setattr(ai.HeNormal, "__call__", _out_of_memory)
    assert cli.main(["sample", "he_normal", "--shape", "4096,4096", "--seed", "0"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "arrayinit sample: error: --shape (4096, 4096) in float32 needs about 64.0 MiB of memory, more than could be "
        "allocated. Received: --shape '4096,4096'\n"
    )

    def gpu_full(init, shape, dtype, device):
        raise OutOfMemoryError("CUDA out of memory. Tried to allocate 64.00 MiB")

    monkeypatch.setattr(_sample, "_sample_on_device", gpu_full)
    assert cli.main(["sample", "he_normal", "--shape", "4096,4096", "--seed", "0", "--device", "cuda:0"]) == 2
    assert "needs about 64.0 MiB of memory on cuda:0, more than could be allocated" in _one_error_line(
        capsys.readouterr().err, "sample"
    )


def test_materialize_names_the_parameter_whose_allocation_failed(tmp_path, monkeypatch, capsys):
    spec = {
        "parameters": {"a": {"shape": [4], "initializer": "ones"}, "w": {"shape": [64, 64], "initializer": "he_normal"}}
    }
    real = _blocks.tensor_blocks

    def blocks(init, shape, dtype, written=lambda n: None):
        if shape == (64, 64):
            raise MemoryError
        return real(init, shape, dtype, written)

    monkeypatch.setattr(_materialize, "tensor_blocks", blocks)
    out = tmp_path / "m.safetensors"
    assert cli.main(["materialize", str(_write_spec(tmp_path, spec)), "--out", str(out), "--quiet"]) == 2
    line = _one_error_line(capsys.readouterr().err, "materialize")
    assert "parameter 'w' (HeNormal, shape (64, 64)) needs about" in line
    assert "more than could be allocated" in line
    assert not out.exists()
    assert _partials(tmp_path) == []
