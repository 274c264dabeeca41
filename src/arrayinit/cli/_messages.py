"""The wording of the command's one-line errors: a user's value shortened, a size in KiB, MiB or GiB, an
exception's text on one line."""

from __future__ import annotations

import reprlib

_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxlong, _REPR.maxother = 3, 70, 40, 70
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 8


def short(value: object) -> str:
    """A bounded repr of a value from the user (a string of megabytes, a structure of YAML aliases)."""
    text = _REPR.repr(value)
    if isinstance(value, str) and len(value) > _REPR.maxstring:
        text += f" ({len(value)} characters)"
    return text


def short_int(n: int) -> str:
    """``n`` in full below ``10**30``, else its order of magnitude: ``about 10**4400``."""
    return str(n) if n < 10**30 else f"about 10**{len(str(n)) - 1}"


def human_size(nbytes: float) -> str:
    """``nbytes`` for people: ``1.5 GiB``."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if nbytes < 1024 or unit == "PiB":
            return f"{nbytes:.0f} {unit}" if unit == "bytes" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    raise AssertionError  # pragma: no cover


def one_line(e: BaseException) -> str:
    """An error's text for the one error line (an OSError without its ``[Errno N]`` prefix, never two lines)."""
    if isinstance(e, OSError) and e.strerror:
        text = f"{e.filename!r}: {e.strerror}" if e.filename else e.strerror
    else:
        text = str(e)
    return " ".join(text.split()) if "\n" in text or "\r" in text else text
