"""Doctest collection: modules of optional integrations are skipped when their library is absent."""

import importlib.util

collect_ignore = [
    f"src/arrayinit/{mod}.py"
    for mod, lib in [("torch", "torch"), ("keras", "keras"), ("flax", "flax"), ("dask", "dask")]
    if importlib.util.find_spec(lib) is None
]
if importlib.util.find_spec("jax") is None:  # the XLA op's modules import jax (its callback bodies do not)
    collect_ignore += ["src/arrayinit/_xla/op.py", "src/arrayinit/_xla/deliver.py"]

# subprocess entry points of the integration tests, not test modules
collect_ignore_glob = ["tests/workers/*"]
