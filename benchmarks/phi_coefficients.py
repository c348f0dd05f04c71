"""The coefficients of ``fastmath._phi64``: gelu's normal CDF in float64.

Run as ``python benchmarks/phi_coefficients.py`` (needs ``mpmath``, which
fastmlp does not depend on: ``pip install mpmath``); prints the two tables
that ``fastmlp/kernels/fastmath.py`` holds.

On each interval ``[a, b)`` of ``u = |x|`` (``INTERVALS``), Phi(u) is
interpolated at the ``DEGREE + 1`` Chebyshev nodes in 50-digit arithmetic and
written as a polynomial in ``s = (u - center) / half_width``, ``s`` in [-1, 1];
the coefficients, exact to 50 digits, are then rounded to float64. Degree 26
on [0, 3.6) and [3.6, 8.3) keeps the float64 evaluation (Horner, fused
multiply-adds) within 2.3e-16 of Phi over the whole line
(``tests/kernels/test_fastmath.py``); from 8.3 on, Phi rounds to 1.
"""

import mpmath

INTERVALS = ((0.0, 3.6), (3.6, 8.3))
DEGREE = 26


def chebyshev_monomials(a, b, degree):
    """Phi on ``[a, b]`` as monomial coefficients in ``s`` (degree 0 first),
    with the interval's center and ``1 / half_width``."""
    a, b = mpmath.mpf(a), mpmath.mpf(b)
    center, half_width = (a + b) / 2, (b - a) / 2
    n = degree + 1
    angles = [mpmath.pi * (k + mpmath.mpf(0.5)) / n for k in range(n)]
    values = [mpmath.ncdf(center + half_width * mpmath.cos(t)) for t in angles]
    chebyshev = [
        2 * sum(v * mpmath.cos(j * t) for v, t in zip(values, angles)) / n
        for j in range(n)
    ]
    chebyshev[0] /= 2
    # T_0 = 1, T_1 = s, T_j = 2 s T_(j-1) - T_(j-2), as monomial coefficients
    basis = [[mpmath.mpf(1)], [mpmath.mpf(0), mpmath.mpf(1)]]
    for _ in range(2, n):
        term = [mpmath.mpf(0)] + [2 * c for c in basis[-1]]
        for i, c in enumerate(basis[-2]):
            term[i] -= c
        basis.append(term)
    monomials = [mpmath.mpf(0)] * n
    for c, polynomial in zip(chebyshev, basis):
        for i, p in enumerate(polynomial):
            monomials[i] += c * p
    return float(center), float(1 / half_width), [float(m) for m in monomials]


def main():
    mpmath.mp.dps = 50
    for name, (a, b) in zip(("_PHI_LOW", "_PHI_HIGH"), INTERVALS):
        center, inverse, coefficients = chebyshev_monomials(a, b, DEGREE)
        print(f"# [{a}, {b}): center {center!r}, 1 / half-width {inverse!r}")
        print(f"{name} = (")
        for c in coefficients:
            print(f"    {c!r},")
        print(")")


if __name__ == "__main__":
    main()
