"""Branch-free exp, expm1, log, log1p, tanh, erf, logistic, softplus and the
normal CDF and density (``phi``, ``normal_cdf_pdf``) that LLVM vectorizes;
``exp_nonpositive`` (exp's bits for x <= 0, cheaper) and
``softplus_logistic`` (softplus and its derivative from one exp) for the
kernels.

PyPI's llvmlite has no SVML, so numba turns ``np.exp``, ``np.log``,
``np.tanh`` and ``math.erf`` into one scalar libm call per element, which no
loop around them can vectorize. These functions use only arithmetic, integer
bit operations and selects (range reduction, polynomial or rational
approximation, reconstruction of the exponent from bits), so a loop that calls
them compiles to SIMD code once LLVM inlines them.

Each takes a float64 or a float32 and returns the same. exp, expm1, log,
log1p, tanh, erf, softplus and phi have float32 versions computed in
float32 arithmetic (twice the SIMD lanes); logistic computes in float32 and
finishes in float64. Special values follow C99/NumPy: NaN in, NaN
out; exp(-inf) = 0, exp(inf) = inf, overflow to inf and gradual underflow
through the subnormals; log(0) = -inf, log(x < 0) = NaN; odd functions keep
the sign of -0.0. ``benchmarks/fastmath_ulp.py`` measures the errors against
NumPy and long double; ``tests/kernels/test_fastmath.py`` holds them at 2 ulp.

The polynomial and rational coefficients of ``log`` and ``erf`` are those of
fdlibm (Sun Microsystems, freely redistributable), whose error analysis they
carry (float32 ``log``: FreeBSD's logf); exp's polynomial is the Taylor series
to degree 13, which is exact to 2^-57 on the reduced range |r| <= ln(2)/2.

``phi`` (gelu's Phi(x) = (1 + erf(x / sqrt 2)) / 2) is not held to 2 ulp:
both dtypes compute 1 - Phi(|x|) = phi(|x|) M(|x|), M being Mills' ratio; in
float64 M is one rational function fitted for an absolute error of Phi
within an ulp of 1, as that formula on erf has (gelu had it so); in float32
another, within 5e-7 relative down to x = -12.7 and 0 from -13 on
(``tests/kernels/test_fastmath.py``). ``normal_cdf_pdf`` returns Phi(x) and
the density phi(x) together, as gelu needs both: they share one exp.
"""

import math

import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic, overload

from fastmlp.kernels._compile import kernel, linked_jit_options

_OPTIONS = {
    # LLVM's alwaysinline: the loops calling these functions vectorize only
    # when their bodies are inlined, and the larger ones exceed LLVM's threshold
    "forceinline": True,
    "nogil": True,
    "error_model": "numpy",
    # fused multiply-adds: fewer roundings, and the reductions below stay exact
    "fastmath": {"contract"},
}


def _float64(function):
    """Compile ``function``, called with float64 arguments only, for inlining."""
    return kernel(**_OPTIONS)(function)


def _bitcast(source, target):
    """An intrinsic reinterpreting a ``source`` value's IEEE bits as a
    ``target`` (a float and the integer of its width, either way)."""
    llvm_target = {
        types.int64: ir.IntType(64),
        types.int32: ir.IntType(32),
        types.float64: ir.DoubleType(),
        types.float32: ir.FloatType(),
    }[target]

    def typer(typingctx, value):
        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], llvm_target)

        return target(source), codegen

    return intrinsic(typer)


_bits = _bitcast(types.float64, types.int64)  # a float64's bits as an int64
_from_bits = _bitcast(types.int64, types.float64)  # the float64 of int64 bits
_from_bits32 = _bitcast(types.int32, types.float32)  # the float32 of int32 bits
_bits32 = _bitcast(types.float32, types.int32)  # a float32's bits as an int32


@intrinsic
def _fma(typingctx, a, b, c):
    """a * b + c with one rounding (LLVM's fma), in the arguments' common type."""
    common = typingctx.unify_types(a, b, c)

    def codegen(context, builder, signature, args):
        values = [
            context.cast(builder, value, kind, common)
            for value, kind in zip(args, signature.args)
        ]
        return builder.fma(*values)

    return common(a, b, c), codegen


_INF = np.inf
_NAN = np.nan
_INV_LN2 = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # 0x3fe62e42fee00000: n * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_SHIFT = 6755399441055744.0  # 1.5 * 2**52: x + _SHIFT - _SHIFT rounds x to an integer
_TINY = 5.551115123125783e-17  # 2**-54: below it expm1 and log1p are x


@_float64
def _exp_reduction(x):
    """``(r, n)`` with x = n ln(2) + r, |r| <= ln(2)/2, n a whole float."""
    n = x * _INV_LN2 + _SHIFT - _SHIFT
    r = (x - n * _LN2_HI) - n * _LN2_LO
    return r, n


