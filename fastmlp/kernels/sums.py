"""Sums in NumPy's order, so that float64 results match scikit-learn's bits.

NumPy adds a contiguous run of values pairwise (``pairwise_sum``: blocks of up
to 128 values, each with eight interleaved partial sums), and reduces a C-ordered
matrix over its rows (``axis=0``) one row after another, unless the matrix has
a single column, which is then a contiguous run. scikit-learn's loss, sample
weight total and intercept gradients are such sums.
"""

from numba import types
from numba.extending import overload

from fastmlp.kernels._compile import kernel, linked_jit_options
from fastmlp.kernels._views import flat_view, read_only

_BLOCK = 128  # NumPy's PW_BLOCKSIZE


@kernel
def pairwise_sum(values):
    """``np.sum(values)`` for a 1-D array, bit for bit (NumPy's pairwise sum)."""
    n = values.shape[0]
    if n > _BLOCK:
        half = n // 2
        half -= half % 8
        return pairwise_sum(values[:half]) + pairwise_sum(values[half:])
    return _block_sum(values)


@kernel
def _block_sum(values):
    """NumPy's sum of at most ``_BLOCK`` values: eight interleaved partial
    sums. Kept out of the recursive ``pairwise_sum``: numba types a recursive
    function much faster when it is small (0.2 s of the first compile)."""
    n = values.shape[0]
    if n < 8:
        total = values.dtype.type(0.0)
        for i in range(n):
            total += values[i]
        return total
    r0, r1, r2, r3 = values[0], values[1], values[2], values[3]
    r4, r5, r6, r7 = values[4], values[5], values[6], values[7]
    i = 8
    while i < n - n % 8:
        r0 += values[i]
        r1 += values[i + 1]
        r2 += values[i + 2]
        r3 += values[i + 3]
        r4 += values[i + 4]
        r5 += values[i + 5]
        r6 += values[i + 6]
        r7 += values[i + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        total += values[i]
        i += 1
    return total


@kernel
def column_sums(matrix, out):
    """``out = matrix.sum(axis=0)`` in NumPy's order (see the module's note)."""
    if matrix.shape[1] == 1:
        out[0] = pairwise_sum(_single_column(matrix))
        return
    out[:] = 0.0
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            out[j] += matrix[i, j]


def _single_column(matrix):
    """The only column of ``matrix`` as a 1-D array for ``pairwise_sum``."""


@overload(_single_column, jit_options=linked_jit_options())
def _single_column_impl(matrix):
    # a C-ordered column is contiguous: typed as the other sums' inputs (1-D,
    # C, read-only), it shares their compiled pairwise_sum
    if isinstance(matrix, types.Array) and matrix.layout == "C":
        return lambda matrix: flat_view(matrix)
    return lambda matrix: read_only(matrix[:, 0])
