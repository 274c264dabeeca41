"""Sharded safetensors checkpoints: the plan (which tensor goes into which shard), the index, and the writers
(in this process, in worker processes, or through any ``concurrent.futures`` executor such as a dask cluster's).

The layout is the common one of sharded checkpoints: ``model-00001-of-00030.safetensors``, ... and
``model.safetensors.index.json`` holding ``metadata.total_size`` (bytes of tensor data) and ``weight_map``
(tensor name -> shard file). Tensors stay whole and keep their order; a shard is closed when the next tensor
would take its data past ``max_shard_size`` (a tensor larger than that gets a shard of its own).

Every shard is written under a temporary name and renamed into place when complete and flushed to the disk
(``_safetensors.atomic_file``), and the index is written last: a folder holds an index only when every shard it
names is complete. A rerun writes only the shards that are missing or that do not match the plan; a shard that
is there is kept when its size and its header (names, dtypes, shapes, offsets and metadata, which include a
fingerprint of every tensor's initializer, seed and the arrayinit version) equal the planned ones. Its data are
not read back: a shard appears only whole, so a shard with the planned header holds the planned values unless
it was changed after it was written.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import errno
import functools
import hashlib
import json
import math
import multiprocessing
import os
import queue
import re
import shutil
import signal
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol

import numpy as np

from arrayinit import __version__, _safetensors
from arrayinit._blocks import tensor_blocks
from arrayinit._errors import received
from arrayinit._initializers import Initializer

INDEX_NAME = "model.safetensors.index.json"
SHARD_PATTERN = re.compile(r"model-(\d{5})-of-(\d{5})\.safetensors")

# decimal units, as the common tools count (5GB = 5 * 10**9 bytes), and the binary ones
_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_UNITS.update({"KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40})
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([A-Za-z]*)\s*")


def parse_size(value: int | str, argument: str = "max_shard_size") -> int:
    """A size in bytes: a positive int, or text such as ``5GB``, ``500MB`` (decimal) or ``2GiB``, ``512MiB``.

    ``argument``: the name errors give (an option such as ``--max-shard-size``, or a Python argument's name).
    """
    option = argument.startswith("--")
    name, got = (argument, f"Received: {argument} {value!r}") if option else (f"Argument `{argument}`", None)
    got = got or received(argument, value)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"{name} must be an int or a string such as '5GB'. {got}")
    if isinstance(value, int):
        nbytes = value
    else:
        m = _SIZE.fullmatch(value)
        unit = m.group(2).upper() if m else None
        if m is None or unit not in _UNITS:
            raise ValueError(
                f"{name} must be a size such as 5GB, 500MB (decimal units: 1GB = 10**9 bytes) or "
                f"2GiB, 512MiB (binary units), or a number of bytes. {got}"
            )
        digits = m.group(1)
        nbytes = int(float(digits) * _UNITS[unit]) if "." in digits else int(digits) * _UNITS[unit]
    if nbytes <= 0:
        raise ValueError(f"{name} must be a positive size. {got}")
    return nbytes


def shard_ranges(sizes: Sequence[int], max_shard_size: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]``: consecutive tensors (by their data bytes ``sizes``) grouped into shards.

    A shard takes tensors in order until the next one would take its data
    past ``max_shard_size``; a tensor larger than that is a shard alone.
    No shard is empty (an empty list of tensors has no shard).
    """
    ranges: list[tuple[int, int]] = []
    start, filled = 0, 0
    for i, n in enumerate(sizes):
        if i > start and filled + n > max_shard_size:
            ranges.append((start, i))
            start, filled = i, 0
        filled += n
    if len(sizes) > start:
        ranges.append((start, len(sizes)))
    return ranges


def shard_name(i: int, n: int) -> str:
    """The file name of shard ``i`` (0-based) of ``n``: ``model-00001-of-00030.safetensors``."""
    return f"model-{i + 1:05d}-of-{n:05d}.safetensors"


class Source(Protocol):
    """How a tensor's values are made: its storage bytes block after block, and a fingerprint of the recipe."""

    def blocks(self, shape: tuple[int, ...], dtype: str, written: Callable[[int], None]) -> Iterator[np.ndarray]: ...

    def fingerprint(self) -> object: ...


def initializer_fingerprint(init: Initializer) -> dict:
    """A JSON-able description of ``init`` that changes whenever its values would."""
    return {"class": type(init).__name__, "config": init.get_config()}


@dataclasses.dataclass(frozen=True)
class FromInitializer:
    """The values of an arrayinit initializer (seeded), generated block by block."""

    init: Initializer

    def blocks(self, shape, dtype, written):
        return tensor_blocks(self.init, shape, dtype, written)

    def fingerprint(self):
        return initializer_fingerprint(self.init)


@dataclasses.dataclass(frozen=True)
class Tensor:
    """One tensor of a checkpoint: its name, shape, dtype (a name of ``_safetensors.ST_DTYPE``) and values."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    source: Source

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * _safetensors.ITEMSIZE[self.dtype]


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """A planned checkpoint: the tensors in order, the shard size limit and the metadata of every shard.

    ``metadata`` (strings to strings) goes into each shard's ``__metadata__``
    (with ``plan``, a fingerprint of the shard's tensors) and into the index's
    ``metadata`` (with ``total_size``).
    """

    tensors: tuple[Tensor, ...]
    max_shard_size: int
    metadata: dict[str, str]

    @functools.cached_property
    def ranges(self) -> list[tuple[int, int]]:
        return shard_ranges([t.nbytes for t in self.tensors], self.max_shard_size)

    @property
    def num_shards(self) -> int:
        return len(self.ranges)

    def shard_name(self, i: int) -> str:
        return shard_name(i, self.num_shards)

    def shard_tensors(self, i: int) -> tuple[Tensor, ...]:
        start, stop = self.ranges[i]
        return self.tensors[start:stop]

    def shard_metadata(self, i: int) -> dict[str, str]:
        recipe = [[t.name, list(t.shape), t.dtype, t.source.fingerprint()] for t in self.shard_tensors(i)]
        text = json.dumps({"arrayinit": __version__, "tensors": recipe}, sort_keys=True, default=repr)
        return {**self.metadata, "plan": hashlib.sha256(text.encode("utf-8")).hexdigest()}

    def shard_entries(self, i: int) -> list[tuple[str, tuple[int, ...], str]]:
        return [(t.name, t.shape, t.dtype) for t in self.shard_tensors(i)]

    def shard_header(self, i: int) -> bytes:
        return _safetensors.header_blob(self.shard_entries(i), self.shard_metadata(i))

    def shard_size(self, i: int) -> int:
        """Bytes of the shard file: header and data."""
        return len(self.shard_header(i)) + sum(t.nbytes for t in self.shard_tensors(i))

    @property
    def total_size(self) -> int:
        """Bytes of tensor data of the whole checkpoint (the index's ``metadata.total_size``)."""
        return sum(t.nbytes for t in self.tensors)

    def index(self) -> dict:
        weight_map = {t.name: self.shard_name(i) for i in range(self.num_shards) for t in self.shard_tensors(i)}
        return {"metadata": {**self.metadata, "total_size": self.total_size}, "weight_map": weight_map}


def plan(
    tensors: Iterable[Tensor],
    max_shard_size: int | str,
    metadata: dict[str, str] | None = None,
    argument: str = "max_shard_size",
) -> Checkpoint:
    """A ``Checkpoint`` of ``tensors`` (checked: names unique, dtypes and metadata that safetensors can hold).

    ``argument``: how errors name ``max_shard_size``.
    """
    tensors = tuple(tensors)
    if not tensors:
        raise ValueError("A checkpoint needs at least one tensor. Received: no tensors")
    ckpt = Checkpoint(tensors, parse_size(max_shard_size, argument), dict(metadata or {}))
    _safetensors.header_blob([(t.name, t.shape, t.dtype) for t in tensors], ckpt.metadata)  # names, dtypes, text
    return ckpt


# --- the folder: what is there, what is missing ----------------------------------------------


def output_folder(path: str | os.PathLike, argument: str = "out_dir") -> str:
    """The checkpoint's folder, created when missing (its parent must exist); refused when it is anything else."""
    path = os.fspath(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            raise FileNotFoundError(
                f"{argument}: cannot create the folder {path!r}: its parent {parent!r} does not exist"
            ) from None
        try:
            os.mkdir(path)
        except FileExistsError:  # made meanwhile
            pass
        except OSError as e:
            raise type(e)(e.errno, f"{argument}: cannot create the folder {path!r}: {e.strerror or e}") from None
        st = os.stat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise NotADirectoryError(
            f"{argument}: {path!r} exists and is not a folder; a sharded checkpoint is a folder "
            "(give a name ending in .safetensors for one file)"
        )
    if not os.access(path, os.W_OK):
        raise PermissionError(f"{argument}: cannot write into the folder {path!r}")
    return path


def shard_matches(ckpt: Checkpoint, i: int, folder: str) -> bool:
    """Whether shard ``i`` is in ``folder`` as planned: a regular file of the planned size and header."""
    path = os.path.join(folder, ckpt.shard_name(i))
    header = ckpt.shard_header(i)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode) or os.path.getsize(path) != ckpt.shard_size(i):
            return False
        with open(path, "rb") as fh:
            return fh.read(len(header)) == header
    except OSError:
        return False


def missing_shards(ckpt: Checkpoint, folder: str) -> list[int]:
    """The shards to write: those absent from ``folder`` or that differ from the plan."""
    return [i for i in range(ckpt.num_shards) if not shard_matches(ckpt, i, folder)]


def check_free_disk(need: int, folder: str, argument: str = "out_dir") -> None:
    """An ``ENOSPC`` OSError naming ``argument`` when ``need`` bytes do not fit in ``folder``."""
    free = shutil.disk_usage(folder).free
    if need > free:
        raise OSError(
            errno.ENOSPC,
            f"{argument} {folder!r}: the shards to write need {need:,} bytes and the folder has {free:,} bytes free",
        )


# --- writing ---------------------------------------------------------------------------------


def write_shard(ckpt: Checkpoint, i: int, folder: str, written: Callable[[int], None] = lambda n: None) -> None:
    """Write shard ``i`` into ``folder`` (atomically, flushed to the disk before it is renamed into place).

    ``written(n)``: ``n`` more bytes written (the header, then each block).
    """
    tensors = {t.name: t for t in ckpt.shard_tensors(i)}

    def produce(name):
        t = tensors[name]
        return t.source.blocks(t.shape, t.dtype, lambda n: written(n * _safetensors.ITEMSIZE[t.dtype]))

    path = os.path.join(folder, ckpt.shard_name(i))
    _safetensors.write(path, ckpt.shard_entries(i), produce, metadata=ckpt.shard_metadata(i), fsync=True)
    written(len(ckpt.shard_header(i)))


def write_index(ckpt: Checkpoint, folder: str) -> str:
    """Write the index (atomically, flushed); remove shard files of another plan (``model-*-of-*``)."""
    keep = {ckpt.shard_name(i) for i in range(ckpt.num_shards)}
    for name in os.listdir(folder):
        if SHARD_PATTERN.fullmatch(name) and name not in keep:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(folder, name))
    path = os.path.join(folder, INDEX_NAME)
    with _safetensors.atomic_file(path) as fh:
        fh.write((json.dumps(ckpt.index(), indent=2) + "\n").encode("utf-8"))
        fh.flush()
        os.fsync(fh.fileno())
    return path


def _shard_task(ckpt: Checkpoint, i: int, folder: str) -> int:
    """Write shard ``i`` (an executor's task); returns ``i``."""
    write_shard(ckpt, i, folder)
    return i


# signals whose default action ends the process (those the command turns into a clean exit): held back while the
# workers start, so that an interrupt always finds every worker known and started
_ENDING = frozenset(
    getattr(signal, name)
    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGXCPU")
    if hasattr(signal, name)
)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Signals of ``_ENDING`` wait until the block ends (then they are delivered); nothing without POSIX masks."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _ENDING)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class _StopWorker(BaseException):
    """``SIGTERM`` in a worker process: unwinds the shard being written (its temporary file is removed)."""


def _stop(signum, frame):
    raise _StopWorker


def _worker(ckpt: Checkpoint, folder: str, tasks, results, threads: int) -> None:
    """A worker process: writes the shards it takes from ``tasks``, reporting bytes and shards on ``results``."""
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)  # Ctrl-C reaches the workers too: the parent reports it
    if hasattr(signal, "pthread_sigmask"):  # a spawned worker inherits the mask its parent held while starting it
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _ENDING)
    os.environ["NUMBA_NUM_THREADS"] = str(threads)
    try:
        while (i := tasks.get()) is not None:
            try:
                write_shard(ckpt, i, folder, lambda n: results.put(("bytes", n)))
            except Exception as e:
                results.put(("error", i, _portable(e)))
                return
            results.put(("done", i, None))
    except _StopWorker:
        pass


