"""Maximum ulp error of fastmlp's vectorizable math functions, per dtype.

Each function of ``fastmlp.kernels.fastmath`` is evaluated, through a
compiled loop as the kernels call it, on points spread over the whole float
range (random bit patterns: every exponent, subnormals included), uniform
over the range where the function varies, and dense near the edges (0, -0.0,
the overflow and underflow thresholds, the subnormals, inf and NaN). The
reference is NumPy in long double (80-bit on x86; erf, which NumPy lacks,
from its everywhere-positive series in long double); the error of a result
is ``|ours - reference| / ulp(reference)`` in the result's dtype. Special
values (NaN, inf, signed zeros) must match NumPy's exactly.

Usage::

    python benchmarks/fastmath_ulp.py [--points N] [--json PATH]
"""

import argparse
import json
import math
import time

import numpy as np
from numba import njit

from fastmlp.kernels import fastmath

LD = np.longdouble
#: name -> (NumPy's function, the range where it varies, the edges)
FUNCTIONS = {
    "exp": (np.exp, (-746.0, 710.0), (709.782712893384, -708.3964185322641,
                                      -745.1332191019411, -745.1332191019412,
                                      88.72283, -87.33655, -103.972084)),
    "expm1": (np.expm1, (-40.0, 710.0), (709.782712893384, 88.72283, -37.5,
                                         -17.0, 0.3466, -0.3466)),
    "log": (np.log, (1e-300, 1e300), (1.0, 2.2250738585072014e-308,
                                      1.1754944e-38, 0.7071067811865476,
                                      1.4142135623730951)),
    "log1p": (np.log1p, (-1.0, 10.0), (-1.0, 0.0, -0.29, 0.41, 1.0, 1e-8)),
    "tanh": (np.tanh, (-20.0, 20.0), (0.5493061443340549, -0.5493061443340549,
                                      19.06, 9.01, 1e-8)),
    "logistic": (None, (-750.0, 40.0), (0.0, -745.0, -103.0, -87.0, 17.0, 36.8)),
    "softplus": (None, (-750.0, 40.0), (0.0, -745.0, -103.0, -37.0, 17.0, 36.8,
                                         0.8813735870195429, -0.8813735870195429)),
    "erf": (None, (-6.5, 6.5), (0.84375, 1.25, 2.857142857142857, 6.0, 5.92,
                                -0.84375, -1.25, -2.857142857142857, 1e-8)),
}


def erf_reference(x):
    """erf in long double: 2/sqrt(pi) e^{-x^2} sum_n 2^n x^(2n+1) / (2n+1)!!.

    Every term is positive, so the sum loses nothing to cancellation. Points
    are summed in groups of similar magnitude, each until its terms vanish.
    """
    x = np.asarray(x, dtype=LD)
    a = np.abs(x)
    value = np.where(a < 6.5, LD(0), LD(1))
    root_pi = LD("1.772453850905516027298167483341145182798")
    bounds = (0.5, 1.0, 2.0, 3.0, 4.5, 6.5)
    lower = 0.0
    for upper in bounds:
        group = (a >= lower) & (a < upper)
        lower = upper
        near = a[group]
        square = near * near
        term = near.copy()
        total = near.copy()
        n = 1
        while True:
            term = term * (2 * square) / (2 * n + 1)
            total = total + term
            n += 1
            if n > 2 * upper * upper + 4 and np.all(term <= total * LD(2.0**-70)):
                break
        value[group] = 2 / root_pi * np.exp(-square) * total
    return np.copysign(np.where(np.isnan(a), a, value), x)


def reference(name, x):
    """The function in long double, rounded to nothing yet."""
    with np.errstate(all="ignore"):
        if name == "erf":
            return erf_reference(x)
        if name == "logistic":
            return 1 / (1 + np.exp(-np.asarray(x, dtype=LD)))
        if name == "softplus":
            return np.logaddexp(LD(0), np.asarray(x, dtype=LD))
        return FUNCTIONS[name][0](np.asarray(x, dtype=LD))


