"""The documentation runs as written: every code block of README.md and docs/**/*.md.

- ``python`` blocks are complete programs: each runs on its own (fresh globals, imports included)
  in an empty temporary working directory. A block written as a ``>>>`` session runs as a doctest.
- A block that imports a library this environment lacks (torch, jax, dask, ...) is skipped, naming
  the session of noxfile.py that installs it. ``ARRAYINIT_DOCS_REQUIRE`` (set by the ``tests_xp`` and
  ``tests_tf`` sessions) lists the libraries a session installs: a block needing one of them fails
  instead of being skipped, so no block is skipped silently there.
- GPU-only code carries a ``# GPU`` comment: at the end of a statement's line for that statement, or
  as the block's first line for the whole block. Without a CUDA GPU those statements are replaced by
  ``pass`` (or the block is skipped); on a GPU machine they run.
- ``<!-- docs-test: skip REASON -->`` on the line before a fence skips a block that cannot run in a
  test (e.g. one that needs several processes launched by ``torchrun``); the reason is reported.
- ``json`` and ``yaml`` blocks must parse. Shell blocks (``bash``) are not run: they install
  packages or start long jobs.

Public exception classes carry their documented module name (``arrayinit.DeviceUnavailableError``
in tracebacks), checked here too.
"""

from __future__ import annotations

import ast
import dataclasses
import doctest
import functools
import importlib
import importlib.util
import inspect
import io
import json
import os
import pathlib
import pickle
import re
import tempfile
import tokenize
import traceback

import pytest

import arrayinit

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

