"""The coefficients of gelu's normal CDF in ``fastmlp/kernels/fastmath.py``.

Run as ``python benchmarks/phi_coefficients.py`` (needs ``mpmath``, which
fastmlp does not depend on: ``pip install mpmath``); prints the four tables
that ``fastmath.py`` holds.

On each interval ``[a, b)`` of ``u = |x|``, a function is interpolated at the
``degree + 1`` Chebyshev nodes in 50-digit arithmetic and written as a
polynomial in ``s = (u - center) / half_width``, ``s`` in [-1, 1]; the
coefficients, exact to 50 digits, are then rounded to the table's dtype.

- float64 (``_phi64``): Phi(u) itself, degree 26 on [0, 3.6) and [3.6, 8.3),
  which keeps the float64 evaluation (Estrin's scheme, fused multiply-adds) within
  2.3e-16 of Phi over the whole line; from 8.3 on, Phi rounds to 1.
- float32 (``_normal_cdf_pdf32``): Mills' ratio M(u) = (1 - Phi(u)) / phi(u),
  degree 14 on [0, 3.6) and [3.6, 13], within 1.6e-9 and 6.2e-9 of M
  (relative): 1 - Phi(u) = phi(u) M(u) then keeps a relative error deep into
  the tail from the density's exp, which gelu's derivative needs anyway.
"""

import mpmath

#: (table name, function, intervals, degree, dtype name)
TABLES = (
    ("_PHI", "ncdf", ((0.0, 3.6), (3.6, 8.3)), 26, "float64"),
    ("_F_MILLS", "mills", ((0.0, 3.6), (3.6, 13.0)), 14, "float32"),
)


def mills(u):
    """Mills' ratio (1 - Phi(u)) / phi(u) of the standard normal."""
    scaled_erfc = mpmath.exp(u * u / 2) * mpmath.erfc(u / mpmath.sqrt(2))
    return mpmath.sqrt(mpmath.pi / 2) * scaled_erfc


def chebyshev_monomials(function, a, b, degree):
    """``function`` on ``[a, b]`` as monomial coefficients in ``s`` (degree 0
    first), with the interval's center and ``1 / half_width``."""
    a, b = mpmath.mpf(a), mpmath.mpf(b)
    center, half_width = (a + b) / 2, (b - a) / 2
    n = degree + 1
    angles = [mpmath.pi * (k + mpmath.mpf(0.5)) / n for k in range(n)]
    values = [function(center + half_width * mpmath.cos(t)) for t in angles]
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
    import numpy as np

    mpmath.mp.dps = 50
    functions = {"ncdf": mpmath.ncdf, "mills": mills}
    for prefix, name, intervals, degree, dtype in TABLES:
        for suffix, (a, b) in zip(("_LOW", "_HIGH"), intervals):
            center, inverse, coefficients = chebyshev_monomials(
                functions[name], a, b, degree
            )
            print(f"# [{a}, {b}): center {center!r}, 1 / half-width {inverse!r}")
            print(f"{prefix}{suffix} = (")
            for c in coefficients:
                print(f"    {float(getattr(np, dtype)(c))!r},")
            print(")")


if __name__ == "__main__":
    main()
