"""Signals that end a command (Ctrl-C, ``SIGTERM``, ``SIGHUP``, ...) raised as ``Interrupted`` while it runs, so that
the file being written is removed before the command exits."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

# signals whose default action ends the process: each becomes an Interrupted exception, so that the file
# being written is removed; a signal the parent set to be ignored (nohup's SIGHUP) stays ignored
CAUGHT = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGXCPU")


class Interrupted(BaseException):
    """A signal that ends the command (raised by the handler that ``signals_as_exceptions`` installs)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def signals_as_exceptions() -> Iterator[None]:
    """Within the block, each signal of ``CAUGHT`` that would end the process raises ``Interrupted`` instead.

    Only on the main thread (where Python runs signal handlers); the
    previous handlers are restored on exit.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {}

    def handler(signum, frame):
        for s in previous:  # one interrupt is enough: the clean-up runs undisturbed
            signal.signal(s, signal.SIG_IGN)
        raise Interrupted(signum)

    for name in CAUGHT:
        s = getattr(signal, name, None)
        if s is None:
            continue
        current = signal.getsignal(s)
        if current is signal.SIG_DFL or current is signal.default_int_handler:
            previous[s] = current
            signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
