"""Fuzzing the command line in-process: exit 0 with a correct file, or exit 2 with one ``error:`` line.

Never a traceback, never a ``.partial`` file left behind.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import socket
import stat
import struct
import tempfile

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

import arrayinit as ai
from arrayinit import cli
from arrayinit._initializers import reseeded
from arrayinit.cli import _arguments
from tests.fuzz import _strategies as S
from tests.fuzz._checks import raw


class Pairs(list):
    """A JSON object written from its (key, value) pairs: duplicate keys can be written."""


class Raw(str):
    """JSON text written as it is."""


def dumps(value) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, Pairs):
        return "{" + ", ".join(f"{json.dumps(k)}: {dumps(v)}" for k, v in value) + "}"
    if isinstance(value, dict):
        return dumps(Pairs(value.items()))
    if isinstance(value, list):
        return "[" + ", ".join(dumps(v) for v in value) + "]"
    if isinstance(value, float) and not math.isfinite(value):
        return {math.inf: "Infinity", -math.inf: "-Infinity"}.get(value, "NaN")
    return json.dumps(value)  # ensure_ascii: lone surrogates become \ud800 escapes


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = cli.main(argv)
        except SystemExit as e:  # argparse's usage errors
            rc = e.code
    return rc, out.getvalue(), err.getvalue()


def check_refusal(rc: int, err: str) -> None:
    assert rc == 2, (rc, err)
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1, err
    assert len(lines[0]) < 3000


def read_safetensors(path: str) -> tuple[dict, bytes]:
    with open(path, "rb") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(n))
        return header, fh.read()


SAFETENSORS_DTYPE = {"float32": "F32", "float64": "F64", "float16": "F16", "bfloat16": "BF16"}

text = st.one_of(
    st.text(max_size=8),
    st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=6),
    st.sampled_from(["", "\ud800", "\udfff x", "a\x00b", "é", "\U0001f600", "__metadata__", "seed", "generator"]),
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([2**64 - 1, 2**64, 10**30, -1]),
    st.floats(allow_nan=True, allow_infinity=True),
    text,
)
init_names = st.sampled_from(ai.registered_names()) | st.sampled_from(["nope", "HeNormal ", "", "keras>Zeros"])
init_configs = st.one_of(
    init_names,
    st.fixed_dictionaries(
        {
            "class_name": init_names,
            "config": st.dictionaries(st.sampled_from(["seed", "stddev", "gain", "x"]), json_scalars),
        }
    ),
    json_scalars,
    st.lists(json_scalars, max_size=2),
)
spec_shapes = st.one_of(
    S.small_shapes(max_values=512).map(list),
    S.small_shapes(max_values=512).map(list),
    st.lists(json_scalars, max_size=3),
    st.sampled_from([[2**40], [2**62, 4], [0, 2**70], [2**63], [-1], [1.5], [True], "3", 3, None, [[2]], {}]),
    json_scalars,
)
dtype_values = st.one_of(st.sampled_from([*S.FLOAT_NAMES, "bf16", "half", "float", "int32", "f", ""]), json_scalars)


@st.composite
def mappings(draw, items: list[tuple[str, st.SearchStrategy]], duplicates: bool = True) -> Pairs:
    """Some of ``items`` (key, value strategy), in a random order; now and then a key given twice."""
    chosen = draw(st.lists(st.sampled_from(items), unique_by=lambda kv: kv[0], max_size=len(items)))
    pairs = Pairs((k, draw(v)) for k, v in chosen)
    if duplicates and pairs and draw(st.integers(0, 14)) == 0:
        k, _ = draw(st.sampled_from(list(pairs)))
        pairs.append((k, draw(items[[i for i, _ in items].index(k)][1])))
    return pairs


@st.composite
def parameter(draw) -> Pairs:
    entry = [
        ("shape", spec_shapes),
        ("initializer", init_configs),
        ("dtype", dtype_values),
        ("seed", st.one_of(S.seeds(valid_only=True), json_scalars)),
    ]
    p = draw(mappings(entry))
    if draw(st.integers(0, 3)):  # mostly well-formed: both required keys
        keys = {k for k, _ in p}
        if "shape" not in keys:
            p.append(("shape", draw(S.small_shapes(max_values=512).map(list))))
        if "initializer" not in keys:
            p.append(("initializer", draw(init_names)))
    return p


def nested(depth: int) -> Raw:
    return Raw("[" * depth + "0" + "]" * depth)


GOOD_INITS = [n for n in ai.registered_names() if n.lower() not in ("identity", "stft", "stftinitializer")]
good_inits = st.one_of(
    st.sampled_from(GOOD_INITS),
    st.fixed_dictionaries(
        {"class_name": st.sampled_from(["HeNormal", "TruncatedNormal", "RandomUniform", "Orthogonal"])},
        optional={"config": st.fixed_dictionaries({}, optional={"seed": S.seeds(valid_only=True)})},
    ),
    st.fixed_dictionaries(
        {"class_name": st.just("VarianceScaling")},
        optional={
            "config": st.fixed_dictionaries(
                {},
                optional={
                    "scale": st.floats(1e-3, 1e3),
                    "mode": st.sampled_from(["fan_in", "fan_out", "fan_avg"]),
                    "distribution": st.sampled_from(["truncated_normal", "untruncated_normal", "uniform"]),
                },
            )
        },
    ),
)
good_dtypes = st.sampled_from([*S.FLOAT_NAMES, None])


@st.composite
def good_specs(draw) -> Pairs:
    """Specs that should be written (some still refused: Orthogonal of rank < 2, say)."""
    names = draw(st.lists(text, min_size=1, max_size=4, unique=True))
    params = Pairs()
    for name in names:
        p = Pairs([("shape", draw(S.small_shapes(max_values=512).map(list))), ("initializer", draw(good_inits))])
        if draw(st.booleans()):
            p.append(("dtype", draw(good_dtypes)))
        if draw(st.integers(0, 4)) == 0:
            p.append(("seed", draw(S.seeds(valid_only=True))))
        params.append((name, p))
    spec = Pairs([("parameters", params)])
    for key, strategy in (
        ("seed", S.seeds(valid_only=True)),
        ("dtype", good_dtypes),
        ("metadata", st.dictionaries(text, text, max_size=3)),
    ):
        if draw(st.booleans()):
            spec.append((key, draw(strategy)))
    return spec


@st.composite
def specs(draw) -> object:
    if draw(st.booleans()):
        return draw(good_specs())
    top = [
        ("seed", st.one_of(S.seeds(valid_only=True), json_scalars)),
        ("dtype", dtype_values),
        ("metadata", st.one_of(st.dictionaries(text, text, max_size=3), json_scalars)),
        ("parameters", st.lists(st.tuples(text, parameter()), min_size=1, max_size=4).map(Pairs)),
        ("extra", json_scalars),
    ]
    spec = draw(mappings(top))
    if draw(st.integers(0, 3)) and "parameters" not in {k for k, _ in spec}:
        spec.append(("parameters", Pairs([("w", Pairs([("shape", [3, 2]), ("initializer", "ones")]))])))
    choice = draw(st.integers(0, 29))
    if choice == 0:
        return draw(json_scalars)
    if choice == 1:  # nested deeper than the JSON reader's recursion limit
        return Pairs([("parameters", Pairs([("w", Pairs([("shape", nested(draw(st.sampled_from([50, 5000]))))]))]))])
    return spec


def expected_dtype(spec: Pairs, param: dict) -> str:
    default = dict(spec).get("dtype") or "float32"
    return ai._dtypes.dtype_name(param.get("dtype") or default)


@given(spec=specs(), suffix=st.sampled_from([".json", ".json", ".yaml"]))
def test_materialize(spec, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "spec" + suffix)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(dumps(spec))  # JSON is YAML (YAML reads a subset of its escapes: that is fuzzed too)
        out = os.path.join(tmp, "model.safetensors")
        rc, _, err = run(["materialize", path, "--out", out, "--quiet"])
        event(f"exit status {rc}")
        assert sorted(os.listdir(tmp)) == sorted(["spec" + suffix] + (["model.safetensors"] if rc == 0 else []))
        if rc != 0:
            check_refusal(rc, err)
            return
        header, data = read_safetensors(out)
        parsed = json.loads(dumps(spec))
        params = parsed["parameters"]
        meta = header.pop("__metadata__")
        assert meta["generator"] == "arrayinit"
        assert meta["seed"] == str(parsed.get("seed", 0))
        for k, v in (parsed.get("metadata") or {}).items():
            assert meta[k] == v
        assert sorted(header) == sorted(params)
        entries = {name: (shape, dtype, init) for name, shape, dtype, init in cli.plan_spec(parsed)}
        for name, p in params.items():
            shape, dtype, init = entries[name]
            h = header[name]
            assert h["shape"] == p["shape"] == list(shape)
            assert dtype == expected_dtype(spec, p)
            assert h["dtype"] == SAFETENSORS_DTYPE[dtype]
            lo, hi = h["data_offsets"]
            x = init(shape, dtype)
            assert data[lo:hi] == raw(x).tobytes()
            assert np.isfinite(np.asarray(x, np.float64)).all()


sample_inits = st.one_of(
    st.sampled_from(GOOD_INITS),
    st.sampled_from(GOOD_INITS),
    good_inits.map(dumps),
    init_names,
    init_configs.map(dumps),
    st.sampled_from(['{"class_name": "HeNormal", "config": {"seed": 3}}', "{", "{" * 3000, "[]", "{}"]),
)
sample_shapes = st.one_of(
    S.small_shapes(max_values=512).map(lambda s: ",".join(map(str, s)) if s else "()"),
    S.small_shapes(min_rank=2, max_values=512).map(lambda s: ",".join(map(str, s))),
    st.sampled_from(["x", "", "()", "[3, 4]", "(5,)", "3x4", "1" * 40, "2" * 20 + ",3", "-1", "3,,4", "a,b", "1e3"]),
    st.text(max_size=6),
)


@settings(max_examples=max(5, settings().max_examples // 2))
@given(
    init=sample_inits,
    shape=sample_shapes,
    seed=st.one_of(
        st.none(),
        S.seeds(valid_only=True).map(str),
        S.seeds(valid_only=True).map(str),
        S.seeds(valid_only=True).map(str),
        st.integers(-1, 2**65).map(str),
        st.sampled_from(["", "x", "1" * 5000, " 7"]),
    ),
    dtype=st.one_of(
        st.none(),
        st.sampled_from(S.FLOAT_NAMES),
        st.sampled_from(S.FLOAT_NAMES),
        dtype_values.filter(lambda d: isinstance(d, str)),
    ),
    out=st.sampled_from([None, "x.npy", "x.safetensors", "x.npy", "x.safetensors", "x.txt", "nodir/x.npy", ""]),
    device=st.sampled_from([None] * 8 + ["cpu", "cpu", "cuda:0", "tpu", ""]),
)
def test_sample(init, shape, seed, dtype, out, device):
    with tempfile.TemporaryDirectory() as tmp:
        argv = ["sample", init, "--shape", shape]
        for flag, value in (("--seed", seed), ("--dtype", dtype), ("--device", device)):
            if value is not None:
                argv += [flag, value]
        if out is not None:
            argv += ["--out", os.path.join(tmp, out) if out else out]
        rc, _stdout, err = run(argv)
        event(f"exit status {rc}")
        files = sorted(os.listdir(tmp))
        if rc != 0:
            check_refusal(rc, err)
            assert files == []
            return
        assert files == ([] if out is None else [out])
        if out is None:
            return
        name = ai._dtypes.dtype_name(dtype or "float32")
        dims = _arguments.parse_shape(shape)
        if out.endswith(".npy"):
            x = np.load(os.path.join(tmp, out))
            assert x.dtype.name == name
            assert x.shape == dims
            bits = raw(x).tobytes()
        else:
            header, bits = read_safetensors(os.path.join(tmp, out))
            assert header["x"]["shape"] == list(dims)
            assert header["x"]["dtype"] == SAFETENSORS_DTYPE[name]
        if seed is not None:
            expected = reseeded(_arguments.parse_initializer(init), int(seed))(dims, name)
            assert raw(expected).tobytes() == bits


# what an output path leads to, at the end of its chain of symbolic links: only a regular file or a new name in an
# existing folder is written
ENDS = ["missing", "regular", "folder", "fifo", "socket", "missing folder", "loop"]
WRITABLE_ENDS = ("missing", "regular")


def snapshot(root: str) -> dict[str, tuple]:
    """Every entry under ``root`` (links not followed): its kind, inode, link text and size."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            st_ = os.lstat(path)
            link = os.readlink(path) if stat.S_ISLNK(st_.st_mode) else None
            found[os.path.relpath(path, root)] = (stat.S_IFMT(st_.st_mode), st_.st_ino, link, st_.st_size)
    return found


