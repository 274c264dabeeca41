"""The arrayinit command: demo, sample, materialize."""

import io
import json
import math
import struct

import numpy as np
import pytest

import arrayinit as ai
from arrayinit import _safetensors, cli


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
    assert "seed=3" in capsys.readouterr().out
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


@pytest.mark.parametrize("fmt", ["npy", "safetensors"])
def test_sample_writes_the_values(tmp_path, capsys, fmt):
    out = tmp_path / f"x.{fmt}"
    code = cli.main(
        ["sample", "he_normal", "--shape", "64,32", "--seed", "5", "--dtype", "bfloat16", "--out", str(out)]
    )
    assert code == 0
    want = ai.HeNormal(seed=5)((64, 32), "bfloat16").view(np.uint16)
    if fmt == "npy":
        got = np.load(out).view(np.uint16)
    else:
        _, tensors = _read_safetensors(out)
        got, kind = tensors["x"]
        assert kind == "BF16"
    np.testing.assert_array_equal(got, want)
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
