"""Fit the far-tail polynomials of ``arrayinit._kernels.special``.

Giles' erfinv polynomials (GPU Computing Gems, 2011) cover ``w < 16`` (single)
and ``w < 36`` (double), ``w = -log((1 - x)(1 + x))``. The arrayinit streams
reach further into the tails (float32 normals to ``q = 2**-33``, truncated
normals to ``q = 1e-300``), so this program fits ``erfinv(x) / x`` as a
polynomial in ``t = (sqrt(w) - c) / h`` on further intervals of ``w``, with
mpmath as the reference, and prints the tables pasted into ``special.py``.

Run: ``python tools/fit_ndtri_tails.py`` (needs mpmath; about a minute).
"""

import mpmath as mp
import numpy as np


def erfinv_over_x(s):
    """erfinv(x)/x at w = s**2, computed with enough digits for the tail."""
    w = mp.mpf(s) ** 2
    mp.mp.dps = int(40 + w / 2)
    x = mp.sqrt(1 - mp.exp(-w))
    val = mp.erfinv(x) / x
    mp.mp.dps = 40
    return val


def fit(w_lo, w_hi, deg, nodes=400):
    s_lo, s_hi = np.sqrt(w_lo), np.sqrt(w_hi)
    c, h = (s_lo + s_hi) / 2, (s_hi - s_lo) / 2
    k = np.arange(nodes)
    t = np.cos(np.pi * (k + 0.5) / nodes)
    y = np.array([float(erfinv_over_x(mp.mpf(c) + mp.mpf(h) * mp.mpf(ti))) for ti in t])
    cheb = np.polynomial.chebyshev.Chebyshev.fit(t, y, deg, domain=[-1, 1])
    coeffs = cheb.convert(kind=np.polynomial.Polynomial).coef  # in t, low order first
    # check on a dense grid in float64 Horner
    tt = np.linspace(-1, 1, 3001)
    ref = np.array([float(erfinv_over_x(mp.mpf(c) + mp.mpf(h) * mp.mpf(ti))) for ti in tt[::10]])
    p = np.zeros_like(tt[::10])
    for a in coeffs[::-1]:
        p = p * tt[::10] + a
    err = np.max(np.abs(p - ref) / np.abs(ref))
    return c, h, coeffs[::-1], err


HEADER = '''"""Far-tail polynomials of the inverse normal CDF (generated: do not edit).

Written by ``tools/fit_ndtri_tails.py``: ``erfinv(x) / x`` as a polynomial in
``t = (sqrt(w) - C) / H``, ``w = -log((1 - x)(1 + x))``, fitted against mpmath
on Chebyshev nodes; coefficients highest order first.
"""
'''

TABLES = [
    ("G32_C", 16.0, 50.0, 9),
    ("G64_D", 36.0, 100.0, 20),
    ("G64_E", 100.0, 300.0, 20),
    ("G64_F", 300.0, 746.0, 20),
]

if __name__ == "__main__":
    import sys

    mp.mp.dps = 40
    lines = [HEADER]
    for name, lo, hi, deg in TABLES:
        c, h, coeffs, err = fit(lo, hi, deg)
        lines.append(f"\n# w in [{lo}, {hi}); max relative fit error {err:.1e}")
        lines.append(f"{name}_C = {float(c)!r}")
        lines.append(f"{name}_H = {float(h)!r}")
        lines.append(f"{name} = (")
        lines.extend(f"    {float(a)!r}," for a in coeffs)
        lines.append(")")
    target = sys.argv[1] if len(sys.argv) > 1 else "src/arrayinit/_kernels/_ndtri_tails.py"
    with open(target, "w") as fh:
        fh.write("\n".join(lines) + "\n")
