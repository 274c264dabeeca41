"""CPU machine code: the shipped bitcode, the kernel cache on disk, and the numba fallback."""

import ast
import hashlib
import json
import os
import pathlib
import subprocess
import sys
import zipfile

import pytest

import arrayinit
from arrayinit._kernels.abi import CPU_FAMILIES
from arrayinit._targets import native
from tests.conftest import copy_package, run_in

PKG = pathlib.Path(arrayinit.__file__).parent

# calls of every CPU kernel variant (family, dtype), small and streamed, printed as sha256 of the bytes
_EVERY_VARIANT = """
import hashlib, json, sys
import arrayinit.random as ar
from arrayinit import _engine
from arrayinit._kernels.abi import STREAM_FROM
BIG = STREAM_FROM + 20  # bytes: written by streaming stores when given as ``out=``


def big(fn, n, **kw):  # the values of fn(n, **kw), written into an existing (zeroed) array
    a = fn(n, **kw)
    a.view("uint8")[:] = 0
    assert a.nbytes < STREAM_FROM or _engine.cpu.streamed(a.view("uint8")) == 1
    return fn(n, out=a, **kw)


calls = {
    "fill32-float32": lambda: [ar.uniform(70_001, seed=1), ar.normal(70_001, seed=1),
                              ar.truncated_normal(70_001, seed=1),
                              ar.truncated_normal(5000, seed=1, lower=-2.5, upper=2.9),
                              ar.truncated_normal(5000, seed=1, lower=3.0, upper=9.0),
                              big(ar.truncated_normal, BIG // 4, seed=1)],
    "fill32-bfloat16": lambda: [ar.truncated_normal((3, 5000), seed=2, dtype="bfloat16"),
                               big(ar.truncated_normal, BIG // 2, seed=2, dtype="bfloat16")],
    "fill32-float16": lambda: [ar.normal(5000, seed=3, dtype="float16"),
                              big(ar.normal, BIG // 2, seed=3, dtype="float16")],
    "fill64-float64": lambda: [ar.normal(5000, seed=4, dtype="float64"), ar.uniform(5000, seed=4, dtype="float64"),
                              ar.truncated_normal(5000, seed=4, dtype="float64", lower=40.0, upper=41.0),
                              big(ar.normal, BIG // 8, seed=4, dtype="float64")],
    "fill64-float32": lambda: [big(ar.truncated_normal, n, seed=5, lower=10.0, upper=11.0) for n in (5000, BIG // 4)],
    "fill64-bfloat16": lambda: [big(ar.truncated_normal, n, seed=6, lower=10.0, upper=11.0, dtype="bfloat16")
                                for n in (5000, BIG // 2)],
    "fill64-float16": lambda: [big(ar.uniform, n, seed=7, minval=1.0, maxval=1.001, dtype="float16")
                               for n in (5000, BIG // 2)],
    "bits-uint32": lambda: [ar.bits((7, 999), seed=8), big(ar.bits, BIG // 4, seed=8)],
}
out = {}
for name, fn in calls.items():
    out[name] = [hashlib.sha256(a.tobytes()).hexdigest() for a in fn()]
    family, dtype = name.split("-")
    out[name + ":source"] = _engine.kernel(family, dtype).source
out["numba"] = "numba" in sys.modules
print(json.dumps(out))
"""


def test_shipped_bitcode_matches_the_kernel_sources():
    with zipfile.ZipFile(native.IR_ARCHIVE) as z:
        manifest = json.loads(z.read("manifest.json"))
        names = set(z.namelist())
    assert manifest["sources"] == native.source_hash(), "kernel sources changed: run tools/gen_cpu_ir.py"
    expected = {f"{family}-{dtype}" for family, dtypes in CPU_FAMILIES.items() for dtype in dtypes}
    assert set(manifest["variants"]) == expected
    assert {f"{v}.bc" for v in expected} <= names


def test_cache_key_covers_every_kernel_source_and_the_version():
    names = {f.relative_to(PKG).as_posix() for f in native.kernel_sources()}
    # every module of the package that the CPU kernels' source imports, directly or not, is hashed
    imported, todo = set(), ["_targets/cpu.py"]
    while todo:
        path = todo.pop()
        imported.add(path)
        for node in ast.walk(ast.parse((PKG / path).read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("arrayinit."):
                base = node.module.removeprefix("arrayinit.").replace(".", "/")
                for alias in node.names:
                    for cand in (f"{base}/{alias.name}.py", f"{base}.py", f"{base}/__init__.py"):
                        if (PKG / cand).is_file() and cand not in imported:
                            todo.append(cand)
                            break
    assert {"_targets/cpu.py", "_targets/linkage.py", "_kernels/abi.py", "_kernels/philox.py"} <= imported
    assert imported <= names
    assert "_plan.py" not in names  # the planner is no kernel source: editing it keeps the cache
    # the cache is also stamped with the pipeline that turns bitcode into machine code
    loader = hashlib.sha256((PKG / "_targets/native.py").read_bytes()).hexdigest()
    assert native.cache_key() == f"{arrayinit.__version__}-{native.source_hash()}-{loader}"


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"NUMBA_CPU_NAME": "generic"},
        {"NUMBA_ENABLE_AVX": "0"},
        {"NUMBA_CPU_NAME": "x86-64-v2", "NUMBA_CPU_FEATURES": ""},
    ],
)
def test_machine_is_the_one_numba_compiles_for(env):
    code = (
        "import json; from arrayinit._targets import native; before = native.machine(); "
        "from numba.core.registry import cpu_target; "
        "print(json.dumps([before, native.machine(), list(cpu_target.target_context.codegen().magic_tuple())]))"
    )
    full = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CPU") and k != "NUMBA_ENABLE_AVX"}
    full.update(env)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=full)
    assert res.returncode == 0, res.stderr
    before, after, numba_choice = json.loads(res.stdout)
    assert before == after == numba_choice


