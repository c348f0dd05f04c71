"""The dense (affine) layer ``z = x @ W + b``: forward and backward kernels.

The bias is added by the activation kernel that follows (the epilogue, see
``activations``), so the forward kernel here is the matrix product alone.

The backward kernel is the vector-Jacobian product of the layer: given
``delta = dL/dz`` for a batch it returns

- ``dL/dW = x.T @ delta`` and ``dL/db = sum(delta, axis=0)``
  (``dense_backward_params``), and
- ``dL/dx = delta @ W.T`` (``dense_backward_input``).

The L2 penalty's gradient and the division by the batch's total sample weight
are applied to all parameters at once, fused into the optimizer step (see
``optimizers``), which saves a pass over every weight per batch.

The first layer's input may be a CSR matrix. A batch of it is the tuple
``(data, indices, indptr, rows)``: the rows ``rows`` of the CSR matrix, never
copied. ``input_forward`` and ``input_backward_params`` accept either a dense batch
or such a tuple and pick the matching kernel when the caller is compiled.
"""

from numba import types
from numba.extending import overload

from fastmlp.kernels._compile import kernel, linked_jit_options
from fastmlp.kernels.blas import matmul_into
from fastmlp.kernels.sums import column_sums

# Up to this many rows, the forward product runs row by row as matrix-vector
# products: a matrix product would first pack (copy) all of ``coef``, which
# for one row costs as much as the product itself (one-row predict latency).
GEMV_ROWS = 4


@kernel
def dense_forward(x, coef, out):
    if x.shape[0] <= GEMV_ROWS:
        coef_t = coef.T
        for i in range(x.shape[0]):
            # into out[i]: ``out[i] = coef_t @ x[i]`` would compile numba's
            # slice-assignment error path (2.1 s of the first compile)
            matmul_into(coef_t, x[i], out[i])
    else:
        matmul_into(x, coef, out)


@kernel
def dense_backward_params(x, delta, coef_grad, intercept_grad):
    matmul_into(x.T, delta, coef_grad)
    column_sums(delta, intercept_grad)


@kernel
def dense_backward_input(delta, coef, out):
    if coef.shape[1] == 1:
        # an outer product (single-output layer): a loop beats a BLAS call
        for i in range(delta.shape[0]):
            for k in range(coef.shape[0]):
                out[i, k] = delta[i, 0] * coef[k, 0]
    else:
        matmul_into(delta, coef.T, out)


# The CSR kernels take a row's stored values four at a time, so that each
# element of a row of ``out`` (forward) or of ``delta`` (backward) is loaded
# once per four values instead of once per value. The additions into each
# element keep their order, value by value: the same bits as one at a time.
# Measured (200-row batches of 2,000 x 20 stored as CSR, 100 outputs, float64):
# forward 60 -> 38 us, backward 48 -> 45 us.
CSR_GROUP = 4


@kernel
def csr_forward(data, indices, indptr, rows, coef, out):
    for r in range(rows.shape[0]):
        out_row = out[r]
        out_row[:] = 0.0
        start, end = indptr[rows[r]], indptr[rows[r] + 1]
        grouped_end = start + (end - start) // CSR_GROUP * CSR_GROUP
        for k in range(start, grouped_end, CSR_GROUP):
            v0, v1, v2, v3 = data[k], data[k + 1], data[k + 2], data[k + 3]
            c0, c1 = coef[indices[k]], coef[indices[k + 1]]
            c2, c3 = coef[indices[k + 2]], coef[indices[k + 3]]
            for j in range(out_row.shape[0]):
                total = out_row[j] + v0 * c0[j]
                total += v1 * c1[j]
                total += v2 * c2[j]
                out_row[j] = total + v3 * c3[j]
        for k in range(grouped_end, end):
            value, coef_row = data[k], coef[indices[k]]
            for j in range(out_row.shape[0]):
                out_row[j] += value * coef_row[j]


@kernel
def csr_backward_params(data, indices, indptr, rows, delta, coef_grad, intercept_grad):
    """``coef_grad = X[rows].T @ delta`` for CSR ``X``; ``intercept_grad``."""
    coef_grad[:] = 0.0
    for r in range(rows.shape[0]):
        delta_row = delta[r]
        start, end = indptr[rows[r]], indptr[rows[r] + 1]
        grouped_end = start + (end - start) // CSR_GROUP * CSR_GROUP
        for k in range(start, grouped_end, CSR_GROUP):
            v0, v1, v2, v3 = data[k], data[k + 1], data[k + 2], data[k + 3]
            g0, g1 = coef_grad[indices[k]], coef_grad[indices[k + 1]]
            g2, g3 = coef_grad[indices[k + 2]], coef_grad[indices[k + 3]]
            for j in range(delta_row.shape[0]):
                d = delta_row[j]
                g0[j] += v0 * d
                g1[j] += v1 * d
                g2[j] += v2 * d
                g3[j] += v3 * d
        for k in range(grouped_end, end):
            value, grad_row = data[k], coef_grad[indices[k]]
            for j in range(delta_row.shape[0]):
                grad_row[j] += value * delta_row[j]
    column_sums(delta, intercept_grad)


def input_forward(x, coef, out):
    """``out = x @ coef`` for a dense batch or a CSR batch tuple."""


def input_backward_params(x, delta, coef_grad, intercept_grad):
    """The first layer's parameter gradients for a dense or CSR batch."""


@overload(input_forward, jit_options=linked_jit_options())
def _input_forward(x, coef, out):
    if isinstance(x, types.Array):
        return lambda x, coef, out: dense_forward(x, coef, out)
    return lambda x, coef, out: csr_forward(x[0], x[1], x[2], x[3], coef, out)


@overload(input_backward_params, jit_options=linked_jit_options())
def _input_backward_params(x, delta, coef_grad, intercept_grad):
    if isinstance(x, types.Array):

        def dense_impl(x, delta, coef_grad, intercept_grad):
            dense_backward_params(x, delta, coef_grad, intercept_grad)

        return dense_impl

    def csr_impl(x, delta, coef_grad, intercept_grad):
        csr_backward_params(x[0], x[1], x[2], x[3], delta, coef_grad, intercept_grad)

    return csr_impl