@_float64
def _exp_series(r):
    """(e**r - 1) / r for |r| <= ln(2)/2: the Taylor series to degree 12."""
    return (
        1.0
        + r * (1 / 2
        + r * (1 / 6
        + r * (1 / 24
        + r * (1 / 120
        + r * (1 / 720
        + r * (1 / 5040
        + r * (1 / 40320
        + r * (1 / 362880
        + r * (1 / 3628800
        + r * (1 / 39916800
        + r * (1 / 479001600
        + r * (1 / 6227020800)))))))))))))


@_float64
def _exp_parts(x):
    """exp(x) as a mantissa in [0.7, 1.42] and an integer power of 2.

    Returns ``(p, n)`` with exp(x) = p * 2**n.
    """
    r, n = _exp_reduction(x)
    return 1.0 + r * _exp_series(r), np.int64(n)


@_float64
def _exp_parts_split(hi, lo):
    """``_exp_parts`` of hi + lo, ``lo`` extra bits of the argument (erf's)."""
    n = (hi + lo) * _INV_LN2 + _SHIFT - _SHIFT
    r = (hi - n * _LN2_HI) + (lo - n * _LN2_LO)
    return 1.0 + r * _exp_series(r), np.int64(n)


@_float64
def _scale(p, n):
    """p * 2**n for n in [-1076, 1024], through the subnormals and to inf."""
    half = n >> 1
    first = _from_bits((half + 1023) << 52)
    second = _from_bits((n - half + 1023) << 52)
    return p * first * second


@_float64
def _exp64(x):
    """e**x."""
    clamped = x if x < 710.0 else 710.0
    clamped = clamped if clamped > -746.0 else -746.0
    p, n = _exp_parts(clamped)
    result = _scale(p, n)
    return result if x == x else x


@_float64
def _exp_nonpositive64(x):
    """e**x for x <= 0 (and NaN): ``_exp64``'s bits, with one scaling step
    instead of two: p * 2**(n + 64) is exact for every n >= -1076, and its
    product with 2**-64 rounds once, into the subnormals where it must (4
    operations fewer per element, for the exps of silu, gelu's density and
    the softmax)."""
    clamped = x if x > -746.0 else -746.0
    p, n = _exp_parts(clamped)
    result = p * _from_bits((n + 1087) << 52) * _TWO_TO_MINUS_64
    return result if x == x else x


_TWO_TO_MINUS_64 = 2.0**-64


@_float64
def _expm1_64(x):
    """e**x - 1, accurate for small x."""
    clamped = x if x < 710.0 else 710.0
    clamped = clamped if clamped > -40.0 else -40.0
    n = clamped * _INV_LN2 + _SHIFT - _SHIFT
    r_hi = clamped - n * _LN2_HI  # exact
    r_lo = -n * _LN2_LO
    r = r_hi + r_lo
    # expm1(r) = r + r**2 * q(r)
    q = (1 / 2
        + r * (1 / 6
        + r * (1 / 24
        + r * (1 / 120
        + r * (1 / 720
        + r * (1 / 5040
        + r * (1 / 40320
        + r * (1 / 362880
        + r * (1 / 3628800
        + r * (1 / 39916800
        + r * (1 / 479001600
        + r * (1 / 6227020800))))))))))))
    # e**x - 1 = 2 * (t - 1/2 + t * expm1(r)), t = 2**(n - 1): exact scalings
    # for every n in [-58, 1024]; t - 1/2 + t * r_hi, the large part, is
    # formed first (exactly where it cancels), the small rest added last
    t = _from_bits((np.int64(n) + 1022) << 52)
    result = 2.0 * (((t - 0.5) + t * r_hi) + t * (r_lo + r * r * q))
    result = result if abs(x) >= _TINY else x
    return result if x == x else x


@_float64
def _logistic64(x):
    """1 / (1 + e**-x), without overflow: e / (1 + e) below 0, e = e**-|x|."""
    e = _exp64(-abs(x))
    numerator = 1.0 if x >= 0.0 else e
    # 1 + e = d + err exactly; one correction step divides by it as if exactly
    d = 1.0 + e
    err = (1.0 - d) + e
    inverse = 1.0 / d
    q = numerator * inverse
    return q + ((numerator - q * d) - q * err) * inverse


# fdlibm's log: log(1 + f) = f - hfsq + s * (hfsq + R(s**2)), s = f / (2 + f)
_LG1 = 6.666666666666735130e-01
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01
_SQRT_HALF_BITS = 0x3FE6A09E667F3BCD
_SMALLEST_NORMAL = 2.2250738585072014e-308


@_float64
def _log64(x):
    """Natural logarithm."""
    subnormal = x < _SMALLEST_NORMAL
    scaled = x * 18014398509481984.0 if subnormal else x  # 2**54
    bits = _bits(scaled)
    # split x = 2**k * m with m in [sqrt(1/2), sqrt(2))
    k = (bits - _SQRT_HALF_BITS) >> 52
    m = _from_bits(bits - (k << 52))
    k = k - 54 if subnormal else k
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    r = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7))) + w * (
        _LG2 + w * (_LG4 + w * _LG6)
    )
    hfsq = 0.5 * f * f
    dk = np.float64(k)
    result = dk * _LN2_HI - ((hfsq - (s * (hfsq + r) + dk * _LN2_LO)) - f)
    special = -_INF if x == 0.0 else _NAN
    result = result if x > 0.0 else special
    return result if x < _INF else x  # inf and nan


