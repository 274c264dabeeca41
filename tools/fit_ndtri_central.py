"""Fit the log-free inverse normal CDF of the central window (|z| <= 2.0047) to float32 or float64 accuracy.

``ndtri(1/2 + q) = q P(y) / Q(y)``, ``y = q**2 - Q_MAX**2`` for ``|q| <= Q_MAX``:
a rational function with ``Q(0) = 1`` (the basis centred on the tail end keeps
the coefficients well conditioned: every term of ``P`` and ``Q`` is positive on
the window), fitted against mpmath by iteratively reweighted linear least
squares on Chebyshev nodes (Sanathanan-Koerner, then Lawson weights towards
the minimax relative error), its coefficients rounded to the target's float
type, and checked by evaluating the kernel's expression (every multiply-add
fused, as the kernels do).

- float32 (default): ``1 / Q`` by the kernels' ``recip32``, checked against
  float64 ``scipy.special.ndtri``; writes ``src/arrayinit/_kernels/_ndtri_central.py``.
- ``--float64``: ``P(y) / Q(y)`` by a correctly rounded division, the kernel
  expression evaluated with exactly rounded operations (``fractions``) and
  checked against mpmath; writes ``src/arrayinit/_kernels/_ndtri_central64.py``.

Run: ``python tools/fit_ndtri_central.py [M N] [--float64] [--write]`` (the
kernels use 5 4 for float32 and 10 10 for float64; the float64 fit takes a few
minutes); it prints the error in ulps of the target type and, with ``--write``,
writes the coefficients.
"""

from __future__ import annotations

import sys
from fractions import Fraction

import mpmath
import numpy as np

mpmath.mp.dps = 40
Q_MAX = 0.4775  # ndtri(0.5 + 0.4775) = 2.0047: Keras' and torch's +-2 standard deviations, with a margin


S_MAX = np.float32(Q_MAX**2)  # y = q*q - S_MAX spans [-S_MAX, 0]: the basis is centred on the tail end
S_MAX64 = np.float64(Q_MAX**2)  # the same for the float64 kernel


def target(y, s_max=S_MAX):
    s = y + mpmath.mpf(float(s_max))
    q = mpmath.sqrt(s)
    if q == 0:
        return mpmath.sqrt(2 * mpmath.pi)
    return mpmath.sqrt(2) * mpmath.erfinv(2 * q) / q


def fit(m: int, n: int, nodes: int = 400, iters: int = 30, s_max=S_MAX):
    half = mpmath.mpf(float(s_max)) / 2
    xs = [-half - half * mpmath.cos(mpmath.pi * (k + 0.5) / nodes) for k in range(nodes)]
    fs = [target(x, s_max) for x in xs]
    q_prev = [mpmath.mpf(1)] * nodes
    lawson = [mpmath.mpf(1)] * nodes
    best = None
    for it in range(iters):
        rows, rhs = [], []
        for x, f, qp, lw in zip(xs, fs, q_prev, lawson):
            w = mpmath.sqrt(lw) / (f * qp)  # relative error, linearised (SK), Lawson weights
            rows.append([w * x**i for i in range(m + 1)] + [-w * f * x**j for j in range(1, n + 1)])
            rhs.append(w * f)
        sol, _ = mpmath.qr_solve(mpmath.matrix(rows), mpmath.matrix(rhs))
        p = [sol[i] for i in range(m + 1)]
        q = [mpmath.mpf(1)] + [sol[m + j] for j in range(1, n + 1)]
        vals = [mpmath.polyval(p[::-1], x) / mpmath.polyval(q[::-1], x) for x in xs]
        errs = [abs(v / f - 1) for v, f in zip(vals, fs)]
        emax = max(errs)
        if best is None or emax < best[0]:
            best = (emax, p, q)
        q_prev = [mpmath.polyval(q[::-1], x) for x in xs]
        if it >= 5:  # Lawson: weight up where the error is large
            tot = sum(lw * e for lw, e in zip(lawson, errs))
            lawson = [lw * e / tot * nodes for lw, e in zip(lawson, errs)]
    return best


