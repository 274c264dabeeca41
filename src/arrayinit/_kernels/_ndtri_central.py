"""Log-free inverse normal CDF of the central window (generated: do not edit).

Written by ``tools/fit_ndtri_central.py``: ``ndtri(1/2 + q) = q P(y) / Q(y)``,
``y = q**2 - S_MAX``, 1 / Q by the kernels' reciprocal (``recip32``),
for ``|q| <= 0.4775`` (``|z| <= 2.0047``); degrees 5/4; max relative fit error 1.2e-08;
the float32 kernel expression within 5.3 float32 ulps (3.6e-07 relative).
Coefficients highest order first, float32 values.
"""

Q_MAX = 0.4775
S_MAX = 0.2280062437057495
P = (
    2183.110107421875,
    14795.859375,
    -19831.98828125,
    4274.5771484375,
    -255.30239868164062,
    4.19822883605957,
)
Q = (
    12326.0166015625,
    -8576.208984375,
    1369.333740234375,
    -68.38421630859375,
    1.0,
)
