"""The BLAS intrinsics give np.dot's bits, in every branch np.dot takes."""

import numpy as np
import pytest
from numba import njit

from fastmlp.kernels.blas import matmul_into, vector_dot


@njit
def ours(a, b, out):
    matmul_into(a, b, out)


@njit
def numbas(a, b, out):
    np.dot(a, b, out)


@njit
def our_dot(a, b):
    return vector_dot(a, b)


@njit
def numbas_dot(a, b):
    return np.dot(a, b)


def _operand(rng, shape, dtype, layout):
    values = rng.standard_normal(shape).astype(dtype)
    if layout == "F":
        return np.asfortranarray(values)
    if layout == "strided":  # every other column of a wider array
        wide = rng.standard_normal((shape[0], 2 * shape[1])).astype(dtype)
        return wide[:, ::2]
    return values


# (m, k, n): a product, a matrix-vector and a vector-matrix as (1, k) or
# (k, 1) operands, a dot product, empty products
SHAPES = [(37, 19, 23), (37, 19, 1), (1, 19, 23), (1, 19, 1), (5, 0, 3), (0, 4, 3)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("layouts", ["CC", "FC", "CF", "FF", "strided"])
@pytest.mark.parametrize("m, k, n", SHAPES)
def test_matrix_products_equal_np_dot_bit_for_bit(m, k, n, layouts, dtype):
    rng = np.random.default_rng(0)
    if layouts == "strided":
        a = _operand(rng, (m, k), dtype, "strided")
        b = _operand(rng, (k, n), dtype, "C")
    else:
        a = _operand(rng, (m, k), dtype, layouts[0])
        b = _operand(rng, (k, n), dtype, layouts[1])
    expected = np.full((m, n), np.nan, dtype=dtype)
    actual = np.full((m, n), np.nan, dtype=dtype)
    numbas(a, b, expected)
    ours(a, b, actual)
    assert actual.tobytes() == expected.tobytes()
    np.testing.assert_allclose(actual, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("layout", ["C", "F"])
@pytest.mark.parametrize("m, k", [(7, 5), (1, 5), (7, 1), (0, 5), (7, 0)])
def test_matrix_vector_products_equal_np_dot_bit_for_bit(m, k, layout, dtype):
    rng = np.random.default_rng(1)
    a = _operand(rng, (m, k), dtype, layout)
    x = rng.standard_normal(k).astype(dtype)
    expected = np.full(m, np.nan, dtype=dtype)
    actual = np.full(m, np.nan, dtype=dtype)
    numbas(a, x, expected)
    ours(a, x, actual)
    assert actual.tobytes() == expected.tobytes()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_vector_dot_equals_np_dot(dtype):
    rng = np.random.default_rng(2)
    for n in (0, 1, 17, 1000):
        x, y = (rng.standard_normal(n).astype(dtype) for _ in range(2))
        assert our_dot(x, y) == numbas_dot(x, y)


def test_mismatched_shapes_raise_value_errors():
    with pytest.raises(ValueError, match="matrix product"):
        ours(np.ones((3, 4)), np.ones((5, 2)), np.empty((3, 2)))
    with pytest.raises(ValueError, match="matrix product"):
        ours(np.ones((3, 4)), np.ones((4, 2)), np.empty((3, 3)))
    with pytest.raises(ValueError, match="matrix-vector"):
        ours(np.ones((3, 4)), np.ones(5), np.empty(3))
    with pytest.raises(ValueError, match="dot product"):
        our_dot(np.ones(3), np.ones(4))
