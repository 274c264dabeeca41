"""The arrayinit command: demo, sample, materialize."""

import io
import json
import math
import os
import re
import struct

import numpy as np
import pytest

import arrayinit as ai
from arrayinit import _bench, _engine, _safetensors, cli


def test_demo_statistics_match_theory(tmp_path):
    buf = io.StringIO()
    png = tmp_path / "demo.png"
    rows = cli.demo(seed=0, out=buf, plot=str(png))
    text = buf.getvalue()
    for name in ("he_normal", "glorot_uniform", "truncated_normal"):
        assert name in text
    assert len(rows) == len(cli.DEMO_CASES)
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
    x, _std_theory, lo, hi, _pdf = cli.sample("he_normal", (256, 128), seed=0)
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
    safetensors = pytest.importorskip(
        "safetensors.numpy", reason="cross-check with the safetensors reader when installed"
    )
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
    safetensors = pytest.importorskip("safetensors", reason="cross-check with the safetensors reader when installed")
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
    real = cli.sample

    def leaky(name, shape, seed, dtype="float32"):
        x, std, lo, hi, density = real(name, shape, seed, dtype)
        x = x.copy()
        x.flat[0] = 2 * hi
        return x, std, lo, hi, density

    monkeypatch.setattr(cli, "DEMO_CASES", [("glorot_uniform", (20, 10)), ("he_normal", (16, 8))])
    monkeypatch.setattr(cli, "sample", lambda name, *a: (leaky if name == "he_normal" else real)(name, *a))
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