#: optional libraries a block may import, and where they are installed
INSTALLED_BY = {
    "torch": "the tests_xp session",
    "jax": "the tests_xp session",
    "jaxlib": "the tests_xp session",
    "flax": "the tests_xp session",
    "keras": "the tests_xp session",
    "dask": "the tests_xp session",
    "distributed": "the tests_xp session",
    "zarr": "the tests_xp session",
    "array_api_strict": "the tests_xp session",
    "marray": "the tests_xp session",
    "ndonnx": "the tests_xp session",
    "matplotlib": "the tests session (the cli extra)",
    "ml_dtypes": "the tests session",
    "tensorflow": "the tests_tf session",
    "tf_keras": "the tests_tf session",
    "safetensors": "the tests session",
    "cupy": "no nox session: pip install arrayinit[cuda] on a GPU machine",
}
#: ARRAYINIT_DOCS_REQUIRE: comma-separated libraries that a session installs; blocks needing them fail
#: there instead of being skipped
REQUIRED = {name.strip() for name in os.environ.get("ARRAYINIT_DOCS_REQUIRE", "").split(",") if name.strip()}

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`]*?)[ \t]*$")
SKIP_DIRECTIVE = re.compile(r"^\s*<!--\s*docs-test:\s*skip\s+(?P<reason>.+?)\s*-->\s*$")
GPU_MARK = re.compile(r"#\s*GPU\b")


@dataclasses.dataclass(frozen=True)
class Block:
    page: pathlib.Path
    line: int  # 1-based line of the first line of code
    lang: str
    code: str
    skip_reason: str | None

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks_of(page: pathlib.Path) -> list[Block]:
    """The fenced code blocks of a markdown page (indented fences inside lists included)."""
    lines = page.read_text(encoding="utf-8").splitlines()
    out = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = m["indent"], m["fence"], m["info"]
        lang = info.split()[0].strip("{}.").lower() if info else ""
        prev = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        skip = SKIP_DIRECTIVE.match(prev)
        body = []
        j = i + 1
        while j < len(lines):
            close = FENCE.match(lines[j])
            if close and close["fence"][0] == fence[0] and len(close["fence"]) >= len(fence) and not close["info"]:
                break
            text = lines[j]
            body.append(text[len(indent) :] if text.startswith(indent) else text.lstrip())
            j += 1
        else:
            raise AssertionError(f"{page.relative_to(ROOT)}:{i + 1}: code fence never closed")
        out.append(Block(page, i + 2, lang, "\n".join(body) + "\n", skip["reason"] if skip else None))
        i = j + 1
    return out


ALL_BLOCKS = [b for page in PAGES for b in blocks_of(page)]
PYTHON_BLOCKS = [b for b in ALL_BLOCKS if b.lang in ("python", "py", "pycon")]
DATA_BLOCKS = [b for b in ALL_BLOCKS if b.lang in ("json", "yaml", "yml")]


@functools.lru_cache(maxsize=1)
def has_cuda_gpu() -> bool:
    """A real CUDA GPU that numba-cuda can use (the simulator does not count)."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0"):
        return False
    if importlib.util.find_spec("numba_cuda") is None:
        return False
    try:
        from numba import cuda

        return bool(cuda.is_available())
    except Exception:  # a broken driver or toolkit is "no GPU" for this purpose
        return False


def gpu_lines(code: str) -> set[int]:
    """1-based lines of ``code`` whose comment carries the GPU mark."""
    marked = set()
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type == tokenize.COMMENT and GPU_MARK.match(tok.string):
            marked.add(tok.start[0])
    return marked


def without_lines(code: str, marked: set[int]) -> str:
    """``code`` with every statement on a marked line replaced by ``pass`` (line numbers kept)."""
    lines = code.splitlines()

    def visit(body: list[ast.stmt]) -> None:
        for stmt in body:
            span = range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1)
            if not marked.intersection(span):
                continue
            inner = [getattr(stmt, f) for f in ("body", "orelse", "finalbody", "handlers") if getattr(stmt, f, None)]
            if inner and stmt.lineno not in marked:
                for b in inner:
                    visit(b)
                continue
            first = lines[stmt.lineno - 1]
            lines[stmt.lineno - 1] = first[: stmt.col_offset] + "pass"
            for k in span[1:]:
                lines[k - 1] = ""

    visit(ast.parse(code).body)
    return "\n".join(lines) + "\n"


def prepare(block: Block) -> str:
    """The code to run: GPU statements dropped where there is no GPU; skips raised."""
    if block.skip_reason:
        pytest.skip(f"{block.id}: {block.skip_reason}")
    code = block.code
    first = code.lstrip().splitlines()[0] if code.strip() else ""
    if GPU_MARK.match(first.strip()) and first.strip().startswith("#") and not has_cuda_gpu():
        pytest.skip(f"{block.id}: needs a CUDA GPU and arrayinit[cuda]; run tests/test_docs.py on a GPU machine")
    marked = gpu_lines(code)
    if marked and not has_cuda_gpu():
        code = without_lines(code, marked)
    return code


def skip_if_missing(block: Block, exc: ImportError) -> None:
    """Turn an import of an absent optional library into a skip naming its session (or a failure).

    ``exc`` is the ModuleNotFoundError, or an ImportError raised because of one (``dask.distributed``
    without the distributed package).
    """
    cause = exc if isinstance(exc, ModuleNotFoundError) else exc.__cause__
    if not isinstance(cause, ModuleNotFoundError):
        return
    name = (cause.name or "").split(".")[0]
    if name not in INSTALLED_BY or importlib.util.find_spec(name) is not None:
        return  # not an optional library, or installed: the error is real
    if name in REQUIRED:
        pytest.fail(f"{block.id} needs {name}, which this session should install (ARRAYINIT_DOCS_REQUIRE)")
    pytest.skip(f"{block.id} needs {name}: installed by {INSTALLED_BY[name]}")


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=[b.id for b in PYTHON_BLOCKS])
def test_python_block_runs(block: Block, monkeypatch):
    code = prepare(block)
    with tempfile.TemporaryDirectory(prefix="arrayinit-docs-") as cwd:  # removed afterwards: blocks write files
        monkeypatch.chdir(cwd)
        run_block(block, code, monkeypatch)


def run_block(block: Block, code: str, monkeypatch) -> None:
    for var in ("KERAS_BACKEND", "JAX_PLATFORMS", "XLA_FLAGS"):  # restored after blocks that set them
        if var in os.environ:
            monkeypatch.setenv(var, os.environ[var])
        else:
            monkeypatch.delenv(var, raising=False)
    filename = str(block.page)
    try:
        if code.lstrip().startswith(">>>"):
            test = doctest.DocTestParser().get_doctest(code, {}, block.id, filename, block.line - 1)
            runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
            report = io.StringIO()
            runner.run(test, out=report.write)
            missing = re.search(r"ModuleNotFoundError: No module named '([\w.]+)'", report.getvalue())
            if missing:
                skip_if_missing(block, ModuleNotFoundError(name=missing[1]))
            assert not runner.failures, report.getvalue()
        else:
            # padded so that tracebacks give the line numbers of the markdown page
            exec(compile("\n" * (block.line - 1) + code, filename, "exec"), {"__name__": "__main__"})
    except ImportError as e:
        skip_if_missing(block, e)
        raise


def test_data_blocks_parse():
    """``json`` and ``yaml`` blocks (model specs, configs) are valid documents."""
    for block in DATA_BLOCKS:
        try:
            if block.lang == "json":
                json.loads(block.code)
            else:
                yaml = pytest.importorskip("yaml", reason="PyYAML is installed by the tests session")
                yaml.safe_load(block.code)
        except Exception as e:  # json.JSONDecodeError, yaml.YAMLError
            raise AssertionError(f"{block.id}: {e}") from e


def test_pages_have_runnable_blocks():
    """The collection itself works: the README and the getting-started page have Python blocks."""
    pages = {b.page.relative_to(ROOT).as_posix() for b in PYTHON_BLOCKS}
    assert {"README.md", "docs/index.md"} <= pages


def test_gpu_statements_replaced_by_pass():
    code = 'import x\nfor i in range(2):\n    y = f(i,\n          device="cuda:0")  # GPU: needs a device\n    z = 1\n'
    assert gpu_lines(code) == {4}
    stripped = without_lines(code, gpu_lines(code))
    assert stripped.splitlines() == ["import x", "for i in range(2):", "    pass", "", "    z = 1"]
    compile(stripped, "<test>", "exec")


def test_exceptions_carry_their_public_module():
    """Public exceptions are named as the docs name them, in tracebacks and in pickles."""
    public = [getattr(arrayinit, n) for n in arrayinit.__all__]
    errors = [obj for obj in public if isinstance(obj, type) and issubclass(obj, BaseException)]
    assert arrayinit.DeviceUnavailableError in errors
    for cls in errors:
        assert cls.__module__ == "arrayinit", cls
        text = "".join(traceback.format_exception_only(cls("no CUDA driver")))
        assert text.startswith(f"arrayinit.{cls.__name__}: no CUDA driver"), text
        assert type(pickle.loads(pickle.dumps(cls("x")))) is cls
    assert issubclass(arrayinit.DeviceUnavailableError, RuntimeError)


PUBLIC_MODULES = ["arrayinit", "arrayinit.random", "arrayinit.compat.v1", "arrayinit.torch", "arrayinit.keras"]
PUBLIC_MODULES += ["arrayinit.flax", "arrayinit.dask"]
ENTRY = re.compile(r"^(?P<names>\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)*)\s*(?::\s*(?P<type>.*))?$")


def documented_parameters(doc: str) -> list[list[str]]:
    """The entries of a numpydoc ``Parameters`` section, each a list of names (``a, b : float``)."""
    lines = inspect.cleandoc(doc).splitlines()
    entries: list[list[str]] = []
    for i, line in enumerate(lines[:-1]):
        if line.strip() in ("Parameters", "Other Parameters") and set(lines[i + 1].strip()) == {"-"}:
            for text in lines[i + 2 :]:
                if text.strip() and set(text.strip()) == {"-"}:  # the next section's underline
                    entries.pop()  # its title was read as an entry
                    break
                if text and not text[0].isspace():
                    m = ENTRY.match(text)
                    if m is None:
                        break
                    entries.append([n.strip().lstrip("*") for n in m["names"].split(",")])
    return entries


def public_callables():
    seen = []
    for modname in PUBLIC_MODULES:
        try:
            mod = importlib.import_module(modname)
        except ImportError:
            continue  # an integration whose library is absent (the tests_xp session has them all)
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name)
            if callable(obj) and not (isinstance(obj, type) and issubclass(obj, BaseException)):
                seen.append(pytest.param(obj, id=f"{modname}.{name}"))
    return seen


@pytest.mark.parametrize("obj", public_callables())
def test_documented_parameters_match_the_signature(obj):
    """Every documented parameter exists, and names documented together share one default.

    The API reference shows each parameter's default from the signature; an entry such as
    ``minval, maxval : float`` would show the first name's default for both.
    """
    doc = obj.__doc__ or ""
    target = obj.__init__ if isinstance(obj, type) else obj
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        pytest.skip(f"{obj!r} has no introspectable signature")
    params = sig.parameters
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in params.values())
    for names in documented_parameters(doc):
        for n in names:
            assert n in params or takes_kwargs, f"{obj.__qualname__}: documents `{n}`, not in {sig}"
        defaults = {repr(params[n].default) for n in names if n in params}
        assert len(defaults) <= 1, f"{obj.__qualname__}: `{', '.join(names)}` documented together, defaults differ"


def test_skip_reasons_name_real_sessions():
    """Every "the <name> session" in the tests and docs names a session of noxfile.py."""
    sessions = set(re.findall(r"@nox\.session[^\n]*\ndef (\w+)\(", (ROOT / "noxfile.py").read_text()))
    assert {"tests", "tests_xp", "tests_cudasim", "ptx", "docs"} <= sessions
    files = [*sorted((ROOT / "tests").rglob("*.py")), ROOT / "conftest.py", *PAGES]
    named = {
        (f.relative_to(ROOT).as_posix(), name)
        for f in files
        for pattern in (r"\bthe `*(\w+)`* session\b", r"\bthe nox session `*(\w+)")
        for name in re.findall(pattern, f.read_text(encoding="utf-8"))
        if name != "nox"
    }
    assert named, "no skip reason names a session: the pattern is out of date"
    unknown = sorted((f, name) for f, name in named if name not in sessions)
    assert not unknown, f"not nox sessions: {unknown} (sessions: {sorted(sessions)})"


