"""Hypothesis profile of the ``fuzz`` nox session: deterministic, database-free, a fixed budget.

``ARRAYINIT_FUZZ_EXAMPLES`` sets the examples per property (default 60, a quick local
run; the ``fuzz`` nox session uses 250, about three minutes with its installs on two cores).
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "arrayinit-fuzz",
    derandomize=True,
    database=None,
    max_examples=int(os.environ.get("ARRAYINIT_FUZZ_EXAMPLES", "60")),
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
settings.load_profile("arrayinit-fuzz")
