"""Log-free inverse normal CDF of the central window, float64 (generated: do not edit).

Written by ``tools/fit_ndtri_central.py --float64``: ``ndtri(1/2 + q) = q P(y) / Q(y)``,
``y = q**2 - S_MAX``, for ``|q| <= 0.4775`` (``|z| <= 2.0047``); degrees 10/10;
max relative fit error 7.7e-18; the float64 kernel expression (correctly rounded
division) within 5.4 float64 ulps (6.7e-16 relative) of mpmath.
Coefficients highest order first, float64 values.
"""

Q_MAX = 0.4775
S_MAX = 0.22800625
P = (
    94911750.43002893,
    -1582250786.232327,
    3892551803.919128,
    -3205946355.0323367,
    1166950726.936788,
    -215324222.6134472,
    21680853.995915458,
    -1229834.6094040188,
    38925.05684263184,
    -637.7960808533049,
    4.19822923929863,
)
Q = (
    217363996.98430976,
    -1458490281.7420986,
    2383541305.353593,
    -1518062863.3903646,
    460610478.3219232,
    -74118331.71194305,
    6707299.78060281,
    -349332.994572396,
    10312.80968245026,
    -159.4925918946125,
    1.0,
)
