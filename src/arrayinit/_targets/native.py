"""CPU machine code: built once per machine, kept on disk, loaded without numba.

Each variant ``(family, dtype)`` of the CPU kernels (``arrayinit._targets.cpu``)
is one object file with two C entry points. A variant is found, in order:

1. in this process (already loaded);
2. in the kernel cache on disk: an object file stamped with the package
   version, a hash of every kernel source and the machine (triple, CPU name
   and features), whose contents are checked against their recorded hash;
3. in the portable LLVM bitcode shipped with the package (``cpu_ir/``,
   written by ``tools/gen_cpu_ir.py`` from the same sources, unoptimised):
   optimised here for this machine with the pipeline numba uses, then cached;
4. else compiled by numba from the sources (another platform, or sources
   changed since the bitcode was written), then cached.

Loading needs llvmlite only (numba is not imported); the code is called
through ctypes, which releases the GIL. The values are the same whichever way
a variant was built: the same IR, no fast-math, the same roundings.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import json
import os
import pathlib
import platform
import secrets
import stat
import sys
import zipfile

# kernels are built and loaded by ``_locks.load``: a fork waits for a kernel being built
from arrayinit import _locks
from arrayinit._targets import numba_loader
from arrayinit._targets.linkage import entries, internalize

_PACKAGE = pathlib.Path(__file__).resolve().parent.parent
_KERNEL_SOURCES = ("_kernels/*.py", "_targets/cpu.py", "_targets/linkage.py")
IR_ARCHIVE = pathlib.Path(__file__).resolve().parent / "cpu_ir" / "kernels.zip"
_MAGIC = b"arrayinit-kernel-1\n"
# functions the kernels may reference that are not defined in their object: libm, resolved in the process
_LIBM = frozenset({"sqrt", "sqrtf", "fma", "fmaf", "log", "logf", "exp", "expf", "log1p", "expm1"})
# numba's runtime: reached only for arrays that own memory, which the kernels never see (C pointers)
_NEVER_CALLED = ("NRT_MemInfo_call_dtor",)

P = ctypes.c_void_p
I64 = ctypes.c_int64
RUN = ctypes.CFUNCTYPE(I64, P)
PENDING = ctypes.CFUNCTYPE(I64, P, I64)


class KernelError(RuntimeError):
    """A CPU kernel could not be built or loaded."""


def kernel_sources() -> list[pathlib.Path]:
    """The files the kernels' code (their bitcode) is built from."""
    return sorted({f for pattern in _KERNEL_SOURCES for f in _PACKAGE.glob(pattern)})


@functools.lru_cache(maxsize=1)
def source_hash() -> str:
    """sha256 of every kernel source (path and contents)."""
    h = hashlib.sha256()
    for f in kernel_sources():
        h.update(f.relative_to(_PACKAGE).as_posix().encode() + b"\0")
        h.update(f.read_bytes() + b"\0")
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def cache_key() -> str:
    """``<version>-<sha256 of the kernel sources>-<sha256 of this file>``: the stamp of every cached kernel.

    This file holds the optimisation pipeline that turns the bitcode into machine code.
    """
    from arrayinit import __version__

    return f"{__version__}-{source_hash()}-{hashlib.sha256(pathlib.Path(__file__).read_bytes()).hexdigest()}"


# --- LLVM ----------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _llvm():
    import llvmlite.binding as llvm

    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    return llvm


def _numba_config():
    """numba's configuration when numba is imported (it may have been changed since start), else None."""
    config = sys.modules.get("numba.core.config")
    return config if config is not None and hasattr(config, "CPU_NAME") else None


def _avx_default(cpu_name: str) -> bool:
    """numba's default of ``NUMBA_ENABLE_AVX`` (``numba.core.config``): off where the OS lacks AVX, on the
    Sandy/Ivy Bridge generation, and on the baseline name some virtual machines report."""
    if sys.platform.startswith("linux") and platform.machine() in ("i386", "i586", "i686", "x86_64"):
        try:
            with open("/proc/cpuinfo") as f:
                if not any(h.strip() == "flags" and "avx" in b.split() for h, _, b in (ln.partition(":") for ln in f)):
                    return False
        except OSError:
            pass
    return cpu_name not in ("corei7-avx", "core-avx-i", "sandybridge", "ivybridge", "nocona")