def points(name, dtype, n, seed=0):
    """``n`` arguments of ``name`` (about), every kind of them, in ``dtype``."""
    rng = np.random.default_rng(seed)
    info = np.finfo(dtype)
    bits = np.int64 if dtype == np.float64 else np.int32
    low, high = FUNCTIONS[name][1]
    low, high = max(low, float(info.min)), min(high, float(info.max))
    quarter = n // 4
    whole = rng.integers(np.iinfo(bits).min, np.iinfo(bits).max, quarter,
                         dtype=bits).view(dtype)
    uniform = rng.uniform(low, high, quarter).astype(dtype)
    # log-uniform magnitudes from the subnormals up, both signs
    exponents = rng.uniform(math.log2(float(info.smallest_subnormal)),
                            math.log2(max(abs(low), abs(high))), quarter)
    scaled = (np.exp2(exponents) * rng.choice([-1.0, 1.0], quarter)).astype(dtype)
    edges = [0.0, float(info.smallest_normal), float(info.smallest_subnormal),
             float(info.max), *FUNCTIONS[name][2]]
    near = []
    walk = np.arange(-2000, 2001)
    for edge in edges:
        for value in (edge, -edge):
            centre = np.array(value, dtype=dtype).view(bits)
            near.append((centre + walk.astype(bits)).view(dtype))
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan], dtype=dtype)
    return np.concatenate([whole, uniform, scaled, *near, specials])


def _loop(function):
    @njit
    def apply(x, out):
        for i in range(x.shape[0]):
            out[i] = function(x[i])

    return apply


_LOOPS = {}


def evaluate(name, x):
    """fastmlp's ``name`` on ``x`` through a compiled loop, in ``x``'s dtype."""
    if name not in _LOOPS:
        _LOOPS[name] = _loop(getattr(fastmath, name))
    out = np.empty_like(x)
    _LOOPS[name](x, out)
    return out


def ulp_errors(name, x):
    """``(errors in ulp, mismatched special values)`` of ``name`` on ``x``."""
    dtype = x.dtype.type
    ours = evaluate(name, x)
    exact = reference(name, x)
    with np.errstate(over="ignore"):
        rounded = exact.astype(dtype)
    finite = np.isfinite(rounded) & np.isfinite(ours)
    magnitude = np.abs(rounded[finite])
    spacing = np.spacing(magnitude)
    # the ulp of an exact value just below a power of 2 is half that above it
    power_of_2 = (np.frexp(magnitude)[0] == 0.5) & (
        magnitude > np.finfo(dtype).smallest_normal
    )
    below = power_of_2 & (np.abs(exact[finite]) < magnitude)
    spacing = np.where(below, spacing / 2, spacing)
    errors = np.abs(ours[finite].astype(LD) - exact[finite]) / spacing.astype(LD)
    special = ~finite
    mismatched = special & ~(
        (np.isnan(ours) & np.isnan(rounded))
        | ((ours == rounded) & (np.signbit(ours) == np.signbit(rounded)))
    )
    zeros = finite & (rounded == 0)
    mismatched |= zeros & (np.signbit(ours) != np.signbit(rounded)) & (ours == 0)
    return errors.astype(np.float64), x[mismatched]


def table(n_points):
    """Rows of the maximum ulp error per function and dtype."""
    rows = []
    for name in FUNCTIONS:
        for dtype in (np.float64, np.float32):
            start = time.perf_counter()
            x = points(name, dtype, n_points)
            errors, mismatched = ulp_errors(name, x)
            worst = int(np.argmax(errors))
            with np.errstate(over="ignore"):
                exact = reference(name, x).astype(dtype)
            finite_x = x[np.isfinite(evaluate(name, x)) & np.isfinite(exact)]
            rows.append({
                "function": name,
                "dtype": np.dtype(dtype).name,
                "points": int(x.size),
                "max_ulp": float(errors[worst]),
                "at": float(finite_x[worst]),
                "mean_ulp": float(errors.mean()),
                "special_mismatches": [float(v) for v in mismatched[:5]],
                "seconds": time.perf_counter() - start,
            })
    return rows


def main(argv=None):
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=4_000_000)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    rows = table(args.points)
    print("| function | dtype | points | max ulp | at x | mean ulp | specials |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['function']} | {row['dtype']} | {row['points']:,} | "
              f"{row['max_ulp']:.3f} | {row['at']:.17g} | {row['mean_ulp']:.3f} | "
              f"{'ok' if not row['special_mismatches'] else row['special_mismatches']}"
              " |")
    if args.json:
        with open(args.json, "w") as stream:
            json.dump(rows, stream, indent=2)


if __name__ == "__main__":
    main()
