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

It replaces a polynomial of degree 20 for ``log1p(e) / e``: 11 multiply-adds
and a division where that took 21 (and the exact ``e - e**2 / 2`` lets the
sum in ``fastmath._softplus_logistic64`` keep more of exp's bits).
"""

import mpmath
from phi_coefficients import chebyshev_points, print_table, rational_least_squares

#: coefficients of P and of Q (with Q's leading 1)
P_TERMS, Q_TERMS = 6, 7
N_POINTS = 300


def tail(e):
    """(log1p(e) - e + e**2 / 2) / e**3, 1/3 at 0."""
    if e == 0:
        return mpmath.mpf(1) / 3
    return (mpmath.log1p(e) - e + e**2 / 2) / e**3


def main():
    mpmath.mp.dps = 50
    points = chebyshev_points(1, N_POINTS)
    tables = rational_least_squares(
        points, tail, lambda e: e**3 / mpmath.log1p(e), P_TERMS, Q_TERMS
    )
    for name, coefficients in zip(("_LOG1P_TAIL_P", "_LOG1P_TAIL_Q"), tables):
        print_table(name, coefficients, f"{name[-1]}, in e on [0, 1]")


if __name__ == "__main__":
    main()