@functools.lru_cache(maxsize=4)
def _host_machine(cpu_name_env, cpu_features_env, enable_avx) -> tuple[str, str, str]:
    llvm = _llvm()
    name = cpu_name_env or llvm.get_host_cpu_name()
    if cpu_features_env is not None:
        return llvm.get_process_triple(), name, cpu_features_env
    try:
        feats = llvm.get_host_cpu_features()
    except RuntimeError:
        return llvm.get_process_triple(), name, ""
    if not (_avx_default(name) if enable_avx is None else enable_avx):
        for k in feats:
            if k.startswith("avx"):
                feats[k] = False
    return llvm.get_process_triple(), name, feats.flatten()


def machine() -> tuple[str, str, str]:
    """(triple, CPU name, CPU features) that machine code is built for: numba's choice on this machine.

    Follows ``NUMBA_CPU_NAME``, ``NUMBA_CPU_FEATURES`` and ``NUMBA_ENABLE_AVX``
    (or numba's configuration, once numba is imported).
    """
    config = _numba_config()
    if config is not None:
        return _host_machine(config.CPU_NAME, config.CPU_FEATURES, bool(config.ENABLE_AVX))
    name = os.environ.get("NUMBA_CPU_NAME") or None
    feats = os.environ.get("NUMBA_CPU_FEATURES")
    if feats is None and name is not None and name.lower() == "generic":
        feats = ""
    try:
        avx: bool | None = bool(int(os.environ["NUMBA_ENABLE_AVX"]))
    except (KeyError, ValueError):  # unset or not a number: numba's default
        avx = None
    return _host_machine(name, feats, avx)


@functools.lru_cache(maxsize=4)
def _target_machine(mach: tuple[str, str, str]):
    llvm = _llvm()
    triple, name, feats = mach
    target = llvm.Target.from_triple(triple)
    # as numba's JIT: static relocations on x86, PIC on POWER, the target's default elsewhere
    arch = target.name
    reloc = "static" if arch.startswith("x86") else "pic" if arch.startswith("ppc") else "default"
    return target.create_target_machine(cpu=name, features=_tuned(feats), opt=3, reloc=reloc, codemodel="jitdefault")


def _tuned(feats: str) -> str:
    """The features with 512-bit vectors preferred wherever AVX-512 is enabled.

    LLVM tunes its server x86-64 CPUs for 256-bit loops (``prefer-256-bit``):
    the kernels' float loops would take half the registers' width. Vector
    width never changes a value (every operation is elementwise, no
    reduction is reordered).
    """
    return feats + ",-prefer-256-bit" if "+avx512f" in feats.split(",") else feats


def _pass_builder(tm, loop_vectorize: bool):
    llvm = _llvm()
    pto = llvm.create_pipeline_tuning_options()
    pto.speed_level = 3
    pto.loop_vectorization = loop_vectorize
    pto.slp_vectorization = False
    return llvm.create_pass_builder(tm, pto)


_STUBS = {
    # a trap: reaching it would be a bug, never a silent leak or free
    "NRT_MemInfo_call_dtor": (
        "define void @NRT_MemInfo_call_dtor(ptr %p) {\n  call void @llvm.trap()\n  unreachable\n}\n"
        "declare void @llvm.trap()\n"
    ),
}


def _seal(module, keep: tuple[str, ...]) -> None:
    """Define the never-called runtime functions and make all but the entry points ``keep`` internal."""
    llvm = _llvm()
    declared = {f.name for f in module.functions if f.is_declaration}
    for name in _NEVER_CALLED:
        if name in declared:
            stub = llvm.parse_assembly(_STUBS[name])
            stub.triple, stub.data_layout = module.triple, module.data_layout
            module.link_in(stub)
    internalize(module, keep)


def _check_externals(module) -> None:
    used = [f.name for f in module.functions if f.is_declaration and not f.name.startswith("llvm.")]
    unknown = sorted(set(used) - _LIBM - set(_NEVER_CALLED))
    if unknown:
        raise KernelError(f"CPU kernel refers to functions outside it: {unknown}")