@_float64
def _log1p64(x):
    """log(1 + x), accurate for small x."""
    u = 1.0 + x
    logarithm = _log64(u)  # once: a select over two calls would run both
    # log(u) is log(1 + x) up to the rounding of 1 + x, which this corrects
    # (where u is finite and nonzero; else log(u) is the answer)
    result = logarithm - ((u - 1.0) - x) / u
    result = result if u != 0.0 and u < _INF else logarithm
    return result if abs(x) >= _TINY else x


_ATANH_HALF = 0.5493061443340549  # tanh of it is 1/2
# float64 tanh below 0.7: a + a z P(z) / Q(z), z = a**2, Q(0) = 1
# (benchmarks/tanh_coefficients.py; the form of Cody and Waite), degree 0 first
_TANH_SWITCH = 0.7
_TANH_P = (-0.3333333333333333, -0.020495405794187134, -0.00019902773775500282)
_TANH_Q = (1.0, 0.4614862173825515, 0.023286808261769553, 0.00020637276326419357)


@_float64
def _tanh64(x):
    """Hyperbolic tangent."""
    # below 0.7 a rational function, from 0.7 on 1 - 2 / (e + 1), e =
    # e**(2a), whose result is above 0.6, so that exp's error shrinks and
    # nothing cancels; the two branches share one division (a division costs
    # as much as the exp here: expm1 and a corrected division took 1.54 ns
    # per element against 1.17); within 1.1 ulp
    a = abs(x)
    far = a >= _TANH_SWITCH  # False for NaN, which the near branch keeps
    # e**(2a) for 2a in [0, 40] is normal: one exact scaling (tanh(20) is 1)
    p, n = _exp_parts(2.0 * a if a < 20.0 else 40.0)
    e = p * _from_bits((n + 1023) << 52)
    z = a * a
    p_z = _TANH_P[0] + z * (_TANH_P[1] + z * _TANH_P[2])
    q_z = _TANH_Q[0] + z * (_TANH_Q[1] + z * (_TANH_Q[2] + z * _TANH_Q[3]))
    ratio = (2.0 if far else a * z * p_z) / (e + 1.0 if far else q_z)
    return np.float64(np.copysign(1.0 - ratio if far else a + ratio, x))


# fdlibm's erf (numerators, then denominators with their leading 1), zero-padded
# to degree 8: rational approximations on [0, 0.84375), [0.84375, 1.25),
# [1.25, 1/0.35) and [1/0.35, 6); erf = 1 beyond 6
_ERX = 8.45062911510467529297e-01
_PP = (
    1.28379167095512558561e-01,
    -3.25042107247001499370e-01,
    -2.84817495755985104766e-02,
    -5.77027029648944159157e-03,
    -2.37630166566501626084e-05,
    0.0,
    0.0,
    0.0,
    0.0,
)
_QQ = (
    1.0,
    3.97917223959155352819e-01,
    6.50222499887672944485e-02,
    5.08130628187576562776e-03,
    1.32494738004321644526e-04,
    -3.96022827877536812320e-06,
    0.0,
    0.0,
    0.0,
)
_PA = (
    -2.36211856075265944077e-03,
    4.14856118683748331666e-01,
    -3.72207876035701323847e-01,
    3.18346619901161753674e-01,
    -1.10894694282396677476e-01,
    3.54783043256182359371e-02,
    -2.16637559486879084300e-03,
    0.0,
    0.0,
)
_QA = (
    1.0,
    1.06420880400844228286e-01,
    5.40397917702171048937e-01,
    7.18286544141962662868e-02,
    1.26171219808761642112e-01,
    1.36370839120290507362e-02,
    1.19844998467991074170e-02,
    0.0,
    0.0,
)
_RA = (
    -9.86494403484714822705e-03,
    -6.93858572707181764372e-01,
    -1.05586262253232909814e01,
    -6.23753324503260060396e01,
    -1.62396669462573470355e02,
    -1.84605092906711035994e02,
    -8.12874355063065934246e01,
    -9.81432934416914548592e00,
    0.0,
)
_SA = (
    1.0,
    1.96512716674392571292e01,
    1.37657754143519042600e02,
    4.34565877475229228821e02,
    6.45387271733267880336e02,
    4.29008140027567833386e02,
    1.08635005541779435134e02,
    6.57024977031928170135e00,
    -6.04244152148580987438e-02,
)
_RB = (
    -9.86494292470009928597e-03,
    -7.99283237680523006574e-01,
    -1.77579549177547519889e01,
    -1.60636384855821916062e02,
    -6.37566443368389627722e02,
    -1.02509513161107724954e03,
    -4.83519191608651397019e02,
    0.0,
    0.0,
)
_SB = (
    1.0,
    3.03380607434824582924e01,
    3.25792512996573918826e02,
    1.53672958608443695994e03,
    3.19985821950859553908e03,
    2.55305040643316442583e03,
    4.74528541206955367215e02,
    -2.24409524465858183362e01,
    0.0,
)