def prose_lines(page: pathlib.Path):
    """(line number, text) of a page's lines outside code blocks, with inline code removed."""
    in_code = False
    for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        if FENCE.match(line):
            in_code = not in_code
            continue
        if not in_code:
            yield n, re.sub(r"`+[^`]*`+", "``", line)


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_no_accidental_emphasis(page):
    """``2**24`` outside code renders as bold text in markdown: such powers belong in backticks."""
    bad = [
        f"{page.relative_to(ROOT)}:{n}: {text.strip()}" for n, text in prose_lines(page) if re.search(r"\w\*\*\w", text)
    ]
    assert not bad, "\n".join(bad)


def test_every_public_name_is_in_the_api_reference():
    """Each name of ``arrayinit.__all__`` has an entry in docs/reference (directly or through its module)."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs" / "reference").glob("*.md")))
    documented = set(re.findall(r"^::: ([\w.]+)", text, flags=re.M))
    modules = {"random", "compat"}  # documented as modules: reference/random.md, reference/compat.md
    missing = [
        n for n in arrayinit.__all__ if n not in modules | {"__version__"} and f"arrayinit.{n}" not in documented
    ]
    assert not missing, f"add `::: arrayinit.NAME` entries to docs/reference/ for {missing}"
    assert {"arrayinit.random"} <= documented