def test_512_bit_loops_wherever_avx512_is_enabled():
    assert native._tuned("+sse2,+avx2,+avx512f,+fma").split(",")[-1] == "-prefer-256-bit"
    for feats in ("+sse2,+avx2,-avx512f,+avx512fp16", "+neon", ""):
        assert native._tuned(feats) == feats


@pytest.mark.slow
def test_bitcode_and_numba_build_the_same_values_for_every_variant(tmp_path):
    shipped = copy_package(tmp_path / "shipped")
    edited = copy_package(tmp_path / "edited")
    f = edited / "arrayinit/_kernels/ops.py"
    f.write_text(f.read_text() + "\n# a comment: the shipped bitcode no longer matches, numba compiles\n")
    a = json.loads(run_in(shipped, _EVERY_VARIANT, XDG_CACHE_HOME=str(tmp_path / "x1")))
    b = json.loads(run_in(edited, _EVERY_VARIANT, XDG_CACHE_HOME=str(tmp_path / "x2")))
    c = json.loads(run_in(shipped, _EVERY_VARIANT, XDG_CACHE_HOME=str(tmp_path / "x1")))
    for name in (k for k in a if ":" not in k and k != "numba"):
        assert a[name] == b[name] == c[name], name
        assert (a[name + ":source"], b[name + ":source"], c[name + ":source"]) == ("bitcode", "numba", "cache")
    assert (a["numba"], b["numba"], c["numba"]) == (False, True, False)


def _cache_files(root: pathlib.Path) -> list[pathlib.Path]:
    return sorted((root / "arrayinit/_targets/__pycache__/kernels").glob("*.o"))


_ONE = (
    "import arrayinit.random as ar; from arrayinit import _engine; "
    "print(ar.bits(8, seed=3).tolist(), _engine.kernel('bits', 'uint32').source)"
)


@pytest.mark.parametrize("damage", ["truncated", "flipped", "other header", "empty"])
def test_a_damaged_cache_file_is_never_loaded_but_rebuilt(tmp_path, damage):
    pkg = copy_package(tmp_path / "pkg")
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    first, source = run_in(pkg, _ONE, **env).strip().rsplit(" ", 1)
    assert source == "bitcode"
    (f,) = _cache_files(pkg)
    data = f.read_bytes()
    head_end = data.index(b"\n", data.index(b"\n") + 1) + 1
    if damage == "truncated":
        f.write_bytes(data[: len(data) - 100])
    elif damage == "flipped":
        body = bytearray(data)
        body[head_end + 200] ^= 0x10
        f.write_bytes(bytes(body))
    elif damage == "other header":
        f.write_bytes(data.replace(b'"sha256": "', b'"sha256": "0', 1))
    else:
        f.write_bytes(b"")
    again, source = run_in(pkg, _ONE, **env).strip().rsplit(" ", 1)
    assert source == "bitcode"  # built again, not loaded
    assert again == first
    assert f.read_bytes() == data  # and the cache file written again, whole
    assert run_in(pkg, _ONE, **env).split()[-1] == "cache"


def test_a_cache_folder_filled_earlier_is_read_before_any_other(tmp_path):
    pkg = copy_package(tmp_path / "pkg")
    image = tmp_path / "image-cache"
    run_in(pkg, _ONE, NUMBA_CACHE_DIR=str(image), XDG_CACHE_HOME=str(tmp_path / "xdg"))
    (f,) = (image / "arrayinit").glob("*.o")
    stamp = f.stat().st_mtime_ns
    out = run_in(pkg, _ONE, NUMBA_CACHE_DIR=str(image), XDG_CACHE_HOME=str(tmp_path / "xdg"))
    assert out.split()[-1] == "cache"
    assert f.stat().st_mtime_ns == stamp
    assert _cache_files(pkg) == []  # nothing written anywhere else
    assert not (tmp_path / "xdg").exists()


def test_a_cache_file_is_only_read_by_the_version_sources_and_machine_it_was_built_for():
    mach = native.machine()
    names = {
        native._file_name("fill32", "float32", mach),
        native._file_name("fill32", "bfloat16", mach),
        native._file_name("fill32", "float32", (mach[0], "generic", "")),
    }
    assert len(names) == 3
    assert native.cache_key() in native._header("fill32", "float32", mach, b"x").decode()