@_float64
def _horner(c, v):
    """c[0] + c[1] v + ... + c[8] v**8."""
    return c[0] + v * (c[1] + v * (c[2] + v * (c[3] + v * (
        c[4] + v * (c[5] + v * (c[6] + v * (c[7] + v * c[8])))))))


@_float64
def _erf64(x):
    """The error function."""
    a = abs(x)
    near = a < 0.84375
    # |x| < 1.25: a + a * P(a**2) / Q(a**2) below 0.84375, erx + P(a - 1) /
    # Q(a - 1) above; one rational function with coefficients chosen per element
    v = a * a if near else a - 1.0
    ratio = _horner(_PP if near else _PA, v) / _horner(_QQ if near else _QA, v)
    inner = (a if near else _ERX) + (a if near else 1.0) * ratio
    # |x| in [1.25, 6): 1 - exp(-a**2 - 0.5625 + R(s) / S(s)) / a, s = 1 / a**2
    low = a < 2.857142857142857
    inverse = 1.0 / a
    s = inverse * inverse
    ratio = _horner(_RA if low else _RB, s) / _horner(_SA if low else _SB, s)
    # a**2 = z**2 + (a - z)(a + z) with z = a cut to 21 bits, so z * z is exact
    z = _from_bits(_bits(a) & -4294967296)
    mantissa, n = _exp_parts_split(-z * z - 0.5625, (z - a) * (z + a) + ratio)
    outer = 1.0 - _scale(mantissa, n) * inverse
    result = inner if a < 1.25 else (outer if a < 6.0 else 1.0)
    result = np.float64(np.copysign(result, x))
    return result if x == x else x


# float32: exp and expm1 in float32 arithmetic (twice the lanes of float64)
# with polynomials of degree 7 (exact to 2^-27 on |r| <= ln(2)/2); logistic
# finishes its one division in float64; tanh, log, log1p, erf, softplus and
# phi below. _F are float32 constants:
# a Python float would make numba compute in float64.
_F = np.float32
_F_INV_LN2 = _F(1.442695)
_F_SHIFT = _F(12582912.0)  # 1.5 * 2**23
_F_LN2_HI = _F(0.693359375)  # 355 / 512: n * _F_LN2_HI is exact
_F_LN2_LO = _F(-2.12194440e-4)
_F_C = tuple(_F(1.0 / math.factorial(k)) for k in range(8))
_F_TINY = _F(2.0**-25)
_F_TWO_TO_MINUS_24 = _F(2.0**-24)


@_float64
def _exp32_reduction(x):
    """``(r, n)`` with x = n ln(2) + r, |r| <= ln(2)/2, n a whole float32."""
    n = x * _F_INV_LN2 + _F_SHIFT - _F_SHIFT
    r = (x - n * _F_LN2_HI) - n * _F_LN2_LO
    return r, n


@_float64
def _exp_series32(r):
    """(e**r - 1) / r for |r| <= ln(2)/2: the Taylor series to degree 6."""
    c = _F_C
    return c[1] + r * (c[2] + r * (c[3] + r * (
        c[4] + r * (c[5] + r * (c[6] + r * c[7])))))


@_float64
def _exp32(x):
    clamped = x if x < _F(89.0) else _F(89.0)
    clamped = clamped if clamped > _F(-104.0) else _F(-104.0)
    r, n = _exp32_reduction(clamped)
    p = _F(1.0) + r * _exp_series32(r)
    # p * 2**n in two exact steps, through the subnormals and to inf
    k = np.int32(n)
    half = k >> np.int32(1)
    first = _from_bits32((half + np.int32(127)) << np.int32(23))
    second = _from_bits32((k - half + np.int32(127)) << np.int32(23))
    result = p * first * second
    return result if x == x else x


@_float64
def _expm1_32(x):
    clamped = x if x < _F(89.0) else _F(89.0)
    clamped = clamped if clamped > _F(-18.0) else _F(-18.0)
    n = clamped * _F_INV_LN2 + _F_SHIFT - _F_SHIFT
    r_hi = clamped - n * _F_LN2_HI  # exact
    r_lo = -n * _F_LN2_LO
    r = r_hi + r_lo
    c = _F_C
    q = c[2] + r * (c[3] + r * (c[4] + r * (c[5] + r * (c[6] + r * c[7]))))
    # as _expm1_64: 2 * (t - 1/2 + t * expm1(r)), t = 2**(n - 1)
    t = _from_bits32((np.int32(n) + np.int32(126)) << np.int32(23))
    half = _F(0.5)
    result = _F(2.0) * (((t - half) + t * r_hi) + t * (r_lo + r * r * q))
    result = result if abs(x) >= _F_TINY else x
    return result if x == x else x


# float32 tanh below atanh(1/2): a + a z P(z), z = a**2
# (benchmarks/tanh_coefficients.py), degree 0 first
_F_TANH = (
    -0.3333333134651184,
    0.13333119451999664,
    -0.05391046404838562,
    0.021315209567546844,
    -0.006620416883379221,
)
_F_TANH = tuple(_F(c) for c in _F_TANH)


