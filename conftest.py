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

# subprocess entry points of the integration tests, not test modules
collect_ignore_glob = ["tests/workers/*"]
