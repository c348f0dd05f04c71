"""The approximations of tanh near 0 in ``fastmlp/kernels/fastmath.py``.

Run as ``python benchmarks/tanh_coefficients.py`` (needs ``mpmath``, which
fastmlp does not depend on: ``pip install mpmath``); prints ``_F_TANH``, whose
float32 values ``fastmath.py`` then makes float32 scalars, and float64's
``_TANH_P`` and ``_TANH_Q``.

Below ``a = atanh(1/2) = 0.5493`` float32 tanh is ``a + a z P(z)``, ``z =
a**2``, with ``P`` of degree 4 fitted by least squares to ``(tanh(a) / a -
1) / z`` at 200 Chebyshev points of ``z`` in ``[0, 0.5493**2]``, in 40-digit
arithmetic, then rounded to float32. The relative error of ``a z P(z)``
against tanh is then 5.6e-9 (0.09 ulp of float32) before rounding.

Below ``a = 0.7`` float64 tanh is ``a + a z P(z) / Q(z)`` with ``P`` of
degree 2 and ``Q`` of degree 3, ``Q(0) = 1``, fitted to the same function for
its relative error by Sanathanan and Koerner's iteration (linear least
squares of ``P - f Q`` weighted by ``1 / (f Q)`` of the previous step) at
300 Chebyshev points; the relative error of ``P / Q`` is then 6.5e-17, and
the term ``a z P / Q`` is at most 0.15 of the result.
"""

import mpmath
from phi_coefficients import (
    chebyshev_points,
    least_squares,
    print_table,
    rational_least_squares,
)

#: atanh(1/2): the polynomial's end (fastmath._ATANH_HALF)
END = 0.5493061443340549
DEGREE = 4
N_POINTS = 200
#: float64's switch to 1 - 2 / (e**(2a) + 1) (fastmath._TANH_SWITCH)
END_64 = 0.7
#: coefficients of P and of Q (with Q's leading 1)
P_TERMS, Q_TERMS = 3, 4


def scaled_rest(z):
    """(tanh(a) / a - 1) / z, a = sqrt(z): the function P approximates."""
    if z == 0:
        return mpmath.mpf(-1) / 3
    a = mpmath.sqrt(z)
    return (mpmath.tanh(a) / a - 1) / z


def coefficients():
    """P's coefficients, degree 0 first."""
    mpmath.mp.dps = 40
    points = chebyshev_points(mpmath.mpf(END) ** 2, N_POINTS)
    basis = [(lambda z, j=j: z**j) for j in range(DEGREE + 1)]
    return least_squares(points, basis, scaled_rest, lambda z: 1)


def rational_coefficients():
    """float64's P and Q (degree 0 first, Q[0] = 1)."""
    mpmath.mp.dps = 40
    points = chebyshev_points(mpmath.mpf(END_64) ** 2, 300)
    return rational_least_squares(
        points, scaled_rest, lambda z: 1 / scaled_rest(z), P_TERMS, Q_TERMS
    )


def main():
    comment = "a + a z P(z), z = a**2, below atanh(1/2)"
    print_table("_F_TANH", [float(c) for c in coefficients()], comment, "float32")
    p, q = rational_coefficients()
    print(f"_TANH_P = {tuple(float(c) for c in p)}")
    print(f"_TANH_Q = {tuple(float(c) for c in q)}")


if __name__ == "__main__":
    main()