@_float64
def _tanh32(x):
    # near 0 a polynomial, from atanh(1/2) on 1 - 2 / (e + 1), e = e**(2a),
    # all in float32: within 1.6 ulp (the result is at least 1/2 there, so
    # exp's error shrinks by e / (e + 1) * (1 - tanh) and the cancellation
    # that expm1 guards against never happens; expm1 cost 0.66 against 0.46
    # ns per element); t / (t + 2) near 0 in float32 reached 2.2 ulp
    a = abs(x)
    e = _exp32_hi_lo(_F(2.0) * a if a < _F(10.0) else _F(20.0), _F(0.0))
    z = a * a
    c = _F_TANH
    p = c[0] + z * (c[1] + z * (c[2] + z * (c[3] + z * c[4])))
    near = a + a * (z * p)
    far = _F(1.0) - _F(2.0) / (e + _F(1.0))
    result = np.copysign(near if a < _F(_ATANH_HALF) else far, x)
    return result if a >= _F_TINY else x


@_float64
def _logistic32(x):
    e = np.float64(_exp32(-abs(x)))
    return _F((1.0 if x >= _F(0.0) else e) / (1.0 + e))


# FreeBSD's logf (e_logf.c, Sun Microsystems): log(1 + f) = f - hfsq +
# s * (hfsq + R(s**2)), s = f / (2 + f), R of degree 4, in float32 arithmetic
_F_LG1 = _F(0.66666662693)  # 0xaaaaaa.0p-24
_F_LG2 = _F(0.40000972152)  # 0xccce13.0p-25
_F_LG3 = _F(0.28498786688)  # 0x91e9ee.0p-25
_F_LG4 = _F(0.24279078841)  # 0xf89e26.0p-26
_F_LOG_LN2_HI = _F(6.9313812256e-01)  # 0x3f317180: k * it is exact
_F_LOG_LN2_LO = _F(9.0580006145e-06)  # 0x3717f7d1
_F_SQRT_HALF_BITS = 0x3F3504F3
_F_SMALLEST_NORMAL = _F(1.17549435e-38)
_F_INF = _F(np.inf)
_F_NAN = _F(np.nan)


@_float64
def _log32(x):
    subnormal = x < _F_SMALLEST_NORMAL
    scaled = x * _F(33554432.0) if subnormal else x  # 2**25
    bits = np.int32(_bits32(scaled))
    # split x = 2**k * m with m in [sqrt(1/2), sqrt(2))
    k = np.int32((bits - np.int32(_F_SQRT_HALF_BITS)) >> np.int32(23))
    m = _from_bits32(np.int32(bits - (k << np.int32(23))))
    k = np.int32(k - np.int32(25)) if subnormal else k
    f = m - _F(1.0)
    s = f / (_F(2.0) + f)
    z = s * s
    w = z * z
    r = z * (_F_LG1 + w * _F_LG3) + w * (_F_LG2 + w * _F_LG4)
    hfsq = _F(0.5) * f * f
    dk = _F(k)
    result = dk * _F_LOG_LN2_HI - (
        (hfsq - (s * (hfsq + r) + dk * _F_LOG_LN2_LO)) - f
    )
    special = -_F_INF if x == _F(0.0) else _F_NAN
    result = result if x > _F(0.0) else special
    return result if x < _F_INF else x  # inf and nan


@_float64
def _log1p32(x):
    u = _F(1.0) + x
    logarithm = _log32(u)
    result = logarithm - ((u - _F(1.0)) - x) / u
    result = result if u != _F(0.0) and u < _F_INF else logarithm
    return result if abs(x) >= _F_TINY else x


# erf in float32 arithmetic: fdlibm's rational approximations above with
# their coefficients rounded to float32 (as FreeBSD's erff once did; its error
# is float32 rounding, not the approximations'), and exp's float32 reduction
_F_ERX = _F(_ERX)  # exact: erx has 24 significant bits
_F_PP, _F_QQ, _F_PA, _F_QA = (tuple(_F(c) for c in t) for t in (_PP, _QQ, _PA, _QA))
_F_RA, _F_SA, _F_RB, _F_SB = (tuple(_F(c) for c in t) for t in (_RA, _SA, _RB, _SB))


@_float64
def _exp32_hi_lo(hi, lo):
    """exp(hi + lo) in float32 for hi + lo in about [-84.5, 88] (erf's tail,
    the normal density up to |x| = 13, tanh's far branch on [1.1, 20]):
    ``lo`` carries the argument's extra bits; the result is normal, so one
    exact scaling by 2**n rebuilds it. No clamps or special values."""
    n = (hi + lo) * _F_INV_LN2 + _F_SHIFT - _F_SHIFT
    r = (hi - n * _F_LN2_HI) + (lo - n * _F_LN2_LO)
    c = _F_C
    p = c[0] + r * (c[1] + r * (c[2] + r * (c[3] + r * (
        c[4] + r * (c[5] + r * (c[6] + r * c[7]))))))
    return p * _from_bits32(np.int32((np.int32(n) + np.int32(127)) << np.int32(23)))


