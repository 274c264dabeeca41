"""Doctest collection: modules of optional integrations are skipped when their library is absent."""

import importlib.util

collect_ignore = [
    path
    for path, lib in [
        ("src/arrayinit/torch", "torch"),
        ("src/arrayinit/keras.py", "keras"),
        ("src/arrayinit/flax.py", "flax"),
        ("src/arrayinit/dask.py", "dask"),
    ]
    if importlib.util.find_spec(lib) is None
]
if importlib.util.find_spec("jax") is None:  # the XLA op's modules import jax (its callback bodies do not)
    collect_ignore += ["src/arrayinit/_xla/op.py", "src/arrayinit/_xla/deliver.py"]

# subprocess entry points of the integration tests, not test modules
collect_ignore_glob = ["tests/workers/*"]
