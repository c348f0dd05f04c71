"""The coefficients of gelu's normal CDF in ``fastmlp/kernels/fastmath.py``.

Run as ``python benchmarks/phi_coefficients.py`` (needs ``mpmath``, which
fastmlp does not depend on: ``pip install mpmath``); prints the three tables
that ``fastmath.py`` holds. Both dtypes approximate Mills' ratio
M(u) = (1 - Phi(u)) / phi(u) of ``u = |x|``, so that 1 - Phi(u) = phi(u) M(u)
takes its exp from the density, which gelu's derivative needs anyway.

- float64 (``_normal_cdf_pdf64``): 1 - Phi(u) = e (1/2 + t A(t) / B(t)),
  e = exp(-u**2 / 2), ``t = u / 8.3`` on [0, 8.3] (phi(u) M(0) = e / 2
  exactly, so near 0, where 1 - Phi is about 1/2, only exp's rounding is
  left), A of degree 6 and B of degree 7, B(0) = 1, fitted by Sanathanan and
  Koerner's iteration (``rational_least_squares``) weighted by phi(u) t at
  400 Chebyshev points, in 50-digit arithmetic: the error of 1 - Phi is what
  must stay small, and phi falls from 0.4 at 0 to 1e-15 at 8.3, where Phi
  rounds to 1. The fit is within 4e-18 of 1 - Phi; A's coefficients are all
  negative and B's positive, so nothing cancels in their evaluation. One
  rational function (14 multiply-adds and a division, where the polynomial
  of degree 26 it replaces took 26 multiply-adds), no per-element choice of
  coefficients.
- float32 (``_normal_cdf_pdf32``): M(u) = P(t) / Q(t), ``t = u / 13`` on
  [0, 13], P of degree 4 and Q of degree 5, Q(0) = 1, fitted by the same
  iteration for M's relative error at 300 Chebyshev points: within 5.8e-9 of
  M (1.4e-8 with the coefficients rounded to float32), so Phi keeps a
  relative error deep into the tail; all coefficients positive. (It replaces
  a pair of polynomials of degree 14 picked per element by selects: gelu's
  forward 0.93 -> 0.64 ns per element.)

The coefficients, exact to 50 digits, are rounded to the table's dtype.
"""

import mpmath

#: float64: (table names, end of [0, end], coefficients of A, of B)
FLOAT64_TABLES = (("_MILLS_A", "_MILLS_B"), 8.3, 7, 8)
#: float32: (table names, end of [0, end], coefficients of P, of Q)
FLOAT32_TABLES = (("_F_MILLS_P", "_F_MILLS_Q"), 13.0, 5, 6)


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


def rational_least_squares(points, function, weight, n_numerator, n_denominator):
    """Coefficients of ``P`` and ``Q`` (degree 0 first, ``Q[0] = 1``, with
    ``n_numerator`` and ``n_denominator`` terms) such that ``P(v) / Q(v)``
    fits ``function(v)`` over ``points`` with the weight ``weight(v)``.

    Sanathanan and Koerner's iteration: each step solves the linear least
    squares problem of ``P(v) - function(v) (Q(v) - 1) = function(v)``,
    weighted by ``weight(v) / Q(v)`` of the previous step's ``Q``.
    """
    values = {v: function(v) for v in points}
    basis = [(lambda v, j=j: v**j) for j in range(n_numerator)] + [
        (lambda v, j=j: -values[v] * v**j) for j in range(1, n_denominator)
    ]
    denominator = [mpmath.mpf(1)]
    for _ in range(10):
        def step_weight(v, q=denominator):
            return weight(v) / mpmath.polyval(q[::-1], v)

        solution = least_squares(points, basis, values.__getitem__, step_weight)
        numerator = solution[:n_numerator]
        denominator = [mpmath.mpf(1), *solution[n_numerator:]]
    return numerator, denominator


def tail_rational(end, n_numerator, n_denominator):
    """float64's A and B in ``t = u / end``: 1 - Phi(u) = e (1/2 + t A(t) /
    B(t)), e = exp(-u**2 / 2), i.e. A / B = (M(u) - M(0)) phi(0) / t."""
    end = mpmath.mpf(end)
    at_zero = mills(mpmath.mpf(0)) * mpmath.npdf(0)  # 1/2
    points = [u / end for u in chebyshev_points(end, 400)]

    def scaled(t):
        return (mills(t * end) * mpmath.npdf(0) - at_zero) / t

    def weight(t):
        return mpmath.npdf(t * end) * t

    return rational_least_squares(points, scaled, weight, n_numerator, n_denominator)


def mills_rational(end, n_numerator, n_denominator):
    """float32's P and Q in ``t = u / end``: M(u) = P(t) / Q(t), fitted for
    M's relative error."""
    end = mpmath.mpf(end)
    points = [u / end for u in chebyshev_points(end, 300)]

    def ratio(t):
        return mills(t * end)

    return rational_least_squares(
        points, ratio, lambda t: 1 / ratio(t), n_numerator, n_denominator
    )


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
    names, end, n_numerator, n_denominator = FLOAT64_TABLES
    tables = tail_rational(end, n_numerator, n_denominator)
    for name, coefficients, part in zip(names, tables, ("A", "B")):
        print_table(name, coefficients, f"{part}, in t = u / {end} on [0, {end}]")
    names, end, n_numerator, n_denominator = FLOAT32_TABLES
    tables = mills_rational(end, n_numerator, n_denominator)
    for name, coefficients, part in zip(names, tables, ("P", "Q")):
        comment = f"{part}, in t = u / {end} on [0, {end}]"
        print_table(name, coefficients, comment, "float32")


if __name__ == "__main__":
    main()