@_float64
def _erf32(x):
    a = abs(x)
    near = a < _F(0.84375)
    v = a * a if near else a - _F(1.0)
    ratio = _horner(_F_PP if near else _F_PA, v) / _horner(_F_QQ if near else _F_QA, v)
    inner = (a if near else _F_ERX) + (a if near else _F(1.0)) * ratio
    # |x| in [1.25, 6): 1 - exp(-a**2 - 0.5625 + R(s) / S(s)) / a, s = 1 / a**2,
    # with a clamped there so that every lane stays finite
    outer_a = a if a > _F(1.25) else _F(1.25)
    outer_a = outer_a if outer_a < _F(6.0) else _F(6.0)
    low = outer_a < _F(2.857142857142857)
    inverse = _F(1.0) / outer_a
    s = inverse * inverse
    ratio = _horner(_F_RA if low else _F_RB, s) / _horner(_F_SA if low else _F_SB, s)
    # a**2 = z**2 + (a - z)(a + z) with z = a cut to 11 bits, so z * z is exact
    z = _from_bits32(np.int32(_bits32(outer_a) & np.int32(-8192)))
    hi = -z * z - _F(0.5625)
    lo = (z - outer_a) * (z + outer_a) + ratio
    # exp(...) is in [2**-56, 2**-2]
    outer = _F(1.0) - _exp32_hi_lo(hi, lo) * inverse
    result = inner if a < _F(1.25) else (outer if a < _F(6.0) else _F(1.0))
    result = _F(np.copysign(result, x))
    return result if x == x else x


# float64 softplus: max(x, 0) + log1p(e), e = e**-|x| in (0, 1], and
# log1p(e) = e - e**2/2 + e**3 P(e) / Q(e), P of degree 5 and Q of degree 6
# fitted for the error of e**3 P / Q relative to log1p(e), which it is at
# most 0.28 of (benchmarks/softplus_coefficients.py), degree 0 first; every
# coefficient is positive. 11 multiply-adds and a division, where the
# polynomial of degree 20 for log1p(e) / e it replaces took 21: the forward
# kernel 1.87-1.94 -> 1.63-1.66 ns per element (1.79 ulp at worst, was 2.12).
_LOG1P_TAIL_P = (
    0.33333333333332843,
    0.7969163608312095,  # nudged: softplus(0) is ln 2 correctly rounded
    0.6855980496862062,
    0.2570464356977222,
    0.04008107061158883,
    0.0019326916720017852,
)
_LOG1P_TAIL_Q = (
    1.0,
    3.1407490824927624,
    3.8123559609485644,
    2.2459568280442523,
    0.6591003711626477,
    0.08769190343800215,
    0.003867903704047711,
)


@_float64
def _softplus_logistic64(x):
    """(softplus(x), logistic(x)): one exp, e = e**-|x| in (0, 1], for
    max(x, 0) + log1p(e) and for 1 / (1 + e) above 0, e / (1 + e) below.

    e is t (1 + q) with t = 2**n and q = e**r - 1 from exp's reduction, and
    log1p(e) = t + (t q + e**2 (e P / Q - 1/2)) takes t q before it is
    rounded into e: where log1p(e) is below a power of 2 that e is above, e's
    rounding would count twice its ulp. Where t = 1 (|x| < ln(2)/2) a positive
    x joins the inner sum (t q + x is exact there), else it is added last.
    """
    a = abs(x)
    r, n = _exp_reduction(-a if a < 746.0 else -746.0)
    t = _from_bits((np.int64(n) + 1087) << 52) * _TWO_TO_MINUS_64  # exact
    tq = t * (r * _exp_series(r))
    e = t + tq
    e = e if x == x else x
    positive = x if x > 0.0 else 0.0
    near = n == 0.0
    inner = positive if near else 0.0
    outer = 0.0 if near else positive
    tail = (e * e) * (e * (_log1p_tail_p(e) / _log1p_tail_q(e)) - 0.5)
    softplus = outer + (t + ((tq + inner) + tail))
    # the derivative is one division (2.38 ulp at worst): correcting it as
    # _logistic64 does would cost 0.2 ns per element
    return softplus, (1.0 if x >= 0.0 else e) / (1.0 + e)


@_float64
def _softplus64(x):
    """log(1 + e**x) = max(x, 0) + log1p(e**-|x|)."""
    return _softplus_logistic64(x)[0]


