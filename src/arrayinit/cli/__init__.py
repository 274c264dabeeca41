"""The ``arrayinit`` command: ``demo``, ``sample``, ``materialize``, ``warmup``, ``bench``.

``main`` parses the command line and runs the command's module; what goes
wrong becomes one line and an exit status. Errors in the user's input
(arguments, spec, output path, device, sizes that do not fit in memory or on
disk) are reported as ``arrayinit <command>: error: ...`` with exit status 2,
naming the argument or the spec's parameter and the value received; no output
file is left behind. An interrupt (Ctrl-C, ``SIGTERM``, ``SIGHUP``, ...)
removes the file being written, prints one line and exits with
``128 + the signal number`` (130 for Ctrl-C, 143 for ``SIGTERM``).

One module per command (``_demo``, ``_sample``, ``_materialize``,
``_warmup``, ``_bench``), and below them:

- ``_parser``: the commands, their options and help text (argparse);
- ``_arguments``: ``INIT``, ``--shape``, ``--seed`` and ``--dtype`` parsed from text;
- ``_spec``: a model spec read from JSON or YAML and validated whole;
- ``_checks``: shape and size limits, and an initializer's checks run without generating;
- ``_resources``: memory, free disk and writable output paths;
- ``_progress``: the progress bar of ``materialize``;
- ``_theory``, ``_stats``, ``_plots``: what an initializer should draw, what a sample drew, and the
  histograms that compare them;
- ``_messages``: the wording of the one-line errors;
- ``_signals``: signals raised as ``Interrupted`` while a command runs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

from arrayinit import _safetensors
from arrayinit._errors import DeviceUnavailableError
from arrayinit.cli import _bench, _demo, _materialize, _sample, _warmup
from arrayinit.cli._demo import demo
from arrayinit.cli._materialize import materialize
from arrayinit.cli._messages import one_line
from arrayinit.cli._parser import build_parser
from arrayinit.cli._signals import Interrupted, signals_as_exceptions
from arrayinit.cli._spec import load_spec, plan_spec
from arrayinit.cli._stats import stats
from arrayinit.cli._theory import Theory, theory
from arrayinit.cli._warmup import warmup

__all__ = [
    "Interrupted",
    "Theory",
    "build_parser",
    "demo",
    "load_spec",
    "main",
    "materialize",
    "plan_spec",
    "stats",
    "theory",
    "warmup",
]

_COMMANDS = {
    "demo": _demo.run,
    "sample": _sample.run,
    "materialize": _materialize.run,
    "warmup": _warmup.run,
    "bench": _bench.run,
}


def main(argv: list[str] | None = None) -> int:
    """Run the ``arrayinit`` command with ``argv`` (default ``sys.argv[1:]``); returns the exit status.

    Ctrl-C (or another signal of ``_signals.CAUGHT``) at any moment, also
    while the options are parsed, a module is imported or an error is
    reported, ends the command with one line and ``128 +`` the signal number,
    never a traceback.
    """
    prefix = "arrayinit"
    try:
        with signals_as_exceptions():
            try:
                args = build_parser().parse_args(argv)
                prefix = f"arrayinit {args.command}"
                return _COMMANDS[args.command](args)
            except (Interrupted, KeyboardInterrupt) as e:
                _safetensors.remove_partial_files()
                signum = e.signum if isinstance(e, Interrupted) else signal.SIGINT
                name = signal.Signals(signum).name
                print(f"\n{prefix}: interrupted by {name}; no partial file left", file=sys.stderr)
                return 128 + signum
            except BrokenPipeError:
                # the reader of stdout went away (``arrayinit demo | head -1``): end quietly, as a SIGPIPE would
                _safetensors.remove_partial_files()
                with contextlib.suppress(OSError, ValueError):
                    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                return 128 + getattr(signal, "SIGPIPE", 13)
            except (ValueError, TypeError, OSError, DeviceUnavailableError) as e:
                print(f"{prefix}: error: {one_line(e)}", file=sys.stderr)
                return 2
            except MemoryError as e:
                print(f"{prefix}: error: out of memory{f' ({one_line(e)})' if str(e) else ''}", file=sys.stderr)
                return 2
            except RecursionError:
                print(f"{prefix}: error: the input is nested too deeply", file=sys.stderr)
                return 2
    except (Interrupted, KeyboardInterrupt) as e:  # a signal while an error line was printed: that line is enough
        _safetensors.remove_partial_files()
        return 128 + (e.signum if isinstance(e, Interrupted) else signal.SIGINT)
