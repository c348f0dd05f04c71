"""``libm_exp.exp`` against the C library's exp and expf, bit for bit.

The reference is numba's ``np.exp``, which calls the C library (``exp`` for
float64, ``expf`` for float32), as SciPy's ``expit`` does. The bits agree on
glibc 2.28 or later on a CPU with FMA, the platform whose algorithm
``libm_exp`` follows; elsewhere the test holds it to one ulp of that C library.
"""

import platform

import numpy as np
import pytest
from llvmlite import binding
from numba import njit

from fastmlp.kernels import libm_exp

_GLIBC = platform.libc_ver()[0] == "glibc" and tuple(
    int(part) for part in platform.libc_ver()[1].split(".")[:2]
) >= (2, 28)
BIT_EXACT = (
    _GLIBC
    and platform.machine() == "x86_64"
    and "+fma" in binding.get_host_cpu_features().flatten()
)
INV_LN2_N = {np.float64: float.fromhex("0x1.71547652b82fep0") * 128,
             np.float32: float.fromhex("0x1.71547652b82fep0") * 32}


@njit(error_model="numpy")
def _ours(x, out):
    for i in range(x.shape[0]):
        out[i] = libm_exp.exp(x[i])


@njit(error_model="numpy")
def _c_library(x, out):
    for i in range(x.shape[0]):
        out[i] = np.exp(x[i])


def _points(dtype, rng):
    """Random bit patterns, the range where exp varies, both sides of every
    threshold, and the inputs whose k = round(x N / ln 2) is nearly a tie."""
    integer = np.int64 if dtype == np.float64 else np.int32
    width = 64 if dtype == np.float64 else 32
    patterns = rng.integers(0, 2**width, 300_000, dtype=np.uint64)
    patterns = patterns.astype(np.dtype(f"u{width // 8}")).view(dtype)
    top = np.log(np.finfo(dtype).max)
    bottom = np.log(np.finfo(dtype).smallest_subnormal) - 1
    halves = (np.arange(-int(-bottom * INV_LN2_N[dtype]), int(top * INV_LN2_N[dtype]))
              + 0.5) / INV_LN2_N[dtype]
    halves = rng.choice(halves, 100_000).astype(dtype)
    near_halves = [halves.view(integer) + step for step in (-2, -1, 1, 2)]
    thresholds = np.array([top, bottom + 1, bottom, 512, -512, 1024, -1024, 0.0])
    thresholds = thresholds.astype(dtype).view(integer)
    around = (thresholds[:, None] + np.arange(-2000, 2001)[None, :]).ravel()
    return np.concatenate([
        patterns,
        rng.uniform(bottom - 5, top + 5, 500_000).astype(dtype),
        (rng.standard_normal(300_000) * 4).astype(dtype),
        halves,
        *(values.view(dtype) for values in near_halves),
        around.astype(integer).view(dtype),
        np.array([0.0, -0.0, np.inf, -np.inf, np.nan], dtype),
    ])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_c_librarys_bits(dtype):
    x = _points(dtype, np.random.default_rng(0))
    ours, reference = np.empty_like(x), np.empty_like(x)
    _ours(x, ours)
    _c_library(x, reference)
    both_nan = np.isnan(ours) & np.isnan(reference)
    assert both_nan.sum() == np.isnan(x).sum()
    if BIT_EXACT:
        integer = np.int64 if dtype == np.float64 else np.int32
        differ = (ours.view(integer) != reference.view(integer)) & ~both_nan
        assert not differ.any(), f"{differ.sum()} differ, at {x[differ][:5]}"
    else:
        finite = np.isfinite(reference)
        assert np.array_equal(ours[~finite & ~both_nan], reference[~finite & ~both_nan])
        gap = np.abs(ours[finite] - reference[finite])
        assert np.all(gap <= np.spacing(reference[finite]))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_special_values(dtype):
    x = np.array([-np.inf, np.inf, 0.0, -0.0, 1000.0, -1000.0, np.nan], dtype)
    out = np.empty_like(x)
    _ours(x, out)
    np.testing.assert_array_equal(out, [0.0, np.inf, 1.0, 1.0, np.inf, 0.0, np.nan])
    assert not np.signbit(out[5])