@_float64
def _softplus_logistic32(x):
    """float32 softplus as fdlibm's log of u = 1 + e, corrected for the
    roundings of e and of u: e = p t with exp's mantissa p = 1 + r S(r) (one
    fused multiply-add) and t = 2**n, e_lo what p's rounding lost (the same
    multiply-add less p, exact), and log1p(e + e_lo) = log(u) - (c - e_lo) /
    u, c = u - 1 - e. Where log1p(e) is below a power of 2 that e is above,
    e's rounding alone counted double (2.05 ulp before)."""
    a = abs(x)
    reduced, n = _exp32_reduction(-a if a < _F(104.0) else _F(-104.0))
    power = _from_bits32((np.int32(n) + np.int32(151)) << np.int32(23))
    t = power * _F_TWO_TO_MINUS_24  # 2**n, exact
    series = _exp_series32(reduced)
    p = _fma(reduced, series, _F(1.0))  # exp's bits
    e = p * t
    e_lo = _fma(reduced, series, _F(1.0) - p) * t  # what e's rounding lost
    e = e if x == x else x
    u = _F(1.0) + e
    c = (u - _F(1.0)) - e
    big = u > _F(1.4142135)
    f = (_F(0.5) * u if big else u) - _F(1.0)
    d = _F(2.0) + f
    reciprocal = _F(1.0) / (d * u)
    s = f * u * reciprocal
    z = s * s
    w = z * z
    r = z * (_F_LG1 + w * _F_LG3) + w * (_F_LG2 + w * _F_LG4)
    hfsq = _F(0.5) * f * f
    dk = _F(1.0) if big else _F(0.0)
    log_u = dk * _F_LOG_LN2_HI - ((hfsq - (s * (hfsq + r) + dk * _F_LOG_LN2_LO)) - f)
    log1p_e = log_u - (c - e_lo) * d * reciprocal
    softplus = (x if x > _F(0.0) else _F(0.0)) + log1p_e
    return softplus, (_F(1.0) if x >= _F(0.0) else e) / (_F(1.0) + e)


@_float64
def _softplus32(x):
    return _softplus_logistic32(x)[0]


# gelu's Phi in float64, from Mills' ratio M(u) = (1 - Phi(u)) / phi(u) of
# u = |x|: 1 - Phi(u) = e (1/2 + t A(t) / B(t)), e = exp(-u**2 / 2), t = u /
# 8.3 on [0, 8.3], A of degree 6 and B of degree 7 fitted for the absolute
# error of 1 - Phi (benchmarks/phi_coefficients.py; within 4e-18 before
# rounding), degree 0 first. phi(u) M(0) is e / 2 exactly, so near 0 (1 - Phi
# about 1/2) only exp's rounding is left: within 1.7e-16 of Phi; A's
# coefficients are all negative, B's positive (nothing cancels). One rational
# function, no per-element choice of coefficients: gelu's forward 1.70 -> 1.47
# ns per element against the polynomial of degree 26 it replaces (26
# multiply-adds against 14 and a division).
_MILLS_A = (
    -3.3112209273318967,
    -31.241674435245464,
    -139.397390503201,
    -363.16874562456854,
    -577.7181515338075,
    -531.2011623429016,
    -221.64741981234022,
)
_MILLS_B = (
    1.0,
    14.636345776631401,
    95.26250065121917,
    358.6419339404573,
    847.0303981547429,
    1261.6464270089139,
    1105.0226420411898,
    443.2936914178614,
)


def _estrin(terms, horner_terms):
    """Source lines evaluating the polynomial of coefficient expressions
    ``terms`` (degree 0 first) at ``s`` into ``r``: Estrin's scheme from
    degree ``horner_terms`` up (pairs ``c + c' s``, then pairs of those with
    ``s**2``, ``s**4``, ...: a chain of about log2(n) multiply-adds where
    Horner's rule has n), Horner's rule below it."""
    horner_terms = min(horner_terms, len(terms) - 1)
    lines, names, power, level = [], terms[horner_terms:], "s", 0
    while len(names) > 1:
        paired = []
        for i in range(0, len(names) - 1, 2):
            lines.append(f"    p{level}_{i} = {names[i]} + {names[i + 1]} * {power}")
            paired.append(f"p{level}_{i}")
        paired += names[len(names) - len(names) % 2 :]
        if len(paired) > 1:
            lines.append(f"    s{level} = {power} * {power}")
            power = f"s{level}"
        names, level = paired, level + 1
    lines.append(f"    r = {names[0]}")
    for term in reversed(terms[:horner_terms]):
        lines.append(f"    r = r * s + {term}")
    return lines


def _polynomial(table, horner_terms):
    """``table`` (degree 0 first) at ``s``: Horner's rule below degree
    ``horner_terms``, Estrin's scheme from there (all Horner for
    ``len(table)``), compiled as straight-line code (LLVM leaves the element
    loop scalar around a loop over the coefficients)."""
    terms = [f"TABLE[{j}]" for j in range(len(table))]
    lines = _estrin(terms, horner_terms)
    source = "\n".join(["def polynomial(s):", *lines, "    return r"])
    namespace = {"TABLE": table}
    exec(source, namespace)
    return _float64(namespace["polynomial"])


# Horner's rule: with one table as fast as Estrin's scheme (the lanes of
# other elements hide the chain's latency)
_mills_numerator64 = _polynomial(_MILLS_A, len(_MILLS_A))
_mills_denominator64 = _polynomial(_MILLS_B, len(_MILLS_B))
_log1p_tail_p = _polynomial(_LOG1P_TAIL_P, len(_LOG1P_TAIL_P))
_log1p_tail_q = _polynomial(_LOG1P_TAIL_Q, len(_LOG1P_TAIL_Q))
_DENSITY = 1.0 / math.sqrt(2.0 * math.pi)  # phi(0)
_PHI_END = 8.3  # 1 - Phi(8.3) is 5e-17: Phi rounds to 1 from here


