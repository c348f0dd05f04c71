"""The polynomial of float64 softplus in ``fastmlp/kernels/fastmath.py``.

Run as ``python benchmarks/softplus_coefficients.py`` (needs ``mpmath``,
which fastmlp does not depend on: ``pip install mpmath``); prints
``_LOG1P_RATIO``.

float64 softplus is ``max(x, 0) + e h(e)``, ``e = exp(-|x|)`` in (0, 1] and
``h(e) = log1p(e) / e``, which is analytic on [0, 1] (its nearest
singularity is at e = -1): ``h`` is interpolated at the 21 Chebyshev nodes
of [0, 1] in 50-digit arithmetic and written as a polynomial of degree 20
in ``s = 2e - 1`` (``phi_coefficients.chebyshev_monomials``), within 1.1e-16
of ``h`` (relative) when evaluated in float64.
"""

import mpmath
from phi_coefficients import chebyshev_monomials, print_table

DEGREE = 20


def log1p_ratio(e):
    """log1p(e) / e, 1 at 0."""
    return mpmath.log1p(e) / e if e != 0 else mpmath.mpf(1)


def main():
    mpmath.mp.dps = 50
    center, inverse, coefficients = chebyshev_monomials(log1p_ratio, 0.0, 1.0, DEGREE)
    assert (center, inverse) == (0.5, 2.0)
    print_table("_LOG1P_RATIO", coefficients, "[0, 1], in s = 2e - 1")


if __name__ == "__main__":
    main()
