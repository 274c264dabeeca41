"""Constants shared by the kernels and the plan builders (numba-free: importing it imports no numba).

``MILLS_SERIES``: the asymptotic series of ``x R(x)``, ``R(x) = Q(x) / phi(x)`` the
Mills ratio of the standard normal: ``1 + sum_k (-1)**k (2k - 1)!! / x**(2k)``,
``k = 1 .. 10``, coefficients highest order first (Abramowitz & Stegun 26.2.12).
For ``x >= 29`` the first omitted term is below 1e-20.
"""

MILLS_SERIES = (654729075.0, -34459425.0, 2027025.0, -135135.0, 10395.0, -945.0, 105.0, -15.0, 3.0, -1.0)
