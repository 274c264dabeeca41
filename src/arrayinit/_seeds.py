"""Seeds: drawing a fresh one, and deriving per-parameter seeds from a root seed."""

from __future__ import annotations

import hashlib
import secrets

from arrayinit._errors import check_seed, received

__all__ = ["derive_seed", "fresh_seed"]


def fresh_seed() -> int:
    """A new seed in ``[0, 2**64)`` from the operating system's entropy."""
    return secrets.randbits(64)


def derive_seed(seed: int, name: str) -> int:
    """A stable 64-bit seed for the parameter ``name`` under the root ``seed``.

    One root seed then gives every parameter of a model its own stream, and
    the result does not depend on the order in which parameters are created.

    Parameters
    ----------
    seed : int
        Root seed in ``[0, 2**64)``.
    name : str
        The parameter's qualified name, e.g. ``"encoder/layer_3/kernel"``.

    Returns
    -------
    int
        ``int.from_bytes(blake2b(b"arrayinit-seed-v1" + seed.to_bytes(8, "little")
        + name.encode("utf-8"), digest_size=8).digest(), "little")``. This
        formula is part of the compatibility policy.

    Examples
    --------
    >>> import arrayinit as ai
    >>> ai.derive_seed(0, "dense/kernel") == ai.derive_seed(0, "dense/kernel")
    True
    >>> ai.derive_seed(0, "dense/kernel") != ai.derive_seed(0, "dense/bias")
    True
    """
    seed = check_seed(seed)
    if not isinstance(name, str):
        raise TypeError(f"Argument `name` must be a str. {received('name', name)}")
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError as e:  # a lone surrogate has no UTF-8 form, so no stable seed
        raise ValueError(f"Argument `name` must be encodable as UTF-8 ({e.reason}). {received('name', name)}") from None
    h = hashlib.blake2b(b"arrayinit-seed-v1" + seed.to_bytes(8, "little") + encoded, digest_size=8)
    return int.from_bytes(h.digest(), "little")
