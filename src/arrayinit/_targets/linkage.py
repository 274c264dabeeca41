"""The names of the CPU kernels' entry points and their linkage in an LLVM module (a kernel source:
the symbols are part of the machine code the cache keeps)."""

from __future__ import annotations


def symbol(family: str, dtype: str, name: str) -> str:
    """The symbol of an entry point (``name``: "run" or "pending") of a variant."""
    return f"arrayinit_{family}_{dtype}_{name}"


def entries(family: str, dtype: str) -> tuple[str, str]:
    """The symbols of a variant's two entry points."""
    return symbol(family, dtype, "run"), symbol(family, dtype, "pending")


def internalize(module, keep: tuple[str, ...]) -> None:
    """Every function and global defined in ``module`` internal, but the functions in ``keep``."""
    for fn in module.functions:
        if not fn.is_declaration and fn.name not in keep:
            fn.linkage = "internal"
    for gv in module.global_variables:
        if not gv.is_declaration:
            gv.linkage = "internal"