_SOME = """
import hashlib, arrayinit.random as ar
a = [ar.truncated_normal(70_001, seed=1), ar.normal(70_001, seed=2), ar.normal(5000, seed=3, dtype="float64"),
     ar.truncated_normal(5000, seed=4, lower=10.0, upper=11.0, dtype="bfloat16")]
print(hashlib.sha256(b"".join(x.tobytes() for x in a)).hexdigest())
"""


def test_machine_code_for_a_baseline_cpu_gives_the_same_values(tmp_path):
    # without FMA instructions (generic x86-64) the fused multiply-adds become libm's fma: same roundings
    pkg = copy_package(tmp_path / "pkg")
    host = run_in(pkg, _SOME, XDG_CACHE_HOME=str(tmp_path / "xdg"))
    generic = run_in(pkg, _SOME, XDG_CACHE_HOME=str(tmp_path / "xdg"), NUMBA_CPU_NAME="generic")
    assert host == generic
    assert len(_cache_files(pkg)) == 2 * 3  # three variants, each built for both machines


@pytest.mark.slow
def test_unreadable_shipped_bitcode_falls_back_to_numba(tmp_path):
    pkg = copy_package(tmp_path / "pkg")
    archive = pkg / "arrayinit/_targets/cpu_ir/kernels.zip"
    with zipfile.ZipFile(native.IR_ARCHIVE) as z:
        members = {name: z.read(name) for name in z.namelist()}
    members["bits-uint32.bc"] = b"BC\xc0\xde" + b"\0" * 64  # a bitcode header, then nothing an LLVM can read
    with zipfile.ZipFile(archive, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    out = run_in(pkg, _ONE, XDG_CACHE_HOME=str(tmp_path / "xdg"))
    expected = run_in(copy_package(tmp_path / "ref"), _ONE, XDG_CACHE_HOME=str(tmp_path / "xdg2"))
    assert out.split()[-1] == "numba"
    assert out.rsplit(" ", 1)[0] == expected.rsplit(" ", 1)[0]


def _cache_here(monkeypatch, tmp_path) -> pathlib.Path:
    """The first kernel cache folder: ``tmp_path/arrayinit`` (by ``NUMBA_CACHE_DIR``)."""
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    assert native.cache_dirs()[0] == tmp_path / "arrayinit"
    return tmp_path / "arrayinit"


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_cache_files_get_the_mode_of_a_new_file(monkeypatch, tmp_path, umask):
    # a cache written by root while building an image must be readable by the users of its containers
    _cache_here(monkeypatch, tmp_path)
    old = os.umask(umask)
    try:
        path = native._write_cached("bits", "uint32", native.machine(), b"object code")
    finally:
        os.umask(old)
    assert path is not None
    assert path.parent == tmp_path / "arrayinit"
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert native._read_cached("bits", "uint32", native.machine()) == (b"object code", path)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def _read_in_thread(path: pathlib.Path):
    """``native.read_regular(path)`` in a thread, which must return within 60 s (a FIFO would block)."""
    import threading

    box = []
    t = threading.Thread(target=lambda: box.append(native.read_regular(path)), daemon=True)
    t.start()
    t.join(60)
    assert box, f"reading {path} blocked"
    return box[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_cache_reader_skips_fifos_devices_and_links_to_them(monkeypatch, tmp_path):
    cache = _cache_here(monkeypatch, tmp_path)
    cache.mkdir()
    name = native._file_name("bits", "uint32", native.machine())
    os.mkfifo(cache / name)  # an entry that is a FIFO: reading it would wait for a writer forever
    assert _read_in_thread(cache / name) is None
    found = native._read_cached("bits", "uint32", native.machine())
    assert found is None or found[1] != cache / name  # another folder's file, or none
    (cache / name).unlink()
    if os.path.exists("/dev/zero"):
        (cache / name).symlink_to("/dev/zero")  # endless: reading it would fill the memory
        assert _read_in_thread(cache / name) is None
        (cache / name).unlink()
    os.mkfifo(tmp_path / "fifo")
    (cache / name).symlink_to(tmp_path / "fifo")
    assert _read_in_thread(cache / name) is None
    (cache / name).unlink()
    (cache / name).mkdir()  # a folder
    assert _read_in_thread(cache / name) is None


def test_cache_reader_takes_regular_files_of_plausible_size_and_links_to_them(monkeypatch, tmp_path):
    cache = _cache_here(monkeypatch, tmp_path)
    path = native._write_cached("bits", "uint32", native.machine(), b"object code")
    assert path is not None
    moved = tmp_path / "elsewhere.o"
    path.rename(moved)
    path.symlink_to(moved)  # a link to a regular file is read (a cache shared by linking)
    assert native._read_cached("bits", "uint32", native.machine()) == (b"object code", path)
    path.unlink()
    with open(path, "wb") as f:  # larger than any kernel: skipped without being read (sparse here)
        f.truncate(native._MAX_CACHED_BYTES + 1)
    assert _read_in_thread(path) is None
    assert native.read_regular(cache / "missing.o") is None
