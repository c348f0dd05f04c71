"""The vectorizable math functions against long-double references, in ulp.

``benchmarks/fastmath_ulp.py`` draws the points (random bit patterns over the
whole float range, uniform over the range where the function varies, log-
uniform magnitudes down to the subnormals, and 4,001 consecutive floats around
each edge: 0, the smallest normal and subnormal, the largest float, the
overflow and underflow thresholds, the ends of the approximations' intervals)
and computes the errors; it prints the full table with more points.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
import fastmath_ulp  # noqa: E402

from fastmlp.kernels import fastmath  # noqa: E402

POINTS = 400_000  # per function and dtype, besides the edges
MAX_ULP = 2.0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(fastmath_ulp.FUNCTIONS))
def test_within_two_ulp_everywhere(name, dtype):
    x = fastmath_ulp.points(name, dtype, POINTS, seed=1)
    errors, mismatched = fastmath_ulp.ulp_errors(name, x)
    assert mismatched.size == 0, f"{name} wrong at {mismatched[:5]}"
    assert errors.max() <= MAX_ULP, f"{name} {errors.max():.3f} ulp"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softplus_just_below_powers_of_two(dtype):
    """softplus(x) = log1p(e), e = exp(x), for x < 0 where log1p(e) < 2**-k <= e:
    e's ulp is twice the result's there, so each rounding of e counts double
    (softplus was at 2.2 ulp in float64 and 2.05 in float32 in these bands
    before it kept the bits that e's rounding drops). 20,000 points in the
    band of each k from 1 (x in [-0.69, -0.43]) to where e's ulp ends."""
    k = np.arange(1, 53 if dtype == np.float64 else 24)
    lower = -k * np.log(2.0)
    upper = np.log(np.expm1(2.0**-k))
    fraction = np.linspace(0.0, 1.0, 20_000)[:, None]
    x = (lower + (upper - lower) * fraction).ravel().astype(dtype)
    errors, mismatched = fastmath_ulp.ulp_errors("softplus", x)
    assert mismatched.size == 0
    assert errors.max() <= MAX_ULP, f"{errors.max():.3f} ulp at {x[errors.argmax()]}"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_special_values(dtype):
    inf, nan = np.inf, np.nan
    cases = {
        "exp": [(-inf, 0.0), (inf, inf), (0.0, 1.0), (-0.0, 1.0), (1000.0, inf),
                (-1000.0, 0.0)],
        "expm1": [(-inf, -1.0), (inf, inf), (-0.0, -0.0), (0.0, 0.0)],
        "log": [(0.0, -inf), (-0.0, -inf), (-1.0, nan), (inf, inf), (1.0, 0.0),
                (-inf, nan)],
        "log1p": [(-1.0, -inf), (-2.0, nan), (inf, inf), (-0.0, -0.0)],
        "tanh": [(inf, 1.0), (-inf, -1.0), (-0.0, -0.0), (30.0, 1.0)],
        "erf": [(inf, 1.0), (-inf, -1.0), (-0.0, -0.0), (10.0, 1.0)],
        "logistic": [(inf, 1.0), (-inf, 0.0), (0.0, 0.5), (-0.0, 0.5),
                     (-800.0, 0.0), (800.0, 1.0)],
        "softplus": [(inf, inf), (-inf, 0.0), (0.0, np.log(2.0)),
                     (-0.0, np.log(2.0)), (800.0, 800.0), (-800.0, 0.0)],
    }
    for name, pairs in cases.items():
        x = np.array([p[0] for p in pairs] + [nan], dtype=dtype)
        expected = np.array([p[1] for p in pairs] + [nan], dtype=dtype)
        got = fastmath_ulp.evaluate(name, x)
        np.testing.assert_array_equal(got, expected, err_msg=name)
        signed = ~np.isnan(expected)
        assert np.array_equal(np.signbit(got[signed]), np.signbit(expected[signed]))


def test_subnormal_results_are_gradual():
    x = np.array([-708.5, -720.0, -740.0, -745.0, -745.2])
    np.testing.assert_array_equal(fastmath_ulp.evaluate("exp", x), np.exp(x))
    tiny = np.array([5e-324, -5e-324, 1e-310, 2.2e-308])
    for name in ("expm1", "log1p", "tanh"):
        np.testing.assert_array_equal(fastmath_ulp.evaluate(name, tiny), tiny)
    np.testing.assert_array_equal(
        fastmath_ulp.evaluate("log", tiny[[0, 2, 3]]), np.log(tiny[[0, 2, 3]])
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_normal_cdf(dtype):
    """``phi``, gelu's Phi(x) = (1 + erf(x / sqrt 2)) / 2, from Mills' ratio:
    in float64 one rational function on |x| < 8.3 fitted for an absolute
    error within an ulp of 1 (as that formula on ``erf`` has), checked densely
    near 0 and its end at 8.3; in float32 another, with a relative error
    (Phi(-12) is 2e-33), checked densely around 3.6 too (where a pair of
    polynomials met before)."""
    special = pytest.importorskip("scipy.special")
    rng = np.random.default_rng(0)
    spread = rng.normal(0, 3, 100_000).clip(-12.7, 8.0)
    seams = np.concatenate(
        [
            np.linspace(-0.01, 0.01, 20_001),
            np.linspace(3.55, 3.65, 20_001),
            np.linspace(8.2, 8.4, 20_001),
        ]
    )
    x = np.concatenate([np.linspace(-12.7, 8.0, 200_001), spread, seams, -seams])
    x = x.astype(dtype)
    got = fastmath_ulp._loop(fastmath.phi)
    out = np.empty_like(x)
    got(x, out)
    expected = special.ndtr(x.astype(np.float64))
    if dtype == np.float64:
        np.testing.assert_allclose(out, expected, rtol=0, atol=2.5e-16)
    else:
        np.testing.assert_allclose(out, expected, rtol=5e-7, atol=0)
    edges = np.array([-np.inf, np.inf, np.nan, -0.0, 0.0], dtype=dtype)
    out = np.empty_like(edges)
    got(edges, out)
    np.testing.assert_array_equal(out, [0.0, 1.0, np.nan, 0.5, 0.5])


@pytest.mark.parametrize("n_terms", [1, 2, 3, 5, 8, 13, 27])
@pytest.mark.parametrize("horner_terms", [0, 1, 4, 10, 27])
def test_polynomial(n_terms, horner_terms):
    """The generated evaluation (Horner's rule below degree ``horner_terms``,
    Estrin's scheme above) is the polynomial, for any number of terms (odd
    counts leave a term unpaired)."""
    from numba import njit

    rng = np.random.default_rng(n_terms)
    table = tuple(rng.normal(size=n_terms))
    polynomial = fastmath._polynomial(table, horner_terms)

    @njit
    def evaluate(s, out):
        for i in range(s.shape[0]):
            out[i] = polynomial(s[i])

    s = np.linspace(-1.0, 1.0, 101)
    out = np.empty_like(s)
    evaluate(s, out)
    expected = np.polynomial.polynomial.polyval(s, table)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-13)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_normal_cdf_and_density(dtype):
    """``normal_cdf_pdf``: Phi(x) with ``phi``'s bits, and the density
    exp(-x**2 / 2) / sqrt(2 pi) within 3 ulp in float32, where exp's argument
    comes from an exact square of x (a rounded x**2 would be 5e-6 off at 13),
    and 0 from |x| = 13 on (phi(13) is 2e-37); float64 takes the rounded x**2,
    which adds up to x**2 / 2 ulp (tested up to |x| = 37, where phi is
    1e-298)."""
    from numba import njit

    @njit
    def both(x, cdf, pdf):
        for i in range(x.shape[0]):
            cdf[i], pdf[i] = fastmath.normal_cdf_pdf(x[i])

    rng = np.random.default_rng(2)
    top = 13.0 if dtype == np.float32 else 37.0
    x = np.concatenate([np.linspace(-top, top, 400_001), rng.normal(0, 3, 100_000)])
    x = x.astype(dtype)[np.abs(x.astype(dtype)) < top]
    cdf, pdf = np.empty_like(x), np.empty_like(x)
    both(x, cdf, pdf)
    phi = np.empty_like(x)
    fastmath_ulp._loop(fastmath.phi)(x, phi)
    np.testing.assert_array_equal(cdf, phi)
    wide = x.astype(np.longdouble)
    expected = np.exp(-wide * wide / 2) / np.sqrt(2 * np.pi, dtype=np.longdouble)
    ulp = np.spacing(expected.astype(dtype)).astype(np.longdouble)
    rounded_square = 0.0 if dtype == np.float32 else wide * wide / 2
    assert np.all(np.abs(pdf - expected) / ulp <= 3.0 + rounded_square)
    edges = np.array([-np.inf, np.inf, np.nan, -0.0, 0.0, -13.0, 13.0], dtype=dtype)
    cdf, pdf = np.empty_like(edges), np.empty_like(edges)
    both(edges, cdf, pdf)
    density = np.sqrt(0.5 / np.pi).astype(dtype)
    assert_pdf = [0.0, 0.0, np.nan, density, density]
    np.testing.assert_allclose(pdf[:5], assert_pdf, rtol=np.finfo(dtype).eps, atol=0)
    np.testing.assert_array_equal(cdf[:5], [0.0, 1.0, np.nan, 0.5, 0.5])
    if dtype == np.float32:
        np.testing.assert_array_equal(pdf[5:], [0.0, 0.0])
        np.testing.assert_array_equal(cdf[5:], [0.0, 1.0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_exp_nonpositive_is_exp_below_zero(dtype):
    """``exp_nonpositive`` (one scaling step) gives ``exp``'s bits for every
    x <= 0: across the range, around the underflow threshold and through the
    subnormal results, at -0.0, -inf and NaN."""
    x = -np.abs(fastmath_ulp.points("exp", dtype, POINTS, seed=3))
    edges = [0.0, -0.0, -np.inf, np.nan, -745.1332191019411, -708.3964185322641]
    x = np.concatenate([x, np.linspace(-760.0, 0.0, 200_001), edges]).astype(dtype)
    expected, got = np.empty_like(x), np.empty_like(x)
    fastmath_ulp._loop(fastmath.exp)(x, expected)
    fastmath_ulp._loop(fastmath.exp_nonpositive)(x, got)
    bits = f"i{x.itemsize}"
    np.testing.assert_array_equal(got.view(bits), expected.view(bits))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softplus_logistic(dtype):
    """``softplus_logistic``: softplus's bits, and the logistic function from
    the same exp within 2.5 ulp of a long-double reference (exactly 1/2 at 0,
    0 and 1 at the ends, NaN for NaN). It is the derivative that backprop
    reads, one uncorrected division: 2.38 ulp at worst in 33 million points
    (float64; 2.33 float32), where the correction ``fastmath.logistic`` makes
    (1.37 ulp) would cost softplus's forward kernel 0.2 ns per element."""
    from numba import njit

    @njit
    def both(x, softplus, logistic):
        for i in range(x.shape[0]):
            softplus[i], logistic[i] = fastmath.softplus_logistic(x[i])

    x = fastmath_ulp.points("logistic", dtype, POINTS, seed=4)
    softplus, logistic = np.empty_like(x), np.empty_like(x)
    both(x, softplus, logistic)
    expected = np.empty_like(x)
    fastmath_ulp._loop(fastmath.softplus)(x, expected)
    np.testing.assert_array_equal(softplus, expected)
    finite = np.isfinite(x)
    wide = x[finite].astype(np.longdouble)
    with np.errstate(over="ignore"):
        reference = 1 / (1 + np.exp(-wide))
    ulp = np.spacing(reference.astype(dtype)).astype(np.longdouble)
    tiny = np.finfo(dtype).smallest_subnormal
    ulp = np.maximum(ulp, tiny)
    assert np.max(np.abs(logistic[finite] - reference) / ulp) <= 2.5
    edges = np.array([0.0, -0.0, np.inf, -np.inf, np.nan], dtype=dtype)
    out_softplus, out_logistic = np.empty_like(edges), np.empty_like(edges)
    both(edges, out_softplus, out_logistic)
    np.testing.assert_array_equal(out_logistic, [0.5, 0.5, 1.0, 0.0, np.nan])