def fma32(a, b, c):
    return (a.astype(np.float64) * b.astype(np.float64) + c.astype(np.float64)).astype(np.float32)


def recip32(d: np.ndarray) -> np.ndarray:
    """The kernels' reciprocal: a bit-pattern estimate and three Newton steps, fused multiply-adds."""
    x = (np.uint32(0x7EF311C3) - d.view(np.uint32)).view(np.float32)
    for _ in range(3):
        e = fma32(-d, x, np.ones_like(d))
        x = fma32(x, e, x)
    return x


def kernel_eval(q: np.ndarray, p32, q32) -> np.ndarray:
    """The kernels' float32 expression: q (P(y) (1 / Q(y))), y = fma(q, q, -S_MAX), Horner with fused multiply-adds."""
    s = fma32(q, q, np.full_like(q, -S_MAX))
    pp = np.full_like(q, p32[-1])
    for c in p32[-2::-1]:
        pp = fma32(pp, s, np.float32(c))
    qq = np.full_like(q, q32[-1])
    for c in q32[-2::-1]:
        qq = fma32(qq, s, np.float32(c))
    return (q * (pp * recip32(qq)).astype(np.float32)).astype(np.float32)


def check(p32, q32) -> tuple[float, float]:
    import scipy.special as sc

    rng = np.random.default_rng(0)
    q = np.concatenate([rng.uniform(-Q_MAX, Q_MAX, 4_000_000), np.linspace(-Q_MAX, Q_MAX, 1_000_001)])
    q = q.astype(np.float32)
    z = kernel_eval(q, p32, q32).astype(np.float64)
    ref = sc.ndtri(0.5 + q.astype(np.float64))
    ulps = np.abs(z - ref) / np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
    ulps[ref == 0] = 0
    rel = np.abs(z - ref) / np.maximum(np.abs(ref), 1e-30)
    return float(ulps.max()), float(rel.max())


def _fma64(a: Fraction, b: Fraction, c: Fraction) -> Fraction:
    """``a * b + c`` rounded once to float64 (``float(Fraction)`` rounds correctly)."""
    return Fraction(float(a * b + c))


def kernel_eval64(q: float, p64, q64) -> float:
    """The float64 kernel expression ``q (P(y) / Q(y))``, ``y = fma(q, q, -S_MAX)``, each operation rounded once."""
    fq = Fraction(q)
    y = _fma64(fq, fq, -Fraction(float(S_MAX64)))
    pp = Fraction(p64[-1])
    for c in p64[-2::-1]:
        pp = _fma64(pp, y, Fraction(c))
    qq = Fraction(q64[-1])
    for c in q64[-2::-1]:
        qq = _fma64(qq, y, Fraction(c))
    return float(fq * Fraction(float(pp / qq)))