@_float64
def _normal_cdf_pdf64(x):
    """The standard normal CDF and density at x: (Phi(x), phi(x))."""
    u = abs(x)
    t = (u if u < _PHI_END else _PHI_END) * (1.0 / _PHI_END)  # NaN too
    e = _exp_nonpositive64(-0.5 * x * x)
    tail = e * (0.5 + t * _mills_numerator64(t) / _mills_denominator64(t))
    tail = tail if u < _PHI_END else 0.0  # Phi(-u)
    cdf = tail if x < 0.0 else 1.0 - tail  # exact: tail <= 1/2
    return (cdf if x == x else x), _DENSITY * e


@_float64
def _phi64(x):
    """The standard normal CDF, to within about an ulp of 1."""
    return _normal_cdf_pdf64(x)[0]


# Mills' ratio M(u) = (1 - Phi(u)) / phi(u) in float32: P(t) / Q(t), t = u
# / 13 on [0, 13] of u = |x|, P of degree 4 and Q of degree 5 fitted for M's
# relative error (benchmarks/phi_coefficients.py; 1.4e-8 with the
# coefficients rounded), all positive; degree 0 first
_F_MILLS_P = (
    1.2533141374588013,
    14.237887382507324,
    77.20547485351562,
    221.98439025878906,
    291.38299560546875,
)
_F_MILLS_Q = (
    1.0,
    21.732694625854492,
    202.52264404296875,
    1025.734130859375,
    2885.999267578125,
    3787.92822265625,
)
_F_MILLS_P = tuple(_F(c) for c in _F_MILLS_P)
_F_MILLS_Q = tuple(_F(c) for c in _F_MILLS_Q)
_mills_numerator32 = _polynomial(_F_MILLS_P, len(_F_MILLS_P))
_mills_denominator32 = _polynomial(_F_MILLS_Q, len(_F_MILLS_Q))


@_float64
def _normal_cdf_pdf32(x):
    # 1 - Phi(u) = phi(u) M(u): one exp for both, and relative accuracy deep
    # into the tail (Phi(-12.7) is 3e-37), with one division (erfc takes two);
    # 0.64 ns per element for gelu's forward, 0.93 with the former pair of
    # polynomials of degree 14 picked per element by selects
    u = abs(x)
    u = u if u < _F(13.0) else _F(13.0)  # also NaN, restored at the end
    t = u * _F(1.0 / 13.0)
    mills = _mills_numerator32(t) / _mills_denominator32(t)
    # exp(-u**2 / 2) from u**2 = y**2 + (u - y)(u + y), y = u cut to 11 bits
    # (y * y exact): a rounded u**2 would cost 5e-6 of relative error at 13
    y = _from_bits32(np.int32(_bits32(u) & np.int32(-8192)))
    hi = -(y * y) * _F(0.5)
    lo = -((u - y) * (u + y)) * _F(0.5)
    pdf = _exp32_hi_lo(hi, lo) * _F(_DENSITY)
    pdf = pdf if u < _F(13.0) else _F(0.0)  # phi(13) is 2e-37, Phi(-13) 6e-39
    tail = pdf * mills  # Phi(-u)
    cdf = tail if x < _F(0.0) else _F(1.0) - tail
    return (cdf, pdf) if x == x else (x, x)


@_float64
def _phi32(x):
    return _normal_cdf_pdf32(x)[0]


def _generic(name, float32=None):
    """The public function ``name``: float32 arguments get ``float32`` (when
    given, else the float64 code on the widened value), others the float64
    code. Compiled into each caller and inlined, so loops vectorize."""
    float64 = globals()[f"_{name}64" if name != "expm1" else "_expm1_64"]

    def function(x):
        raise NotImplementedError(f"fastmath.{name} is callable from jitted code")

    function.__name__ = function.__qualname__ = name
    function.__doc__ = float64.py_func.__doc__

    def widened(x):
        return float64(np.float64(x))

    @overload(function, jit_options=linked_jit_options(**_OPTIONS))
    def _choose(x):
        if isinstance(x, types.Float) and x.bitwidth == 32 and float32 is not None:
            return lambda x: float32(x)
        return widened

    return function


exp = _generic("exp", _exp32)
exp_nonpositive = _generic("exp_nonpositive", _exp32)
expm1 = _generic("expm1", _expm1_32)
log = _generic("log", _log32)
log1p = _generic("log1p", _log1p32)
tanh = _generic("tanh", _tanh32)
erf = _generic("erf", _erf32)
phi = _generic("phi", _phi32)
softplus = _generic("softplus", _softplus32)
softplus_logistic = _generic("softplus_logistic", _softplus_logistic32)
normal_cdf_pdf = _generic("normal_cdf_pdf", _normal_cdf_pdf32)
logistic = _generic("logistic", _logistic32)
