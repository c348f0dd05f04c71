"""The polynomial of float32 tanh near 0 in ``fastmlp/kernels/fastmath.py``.

Run as ``python benchmarks/tanh_coefficients.py`` (needs ``mpmath``, which
fastmlp does not depend on: ``pip install mpmath``); prints ``_F_TANH``, whose
float32 values ``fastmath.py`` then makes float32 scalars.

Below ``a = atanh(1/2) = 0.5493`` float32 tanh is ``a + a z P(z)``, ``z =
a**2``, with ``P`` of degree 4 fitted by least squares to ``(tanh(a) / a -
1) / z`` at 200 Chebyshev points of ``z`` in ``[0, 0.5493**2]``, in 40-digit
arithmetic, then rounded to float32. The relative error of ``a z P(z)``
against tanh is then 5.6e-9 (0.09 ulp of float32) before rounding.
"""

import mpmath
from phi_coefficients import chebyshev_points, least_squares, print_table

#: atanh(1/2): the polynomial's end (fastmath._ATANH_HALF)
END = 0.5493061443340549
DEGREE = 4
N_POINTS = 200


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


def main():
    comment = "a + a z P(z), z = a**2, below atanh(1/2)"
    print_table("_F_TANH", [float(c) for c in coefficients()], comment, "float32")


if __name__ == "__main__":
    main()