def check64(p64, q64, points: int = 20000) -> tuple[float, float]:
    """Largest error of the float64 kernel expression, in float64 ulps and relative, against mpmath.

    Points: uniform in the window, clustered at its ends and near zero, and the ends themselves.
    """
    rng = np.random.default_rng(0)
    u = rng.uniform(-Q_MAX, Q_MAX, points)
    ends = Q_MAX - np.geomspace(1e-12, 0.05, points // 4)
    small = np.geomspace(1e-300, 1e-2, points // 4)
    qs = np.concatenate([u, ends, -ends, small, -small, [Q_MAX, -Q_MAX, 0.0]])
    worst_ulp = worst_rel = 0.0
    with mpmath.workdps(40):
        for q in qs.tolist():
            z = kernel_eval64(q, p64, q64)
            ref = mpmath.sqrt(2) * mpmath.erfinv(2 * mpmath.mpf(q))
            if ref == 0:
                assert z == 0.0
                continue
            err = abs(mpmath.mpf(z) - ref)
            worst_ulp = max(worst_ulp, float(err / mpmath.mpf(float(np.spacing(abs(float(ref)))))))
            worst_rel = max(worst_rel, float(err / abs(ref)))
    return worst_ulp, worst_rel


def main64(m: int, n: int) -> int:
    mpmath.mp.dps = 50
    emax, p, q = fit(m, n, nodes=300, iters=25, s_max=S_MAX64)
    p64 = [float(c) for c in p]
    q64 = [float(c) for c in q]
    ulps, rel = check64(p64, q64)
    print(f"# degrees {m}/{n} on |q| <= {Q_MAX}: fit max relative error {float(emax):.2e}")
    print(f"# float64 kernel expression: max error {ulps:.2f} float64 ulps, {rel:.2e} relative")
    print("P (y**0 first):", ", ".join(repr(c) for c in p64))
    print("Q (y**0 first):", ", ".join(repr(c) for c in q64))
    if "--write" in sys.argv:
        import pathlib

        out = pathlib.Path(__file__).parent.parent / "src" / "arrayinit" / "_kernels" / "_ndtri_central64.py"
        out.write_text(
            '"""Log-free inverse normal CDF of the central window, float64 (generated: do not edit).\n\n'
            "Written by ``tools/fit_ndtri_central.py --float64``: ``ndtri(1/2 + q) = q P(y) / Q(y)``,\n"
            f"``y = q**2 - S_MAX``, for ``|q| <= {Q_MAX}`` (``|z| <= 2.0047``); degrees {m}/{n};\n"
            f"max relative fit error {float(emax):.1e}; the float64 kernel expression (correctly rounded\n"
            f"division) within {ulps:.1f} float64 ulps ({rel:.1e} relative) of mpmath.\n"
            "Coefficients highest order first, float64 values.\n"
            '"""\n\n'
            f"Q_MAX = {Q_MAX!r}\n"
            f"S_MAX = {float(S_MAX64)!r}\n"
            "P = (\n" + "".join(f"    {c!r},\n" for c in p64[::-1]) + ")\n"
            "Q = (\n" + "".join(f"    {c!r},\n" for c in q64[::-1]) + ")\n"
        )
        print(f"wrote {out}")
    return 0


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if "--float64" in sys.argv:
        return main64(*((int(args[0]), int(args[1])) if len(args) > 1 else (10, 10)))
    m, n = (int(sys.argv[1]), int(sys.argv[2])) if len(sys.argv) > 2 else (4, 4)
    emax, p, q = fit(m, n)
    p32 = [np.float32(float(c)) for c in p]
    q32 = [np.float32(float(c)) for c in q]
    ulps, rel = check(p32, q32)
    print(f"# degrees {m}/{n} on |q| <= {Q_MAX}: fit max relative error {float(emax):.2e}")
    print(f"# float32 kernel expression: max error {ulps:.2f} float32 ulps, {rel:.2e} relative")
    print("P (y**0 first):", ", ".join(repr(float(c)) for c in p32))
    print("Q (y**0 first):", ", ".join(repr(float(c)) for c in q32))
    if "--write" in sys.argv:
        import pathlib

        out = pathlib.Path(__file__).parent.parent / "src" / "arrayinit" / "_kernels" / "_ndtri_central.py"
        out.write_text(
            '"""Log-free inverse normal CDF of the central window (generated: do not edit).\n\n'
            "Written by ``tools/fit_ndtri_central.py``: ``ndtri(1/2 + q) = q P(y) / Q(y)``,\n"
            "``y = q**2 - S_MAX``, 1 / Q by the kernels' reciprocal (``recip32``),\n"
            f"for ``|q| <= {Q_MAX}`` (``|z| <= 2.0047``); degrees {m}/{n}; max relative fit error {float(emax):.1e};\n"
            f"the float32 kernel expression within {ulps:.1f} float32 ulps ({rel:.1e} relative).\n"
            "Coefficients highest order first, float32 values.\n"
            '"""\n\n'
            f"Q_MAX = {Q_MAX!r}\n"
            f"S_MAX = {float(S_MAX)!r}\n"
            "P = (\n" + "".join(f"    {float(c)!r},\n" for c in p32[::-1]) + ")\n"
            "Q = (\n" + "".join(f"    {float(c)!r},\n" for c in q32[::-1]) + ")\n"
        )
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