def optimise(bitcode: bytes, mach: tuple[str, str, str], keep: tuple[str, ...]) -> bytes:
    """Object code for ``mach`` from unoptimised bitcode: numba's pipeline (function passes, then module passes)."""
    llvm = _llvm()
    tm = _target_machine(mach)
    module = llvm.parse_bitcode(bitcode)
    module.triple = mach[0]
    module.data_layout = str(tm.target_data)
    _seal(module, keep)
    pb = _pass_builder(tm, loop_vectorize=True)
    fpm = pb.getFunctionPassManager()
    for fn in module.functions:
        if not fn.is_declaration:
            fpm.run(fn, pb)
    cheap = _pass_builder(tm, loop_vectorize=True)
    mpm = cheap.getModulePassManager()
    mpm.add_loop_rotate_pass()
    mpm.add_instruction_combine_pass()
    mpm.add_jump_threading_pass()
    mpm.run(module, cheap)
    full = _pass_builder(tm, loop_vectorize=True)
    full.getModulePassManager().run(module, full)
    module.verify()
    _check_externals(module)
    return tm.emit_object(module)


def _from_numba(family: str, dtype: str, mach) -> tuple[bytes, bool]:
    """Object code compiled by numba in this process (imports numba), and whether it is built for ``mach``.

    numba's choice of CPU can differ from ``machine()`` (a ``.numba_config.yaml``):
    such code runs here but is not cached under ``mach``'s name.
    """
    cpu = numba_loader.numba_target()
    llvm = _llvm()
    library = cpu._library(family, dtype)
    numba_mach = tuple(library.codegen.magic_tuple())
    module = llvm.parse_bitcode(library._final_module.as_bitcode())
    _seal(module, entries(family, dtype))
    _check_externals(module)
    return library.codegen._tm.emit_object(module), numba_mach == mach


