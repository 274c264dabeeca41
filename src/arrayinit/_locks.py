"""Loads (first-use imports, CPU kernels) run by one loader thread, under the lock a fork waits for.

Loading holds locks that a child forked meanwhile would inherit, held by a
thread it does not have: the import lock of the module being imported,
numba's compiler lock. Every load in arrayinit runs under ``load_lock``, and
a fork waits for it: the forking thread takes the lock (and the further locks
given to ``hold_during_fork``) in a fork handler and releases them on both
sides. So a child forked at any moment can generate.

Loads run on a thread of their own, which runs no signal handlers, no trace
hooks, and no cyclic garbage collection while it loads. A call made while
another call of the same thread waits for a load (from a signal handler, a
finalizer, a trace hook) waits for the loader like any other call: it never
enters a half-done load, and a load never recurses. The calling thread waits
in a way that Ctrl-C interrupts at once; the load it asked for is finished
by the loader anyway and serves the next call. Such a nested wait holds back
the thread's handled signals until it is done, so that handlers do not nest
without end while a load takes longer than a fast timer's period.
"""

from __future__ import annotations

import _thread
import functools
import gc
import importlib
import logging  # noqa: F401  its fork handlers are registered before ours: ours run first
import os
import queue
import signal
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any, TypeVar

__all__ = ["after_fork_in_child", "hold_during_fork", "lazy_import", "load", "load_lock"]

T = TypeVar("T")

load_lock = threading.RLock()
_fork_locks: list = []  # further locks a fork waits for, taken after ``load_lock``
_fork_held = threading.local()
_child_hooks: list[Callable[[], None]] = []
_imported: dict[str, ModuleType] = {}


class _Request:
    """A load for the loader thread; ``done`` is released once ``value`` or ``error`` is set."""

    __slots__ = ("done", "error", "fn", "value")

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn
        self.done = _thread.allocate_lock()
        self.done.acquire()
        self.value: Any = None
        self.error: BaseException | None = None


# Everything a call does to hand a load over is one C-level operation (a put on a SimpleQueue, a thread
# started by ``_thread``), so that a call nested in it, from a signal handler run between two bytecodes,
# finds no half-changed state and no lock held by its own thread. Two nested calls may each start a loader
# thread: both serve the same queue, one load at a time.
_queue: queue.SimpleQueue[_Request] = queue.SimpleQueue()
_loaders: list[int] = []  # the loader threads started in this process
_loader_idents: set[int] = set()  # the loader threads' identifiers, each added by the thread itself
_local = threading.local()  # ``waits``: how many waits for a load this thread is in


def _serve(requests: queue.SimpleQueue[_Request]) -> None:
    # first, before anything allocates: a finalizer run here by the garbage collector loads inline
    _loader_idents.add(_thread.get_ident())
    while True:
        req = requests.get()
        with load_lock:
            collecting = gc.isenabled()
            gc.disable()  # no finalizer runs in the middle of a load
            try:
                req.value = req.fn()
            except BaseException as e:
                req.error = e
            finally:
                if collecting:
                    gc.enable()
        req.done.release()
        del req


def load(fn: Callable[[], T]) -> T:
    """``fn()``, run by the loader thread under ``load_lock`` (inline when called on the loader thread)."""
    if _thread.get_ident() in _loader_idents:
        with load_lock:
            return fn()
    req = _Request(fn)
    waits = getattr(_local, "waits", 0)
    _local.waits = waits + 1
    try:
        _queue.put(req)
        if not _loaders:
            try:
                _loaders.append(_thread.start_new_thread(_serve, (_queue,)))
            except RuntimeError:  # no new thread at interpreter shutdown: load here
                with load_lock:
                    return fn()
        if waits and threading.current_thread() is threading.main_thread() and hasattr(signal, "pthread_sigmask"):
            _wait_without_handlers(req)
        else:
            req.done.acquire()  # signal handlers run meanwhile (Ctrl-C interrupts the wait)
    finally:
        _local.waits = waits
    if req.error is not None:
        raise req.error
    return req.value


def _handled_signals() -> set[int]:
    """The signals with a Python handler, but Ctrl-C while its handler is Python's (it only raises)."""
    sigs: set[int] = set()
    for sig in signal.valid_signals():
        handler = signal.getsignal(sig)
        if callable(handler) and handler is not signal.default_int_handler:
            sigs.add(sig)
    return sigs


def _wait_without_handlers(req: _Request) -> None:
    """Wait for ``req`` with this thread's handled signals held back (they are handled once it is done).

    For a wait inside a wait of the same thread (a signal handler's call while
    a call waits for the loader): without it, a signal arriving faster than
    the load takes would nest handler in handler without end.
    """
    old = signal.pthread_sigmask(signal.SIG_BLOCK, ())  # runs the handlers already due, changes nothing
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, _handled_signals())
        req.done.acquire()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def lazy_import(name: str) -> ModuleType:
    """``importlib.import_module(name)``, imported by the loader on first use (a fork waits for it)."""
    module = _imported.get(name)
    if module is None:
        module = load(functools.partial(_import, name))
    return module


def _import(name: str) -> ModuleType:
    module = _imported.get(name)
    if module is None:
        module = _imported[name] = importlib.import_module(name)
    return module


def hold_during_fork(lock) -> None:
    """Make a fork also wait for ``lock`` (taken after ``load_lock``), and order the fork handlers again."""
    if all(held is not lock for held in _fork_locks):
        _fork_locks.append(lock)
    _register_fork_handlers()


def after_fork_in_child(hook: Callable[[], None]) -> None:
    """Run ``hook()`` in a forked child, once the fork's locks are released there."""
    _child_hooks.append(hook)


def _before_fork() -> None:
    held = [load_lock]
    load_lock.acquire()
    for lock in _fork_locks:
        lock.acquire()
        held.append(lock)
    stack = getattr(_fork_held, "stack", None)
    if stack is None:
        stack = _fork_held.stack = []
    stack.append(held)


def _after_fork(child: bool) -> None:
    global _queue
    stack = getattr(_fork_held, "stack", None)
    if stack:
        for lock in reversed(stack.pop()):
            lock.release()
    if child:
        _queue = queue.SimpleQueue()  # the loader threads do not exist in the child
        _loaders.clear()
        _loader_idents.clear()  # a child forked by a load is no loader
        for hook in _child_hooks:
            hook()


def _register_fork_handlers() -> None:
    """Register the fork handlers (again: ``before`` handlers run in reverse order of registration, so ours run
    before those of modules imported since, whose locks a load may need: numba logs under ``logging``'s lock,
    and the forking thread must not hold it while it waits)."""
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(
            before=_before_fork,
            after_in_parent=lambda: _after_fork(False),
            after_in_child=lambda: _after_fork(True),
        )


_register_fork_handlers()
