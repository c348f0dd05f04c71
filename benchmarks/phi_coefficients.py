"""The coefficients of gelu's normal CDF in ``fastmlp/kernels/fastmath.py``.

Run as ``python benchmarks/phi_coefficients.py`` (needs ``mpmath``, which
fastmlp does not depend on: ``pip install mpmath``); prints the three tables
that ``fastmath.py`` holds. Both dtypes approximate Mills' ratio
M(u) = (1 - Phi(u)) / phi(u) of ``u = |x|``, so that 1 - Phi(u) = phi(u) M(u)
takes its exp from the density, which gelu's derivative needs anyway.

- float64 (``_normal_cdf_pdf64``): one polynomial of degree 26 in
  ``t = u / 8.3`` on [0, 8.3], fitted by least squares weighted by phi(u)
  (at ``3 * degree + 60`` Chebyshev points, in 50-digit arithmetic): the
  error of 1 - Phi = phi M is what must stay small, and phi falls from 0.4
  at 0 to 1e-15 at 8.3, where Phi rounds to 1. Evaluated by Horner's rule in
  ``t`` (the coefficients grow to 1e8, but their rounding is weighted by
  phi too), it stays within 2.3e-16 of Phi over the whole line; one
  polynomial and no per-element choice of coefficients.
- float32 (``_normal_cdf_pdf32``): M interpolated at the ``degree + 1``
  Chebyshev nodes of [0, 3.6) and [3.6, 13], degree 14, written as
  polynomials in ``s = (u - center) / half_width``, ``s`` in [-1, 1]: within
  1.6e-9 and 6.2e-9 of M (relative), so Phi keeps a relative error deep into
  the tail.

The coefficients, exact to 50 digits, are rounded to the table's dtype.
"""

import mpmath

#: float64: (table name, end of [0, end], degree)
FLOAT64_TABLE = ("_MILLS", 8.3, 26)
#: float32: (table name, intervals, degree)
FLOAT32_TABLES = ("_F_MILLS", ((0.0, 3.6), (3.6, 13.0)), 14)


def mills(u):
    """Mills' ratio (1 - Phi(u)) / phi(u) of the standard normal."""
    scaled_erfc = mpmath.exp(u * u / 2) * mpmath.erfc(u / mpmath.sqrt(2))
    return mpmath.sqrt(mpmath.pi / 2) * scaled_erfc


def _chebyshev_to_monomials(chebyshev):
    """Chebyshev coefficients (degree 0 first) as monomial coefficients."""
    # T_0 = 1, T_1 = s, T_j = 2 s T_(j-1) - T_(j-2), as monomial coefficients
    n = len(chebyshev)
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
    return monomials


def chebyshev_points(end, n_points):
    """``n_points`` Chebyshev points of ``[0, end]``, dense at both ends."""
    end = mpmath.mpf(end)
    return [
        end / 2 * (1 - mpmath.cos(mpmath.pi * (k + mpmath.mpf(0.5)) / n_points))
        for k in range(n_points)
    ]


def least_squares(points, basis, function, weight):
    """Coefficients ``c`` minimising ``sum (weight(u) (sum_j c_j basis[j](u)
    - function(u)))**2`` over ``points``."""
    design = mpmath.matrix(len(points), len(basis))
    target = mpmath.matrix(len(points), 1)
    for i, u in enumerate(points):
        w = weight(u)
        for j, b in enumerate(basis):
            design[i, j] = w * b(u)
        target[i] = w * function(u)
    solution, _ = mpmath.qr_solve(design, target)
    return [solution[j] for j in range(len(basis))]


def weighted_mills_monomials(end, degree):
    """Mills' ratio on ``[0, end]`` as monomial coefficients in ``t = u /
    end`` (degree 0 first): the least-squares fit weighted by phi(u), so
    that phi(u) M(u) = 1 - Phi(u) has a small absolute error."""
    end = mpmath.mpf(end)
    points = chebyshev_points(end, 3 * degree + 60)
    # fitted in the Chebyshev basis of s = 2t - 1, then written in t
    basis = [
        (lambda u, j=j: mpmath.chebyt(j, 2 * u / end - 1)) for j in range(degree + 1)
    ]
    chebyshev = least_squares(points, basis, mills, mpmath.npdf)
    in_s = _chebyshev_to_monomials(chebyshev)
    # s = 2t - 1: s**k = sum_j C(k, j) (2t)**j (-1)**(k - j)
    in_t = [mpmath.mpf(0)] * len(in_s)
    for k, coefficient in enumerate(in_s):
        for j in range(k + 1):
            in_t[j] += coefficient * mpmath.binomial(k, j) * 2**j * (-1) ** (k - j)
    return [float(c) for c in in_t]


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
    monomials = _chebyshev_to_monomials(chebyshev)
    return float(center), float(1 / half_width), [float(m) for m in monomials]


def print_table(name, coefficients, comment, dtype="float64"):
    """Print ``coefficients`` as the tuple ``name`` of ``fastmath.py``,
    rounded to ``dtype``, under the comment line ``comment``."""
    import numpy as np

    print(f"# {comment}")
    print(f"{name} = (")
    for c in coefficients:
        print(f"    {float(np.dtype(dtype).type(c))!r},")
    print(")")


def main():
    mpmath.mp.dps = 50
    name, end, degree = FLOAT64_TABLE
    coefficients = weighted_mills_monomials(end, degree)
    print_table(name, coefficients, f"[0, {end}], in t = u / {end}")
    prefix, intervals, degree = FLOAT32_TABLES
    for suffix, (a, b) in zip(("_LOW", "_HIGH"), intervals):
        center, inverse, coefficients = chebyshev_monomials(mills, a, b, degree)
        comment = f"[{a}, {b}): center {center!r}, 1 / half-width {inverse!r}"
        print_table(prefix + suffix, coefficients, comment, "float32")


if __name__ == "__main__":
    main()