# --- the shipped bitcode -------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _archive_manifest() -> dict | None:
    try:
        with zipfile.ZipFile(IR_ARCHIVE) as z:
            return json.loads(z.read("manifest.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None


def shipped_bitcode(family: str, dtype: str, mach) -> bytes | None:
    """The shipped bitcode of a variant, when it was written from these sources for this triple."""
    manifest = _archive_manifest()
    if manifest is None or manifest.get("sources") != source_hash() or manifest.get("triple") != mach[0]:
        return None
    try:
        with zipfile.ZipFile(IR_ARCHIVE) as z:
            return z.read(f"{family}-{dtype}.bc")
    except (OSError, KeyError, zipfile.BadZipFile):
        return None


# --- the cache on disk ---------------------------------------------------------


def cache_dirs() -> list[pathlib.Path]:
    """The kernel cache folders in order: ``$NUMBA_CACHE_DIR/arrayinit``, in the package, per user."""
    dirs = []
    env = os.environ.get("NUMBA_CACHE_DIR")
    if env:
        dirs.append(pathlib.Path(env) / "arrayinit")
    dirs.append(pathlib.Path(__file__).resolve().parent / "__pycache__" / "kernels")
    dirs.append(_user_cache_dir())
    return dirs


def _user_cache_dir() -> pathlib.Path:
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser(r"~\AppData\Local")
        return pathlib.Path(base) / "arrayinit" / "Cache"
    if sys.platform == "darwin":
        return pathlib.Path(os.path.expanduser("~/Library/Caches/arrayinit"))
    return pathlib.Path(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")) / "arrayinit"


def _file_name(family: str, dtype: str, mach) -> str:
    h = hashlib.sha256("\0".join((cache_key(), family, dtype, *mach)).encode()).hexdigest()[:32]
    return f"{family}-{dtype}-{h}.o"


def _header(family: str, dtype: str, mach, obj: bytes) -> bytes:
    head = {
        "key": cache_key(),
        "variant": [family, dtype],
        "machine": list(mach),
        "size": len(obj),
        "sha256": hashlib.sha256(obj).hexdigest(),
    }
    return _MAGIC + json.dumps(head, sort_keys=True).encode() + b"\n"


# a kernel's object file is a few hundred KiB: a larger cache entry is not one of ours
_MAX_CACHED_BYTES = 64 << 20


def read_regular(path: pathlib.Path) -> bytes | None:
    """The bytes of ``path`` when it is a regular file (or a link to one) of at most ``_MAX_CACHED_BYTES``.

    Opened without blocking (a FIFO has no writer to wait for) and checked on
    the open file, so that what is read is what was checked: a FIFO, a device
    or a link to one is never read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > _MAX_CACHED_BYTES:
            return None
        with os.fdopen(os.dup(fd), "rb") as f:
            return f.read(_MAX_CACHED_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)


def _read_cached(family: str, dtype: str, mach) -> tuple[bytes, pathlib.Path] | None:
    """The cached object of a variant and its file: the first whose stamp and contents check out."""
    name = _file_name(family, dtype, mach)
    for d in cache_dirs():
        data = read_regular(d / name)
        if data is None or not data.startswith(_MAGIC):
            continue
        nl = data.find(b"\n", len(_MAGIC))
        obj = data[nl + 1 :]
        if nl > 0 and data[: nl + 1] == _header(family, dtype, mach, obj):
            return obj, d / name
    return None


def _write_cached(family: str, dtype: str, mach, obj: bytes) -> pathlib.Path | None:
    """Writes the object to the first writable cache folder (atomically); returns the file, or None."""
    return write_file(_file_name(family, dtype, mach), _header(family, dtype, mach, obj) + obj)


def write_file(name: str, data: bytes) -> pathlib.Path | None:
    """Writes ``data`` as ``name`` in the first writable cache folder (atomically); returns the file, or None.

    The file gets the mode of any new file (``0o666`` less the umask), not a
    temporary file's ``0o600``: a cache written by one user (``arrayinit
    warmup`` as root while building an image) is read by the others.
    """
    for d in cache_dirs():
        tmp = d / f"{name}.{os.getpid()}.{secrets.token_hex(6)}.tmp"
        try:
            d.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except OSError:
            continue
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, d / name)
            return d / name
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return None


def cached_path(family: str, dtype: str) -> pathlib.Path | None:
    """The cache file a variant is read from, or None when it is not cached."""
    found = _read_cached(family, dtype, machine())
    return None if found is None else found[1]


# --- loading -------------------------------------------------------------------


class Kernel:
    """A loaded variant: ``run(...)`` and ``pending(work)`` (see ``arrayinit._targets.cpu``)."""

    __slots__ = ("_engine", "dtype", "family", "pending_fn", "run", "source")

    def __init__(self, family: str, dtype: str, obj: bytes, source: str) -> None:
        llvm = _llvm()
        mach = machine()
        engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), _target_machine(mach))
        engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
        engine.finalize_object()
        run, pending = (engine.get_function_address(name) for name in entries(family, dtype))
        if not run or not pending:
            raise KernelError(f"CPU kernel {family}-{dtype}: entry points missing from its object code")
        self._engine = engine  # owns the code's memory
        self.family, self.dtype, self.source = family, dtype, source
        self.run = RUN(run)
        self.pending_fn = PENDING(pending)

    def pending(self, work) -> int:
        """Tasks of ``work`` (an int64 array) not yet stored."""
        return int(self.pending_fn(work.ctypes.data, work.shape[0]))


_loaded: dict[tuple[str, str], Kernel] = {}


def kernel(family: str, dtype: str) -> Kernel:
    """The loaded variant, built or read from the cache on first use (by the loader: ``_locks.load``)."""
    k = _loaded.get((family, dtype))
    if k is None:
        k = _locks.load(functools.partial(_load, family, dtype))
    return k


def _load(family: str, dtype: str) -> Kernel:
    k = _loaded.get((family, dtype))
    if k is None:
        k = _loaded[family, dtype] = _build(family, dtype)
    return k


def _build(family: str, dtype: str) -> Kernel:
    mach = machine()
    found = _read_cached(family, dtype, mach)
    if found is not None:
        return Kernel(family, dtype, found[0], "cache")
    bitcode = shipped_bitcode(family, dtype, mach)
    source = "bitcode"
    obj = None
    if bitcode is not None:
        try:
            obj = optimise(bitcode, mach, entries(family, dtype))
        except (RuntimeError, ValueError, OSError):  # an LLVM that cannot read it: numba compiles
            obj = None
    cacheable = True
    if obj is None:
        (obj, cacheable), source = _from_numba(family, dtype, mach), "numba"
    if cacheable:
        _write_cached(family, dtype, mach, obj)
    return Kernel(family, dtype, obj, source)