@st.composite
def output_chains(draw) -> tuple[str, list[tuple[str, bool]]]:
    """(the end, [(folder, absolute link?) of each element]): element 0 is the path given to the command, each
    element before the last a symbolic link to the next."""
    end = draw(st.sampled_from(ENDS))
    links = draw(st.integers(1 if end == "loop" else 0, 3))
    places = draw(st.lists(st.sampled_from([".", "a", "b"]), min_size=links + 1, max_size=links + 1))
    return end, [(place, draw(st.booleans())) for place in places]


@settings(max_examples=max(5, settings().max_examples // 2))
@given(
    chain=output_chains(),
    output=st.sampled_from(
        [("materialize", "--out", ".safetensors"), ("sample", "--out", ".npy"), ("sample", "--out", ".safetensors")] * 3
        + [("sample", "--plot", ".png")]
    ),
)
def test_outputs(chain, output):
    """A regular file, a new name, or a chain of links to one is written (the links stay links); anything else (a
    folder, FIFO, socket, a link into a missing folder, a loop of links) is refused and left as it was."""
    end, elements = chain
    command, option, suffix = output
    with tempfile.TemporaryDirectory() as tmp:
        for folder in ("a", "b"):
            os.mkdir(os.path.join(tmp, folder))
        paths = [
            os.path.join(tmp, place, f"n{i}" + (suffix if i == 0 else "")) for i, (place, _) in enumerate(elements)
        ]
        if end == "missing folder":  # the path given, or where its links lead
            paths[-1] = os.path.join(tmp, "missing", "end" + (suffix if len(paths) == 1 else ""))
        last = paths[-1]
        for i, link in enumerate(paths[:-1]):
            to = paths[0] if end == "loop" and i == len(paths) - 2 else paths[i + 1]
            os.symlink(to if elements[i][1] else os.path.relpath(to, os.path.dirname(link)), link)
        if end == "loop":
            last = None
        elif end == "regular":
            with open(last, "wb") as fh:
                fh.write(b"old contents")
        elif end == "folder":
            os.mkdir(last)
        elif end == "fifo":
            os.mkfifo(last)
        elif end == "socket":
            with socket.socket(socket.AF_UNIX) as sock:
                sock.bind(last)
        spec = os.path.join(tmp, "spec.json")
        with open(spec, "w") as fh:
            json.dump({"parameters": {"w": {"shape": [8, 8], "initializer": "he_normal", "seed": 0}}}, fh)
        if command == "materialize":
            argv = ["materialize", spec, "--out", paths[0], "--quiet"]
        else:
            argv = ["sample", "he_normal", "--shape", "8,8", "--seed", "0", option, paths[0]]
        before = snapshot(tmp)
        rc, _, err = run(argv)
        after = snapshot(tmp)
        event(f"{end}, {len(paths) - 1} links: exit status {rc}")
        if end not in WRITABLE_ENDS:
            check_refusal(rc, err)
            assert after == before
            return
        assert rc == 0, err
        written = os.path.relpath(last, tmp)
        assert {k: v for k, v in after.items() if k != written} == {k: v for k, v in before.items() if k != written}
        assert stat.S_ISREG(after[written][0])
        if suffix == ".png":
            with open(last, "rb") as fh:
                assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
            return
        if suffix == ".npy":
            x = np.load(last)
        else:
            header, data = read_safetensors(last)
            h = header["w" if command == "materialize" else "x"]
            x = np.frombuffer(data[h["data_offsets"][0] : h["data_offsets"][1]], np.float32).reshape(h["shape"])
        np.testing.assert_array_equal(x, ai.HeNormal(seed=0)((8, 8)))


@pytest.mark.parametrize("argv", [["sample"], ["materialize"], ["nope"], [], ["sample", "ones", "--shape"]])
def test_usage_errors(argv):
    rc, _, err = run(argv)
    check_refusal(rc, err)