def _portable(e: Exception) -> Exception:
    """``e``, or a RuntimeError with its text when ``e`` cannot be sent to another process."""
    import pickle

    try:
        pickle.loads(pickle.dumps(e))
    except Exception:
        return RuntimeError(f"{type(e).__name__}: {e}")
    return e


def _context():
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods and _socket_fits() else "spawn")
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(["arrayinit._checkpoint"])
    return ctx


def _socket_fits() -> bool:
    """Whether the forkserver's socket, ``$TMPDIR/pymp-XXXXXXXX/listener-XXXXXXXX``, is short enough for AF_UNIX.

    The limit is 104 bytes on macOS and 108 on Linux; with a longer temporary folder the forkserver cannot
    start ("AF_UNIX path too long"), and spawn, which needs no socket, starts the workers instead.
    """
    return len(os.fsencode(os.path.join(tempfile.gettempdir(), "pymp-" + "x" * 8, "listener-" + "x" * 8))) < 104


def _run_processes(
    ckpt: Checkpoint, folder: str, todo: list[int], workers: int, written: Callable[[int], None]
) -> None:
    """Write the shards ``todo`` in ``workers`` processes (each takes the next shard when it is done with one)."""
    ctx = _context()
    tasks: Any = ctx.Queue()
    results: Any = ctx.Queue()
    for i in todo:
        tasks.put(i)
    n = min(workers, len(todo))
    for _ in range(n):
        tasks.put(None)
    threads = max(1, (os.cpu_count() or 1) // n)
    procs: list = []
    remaining = set(todo)
    try:
        with _signals_held():
            for _ in range(n):
                p = ctx.Process(target=_worker, args=(ckpt, folder, tasks, results, threads), daemon=True)
                p.start()
                procs.append(p)
        while remaining:
            try:
                msg = results.get(timeout=0.2)
            except queue.Empty:
                if not any(p.is_alive() for p in procs):
                    with contextlib.suppress(queue.Empty):
                        msg = results.get(timeout=1.0)  # a last message sent just before the exit
                        _handle(msg, remaining, written)
                        continue
                    codes = sorted({p.exitcode for p in procs})
                    raise RuntimeError(
                        f"the worker processes ended with shards still to write ({len(remaining)} of "
                        f"{ckpt.num_shards}; exit codes {codes})"
                    ) from None
                continue
            _handle(msg, remaining, written)
    finally:
        _stop_processes(procs, graceful=not remaining)
        tasks.close()
        results.close()
        tasks.cancel_join_thread()
        results.cancel_join_thread()


def _handle(msg, remaining: set[int], written: Callable[[int], None]) -> None:
    kind = msg[0]
    if kind == "bytes":
        written(msg[1])
    elif kind == "done":
        remaining.discard(msg[1])
    else:
        raise msg[2]


def _stop_processes(procs: list, graceful: bool) -> None:
    """Join the workers; after an error or an interrupt, first ask each to stop (its shard's temporary file goes)."""
    if not graceful:
        for p in procs:
            if p.is_alive():
                with contextlib.suppress(OSError, ValueError):
                    os.kill(p.pid, signal.SIGTERM)
    for p in procs:
        p.join(timeout=60)
        if p.is_alive():  # pragma: no cover - a worker that does not react to SIGTERM
            p.kill()
            p.join()


def _run_executor(
    ckpt: Checkpoint,
    folder: str,
    todo: list[int],
    executor: concurrent.futures.Executor,
    written: Callable[[int], None],
) -> None:
    """Write the shards ``todo`` as tasks of ``executor``; progress advances by whole shards."""
    futures = {executor.submit(_shard_task, ckpt, i, folder): i for i in todo}
    try:
        for f in concurrent.futures.as_completed(futures):
            f.result()
            written(ckpt.shard_size(futures[f]))
    finally:
        for f in futures:
            f.cancel()


def write_checkpoint(
    ckpt: Checkpoint,
    folder: str,
    *,
    workers: int = 1,
    executor: concurrent.futures.Executor | None = None,
    check_disk: Callable[[int], None] | None = None,
    progress: Callable[[int, int], Any] | None = None,
) -> str:
    """Write ``ckpt`` into ``folder`` (which exists); returns the index's path.

    The shards already there as planned are kept (``missing_shards``); the
    others are written in this process (``workers=1``), in ``workers``
    processes, or as tasks of ``executor`` (any ``concurrent.futures``
    executor whose tasks can write into ``folder``, such as
    ``dask.distributed.Client.get_executor()``). The index is removed
    before the first shard is written and written again last. ``check_disk(need)``
    refuses a shortage of free disk for the shards to write (default:
    ``check_free_disk``). ``progress(total, done)`` is called once with the
    bytes of the whole checkpoint and of the shards kept, and returns the
    callback that receives each count of bytes written.
    """
    todo = missing_shards(ckpt, folder)
    need = sum(ckpt.shard_size(i) for i in todo)
    (check_disk or functools.partial(check_free_disk, folder=folder))(need)
    total = sum(ckpt.shard_size(i) for i in range(ckpt.num_shards))
    written = progress(total, total - need) if progress is not None else None
    written = written or (lambda n: None)
    if todo:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(folder, INDEX_NAME))  # no index while any shard is missing
    if not todo:
        pass
    elif executor is not None:
        _run_executor(ckpt, folder, todo, executor, written)
    elif workers > 1 and len(todo) > 1:
        _run_processes(ckpt, folder, todo, workers, written)
    else:
        for i in todo:
            write_shard(ckpt, i, folder, written)
    return write_index(ckpt, folder)
