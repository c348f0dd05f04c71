"""The rational function of float64 softplus in ``fastmlp/kernels/fastmath.py``.

Run as ``python benchmarks/softplus_coefficients.py`` (needs ``mpmath``,
which fastmlp does not depend on: ``pip install mpmath``); prints
``_LOG1P_TAIL_P`` and ``_LOG1P_TAIL_Q``.

float64 softplus is ``max(x, 0) + log1p(e)``, ``e = exp(-|x|)`` in (0, 1],
and ``log1p(e) = e - e**2 / 2 + e**3 R(e)``, ``R = P / Q`` with ``P`` of
degree 5 and ``Q`` of degree 6, ``Q(0) = 1``, fitted by Sanathanan and
Koerner's iteration (``phi_coefficients.rational_least_squares``) at 300
Chebyshev points of [0, 1] in 50-digit arithmetic, weighted by
``e**3 / log1p(e)``: the error of ``e**3 R`` relative to the result, which
is what must stay small (``e**3 R`` is at most 0.28 of ``log1p(e)``). The
fit is within 5e-19 of that; every coefficient is positive, so nothing
cancels in their evaluation.

Rounded to float64, the coefficients put softplus(0) one ulp above ln 2, so
``P``'s coefficient of degree 1 is then moved by the fewest ulps (one) that
make the kernel's float64 evaluation at e = 1 (x = 0), emulated here
operation by operation in exact arithmetic, give ln 2 correctly rounded; that
changes ``P / Q`` by at most 6e-17 of itself (``e**3 P / Q`` is at most 0.28
of the result).

It replaces a polynomial of degree 20 for ``log1p(e) / e``: 11 multiply-adds
and a division where that took 21 (``fastmath._softplus_logistic64`` also
sums exp's parts before they are rounded into e).
"""

import math
from fractions import Fraction

import mpmath
import numpy as np
from phi_coefficients import chebyshev_points, print_table, rational_least_squares

#: coefficients of P and of Q (with Q's leading 1)
P_TERMS, Q_TERMS = 6, 7
N_POINTS = 300


def tail(e):
    """(log1p(e) - e + e**2 / 2) / e**3, 1/3 at 0."""
    if e == 0:
        return mpmath.mpf(1) / 3
    return (mpmath.log1p(e) - e + e**2 / 2) / e**3


def _fma(a, b, c):
    """a * b + c rounded once, as the kernel's fused multiply-adds."""
    return float(Fraction(a) * Fraction(b) + Fraction(c))


def _horner(table, s):
    result = table[-1]
    for c in reversed(table[:-1]):
        result = _fma(result, s, c)
    return result


def softplus_at_zero(p, q):
    """``fastmath._softplus_logistic64(0.0)[0]`` in exact steps: e = t = 1,
    t q = 0, so it is 1 + (e * (P / Q) - 1/2), each step rounded."""
    ratio = float(Fraction(_horner(p, 1.0)) / Fraction(_horner(q, 1.0)))
    return 1.0 + _fma(1.0, ratio, -0.5)


def nudged(p, q):
    """``p`` with its degree-1 coefficient moved by the fewest ulps that make
    ``softplus_at_zero`` ln 2 correctly rounded."""
    for ulps in sorted(range(-8, 9), key=abs):
        candidate = list(p)
        candidate[1] = p[1] + ulps * float(np.spacing(p[1]))
        if softplus_at_zero(candidate, q) == math.log(2):
            return candidate
    raise ValueError("no nudge within 8 ulps gives ln 2 at 0")


def main():
    mpmath.mp.dps = 50
    points = chebyshev_points(1, N_POINTS)
    p, q = rational_least_squares(
        points, tail, lambda e: e**3 / mpmath.log1p(e), P_TERMS, Q_TERMS
    )
    p, q = [float(c) for c in p], [float(c) for c in q]
    tables = nudged(p, q), q
    for name, coefficients in zip(("_LOG1P_TAIL_P", "_LOG1P_TAIL_Q"), tables):
        print_table(name, coefficients, f"{name[-1]}, in e on [0, 1]")


if __name__ == "__main__":
    main()
