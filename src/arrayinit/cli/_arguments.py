"""The values typed on the command line (``INIT``, ``--shape``, ``--seed``, ``--dtype``, ``--workers``) parsed from
text and checked, each refusal naming the option and the text received."""

from __future__ import annotations

import argparse
import json
import re

from arrayinit import _dtypes
from arrayinit._initializers import Initializer
from arrayinit._registry import get
from arrayinit.cli._checks import check_dims, parse_json_int
from arrayinit.cli._messages import short

_DIM = re.compile(r"[0-9]+")


def parse_initializer(text: str) -> Initializer:
    """``INIT``: a registered name or a JSON config, as an arrayinit initializer."""
    text = text.strip()
    identifier: object = text
    if text.startswith("{"):
        try:
            identifier = json.loads(text, parse_int=parse_json_int)
        except RecursionError:
            raise ValueError(f"INIT is nested too deeply. Received: {short(text)}") from None
        except ValueError as e:  # json.JSONDecodeError included
            raise ValueError(f"INIT is not valid JSON: {e}. Received: {short(text)}") from None
    try:
        init = get(identifier)
    except RecursionError:
        raise ValueError(f"INIT is nested too deeply. Received: {short(text)}") from None
    if not isinstance(init, Initializer):
        raise ValueError(f"INIT must name an arrayinit initializer. Received: {short(text)}")
    return init


def parse_shape(text: str) -> tuple[int, ...]:
    """``256,128`` (or ``256x128``, ``(256, 128)``, ``[256, 128]``; ``()`` is a scalar) as a tuple of ints."""
    usage = (
        "--shape must be non-negative integers separated by commas, e.g. 256,128 (or () for a scalar). "
        f"Received: --shape {short(text)}"
    )
    body = text.strip()
    if len(body) >= 2 and body[0] + body[-1] in ("()", "[]"):
        body = body[1:-1].strip()
        if not body:
            return ()
    tokens = [t.strip() for t in re.split(r"[,x]", body)]
    if len(tokens) > 1 and tokens[-1] == "" and "," in body:
        tokens.pop()  # a trailing comma, as in (5,)
    if not tokens or any(not _DIM.fullmatch(t) for t in tokens):
        raise ValueError(usage)
    if any(len(t) > 30 for t in tokens):
        raise ValueError(f"--shape: every dimension must be below 2**63. Received: --shape {short(text)}")
    dims = tuple(int(t) for t in tokens)
    check_dims("--shape", dims)
    return dims


def parse_dtype(text: str) -> str:
    """``--dtype``: a float dtype's name or alias (bf16, half, single, double), as its canonical name."""
    try:
        return _dtypes.dtype_name(text, "--dtype")
    except (TypeError, ValueError):
        raise ValueError(
            f"--dtype must be one of {', '.join(_dtypes.FLOAT_NAMES)} (or an alias: bf16, half, single, double). "
            f"Received: --dtype {text!r}"
        ) from None


def seed_arg(text: str) -> int:
    """``--seed`` (an argparse ``type``): an integer in [0, 2**64), refused with the value shortened (never a
    4,300-digit echo)."""
    t = text.strip()
    if not _DIM.fullmatch(t) or len(t) > 25 or int(t) >= 2**64:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, 2**64). Received: {short(text)}")
    return int(t)


def workers_arg(text: str) -> int:
    """``--workers`` (an argparse ``type``): a positive integer, at most 1024."""
    t = text.strip()
    if not _DIM.fullmatch(t) or len(t) > 5 or not 1 <= int(t) <= 1024:
        raise argparse.ArgumentTypeError(f"must be an integer from 1 to 1024. Received: {short(text)}")
    return int(t)
