"""The dense (affine) layer ``z = x @ W + b``: forward and backward kernels.

The bias is added by the activation kernel that follows (the epilogue, see
``activations``), so the forward kernel here is the matrix product alone.

The backward kernel is the vector-Jacobian product of the layer: given
``delta = dL/dz`` for a batch it returns

- ``dL/dW = (x.T @ delta + alpha * W) / scale`` and ``dL/db = sum(delta) / scale``
  (``dense_backward_params``; ``alpha * W`` is the L2 penalty's gradient and
  ``scale`` the batch's total sample weight, as in scikit-learn), and
- ``dL/dx = delta @ W.T`` (``dense_backward_input``).

The first layer's input may be a CSR matrix. A batch of it is the tuple
``(data, indices, indptr, rows)``: the rows ``rows`` of the CSR matrix, never
copied. ``input_matmul`` and ``input_coef_grad`` accept either a dense batch
or such a tuple and pick the matching kernel when the caller is compiled.
"""

import numpy as np
from numba import types
from numba.extending import overload

from fastmlp.kernels._compile import kernel


@kernel
def dense_forward(x, coef, out):
    np.dot(x, coef, out)


@kernel
def _add_penalty_and_scale(delta, coef, alpha, scale, coef_grad, intercept_grad):
    for i in range(coef_grad.shape[0]):
        for j in range(coef_grad.shape[1]):
            coef_grad[i, j] = (coef_grad[i, j] + alpha * coef[i, j]) / scale
    intercept_grad[:] = 0.0
    for i in range(delta.shape[0]):
        for j in range(delta.shape[1]):
            intercept_grad[j] += delta[i, j]
    for j in range(intercept_grad.shape[0]):
        intercept_grad[j] = intercept_grad[j] / scale


@kernel
def dense_backward_params(x, delta, coef, alpha, scale, coef_grad, intercept_grad):
    np.dot(x.T, delta, coef_grad)
    _add_penalty_and_scale(delta, coef, alpha, scale, coef_grad, intercept_grad)


@kernel
def dense_backward_input(delta, coef, out):
    np.dot(delta, coef.T, out)


@kernel
def csr_forward(data, indices, indptr, rows, coef, out):
    out[:] = 0.0
    for r in range(rows.shape[0]):
        row = rows[r]
        for k in range(indptr[row], indptr[row + 1]):
            value = data[k]
            col = indices[k]
            for j in range(coef.shape[1]):
                out[r, j] += value * coef[col, j]


@kernel
def csr_coef_product(data, indices, indptr, rows, delta, coef_grad):
    """``coef_grad = X[rows].T @ delta`` for CSR ``X``, without the penalty."""
    coef_grad[:] = 0.0
    for r in range(rows.shape[0]):
        row = rows[r]
        for k in range(indptr[row], indptr[row + 1]):
            value = data[k]
            col = indices[k]
            for j in range(delta.shape[1]):
                coef_grad[col, j] += value * delta[r, j]


@kernel
def csr_backward_params(
    data, indices, indptr, rows, delta, coef, alpha, scale, coef_grad, intercept_grad
):
    csr_coef_product(data, indices, indptr, rows, delta, coef_grad)
    _add_penalty_and_scale(delta, coef, alpha, scale, coef_grad, intercept_grad)


def input_forward(x, coef, out):
    """``out = x @ coef`` for a dense batch or a CSR batch tuple."""


def input_backward_params(x, delta, coef, alpha, scale, coef_grad, intercept_grad):
    """The first layer's parameter gradients for a dense or CSR batch."""


@overload(input_forward)
def _input_forward(x, coef, out):
    if isinstance(x, types.Array):
        return lambda x, coef, out: dense_forward(x, coef, out)
    return lambda x, coef, out: csr_forward(x[0], x[1], x[2], x[3], coef, out)


@overload(input_backward_params)
def _input_backward_params(x, delta, coef, alpha, scale, coef_grad, intercept_grad):
    if isinstance(x, types.Array):

        def dense_impl(x, delta, coef, alpha, scale, coef_grad, intercept_grad):
            dense_backward_params(
                x, delta, coef, alpha, scale, coef_grad, intercept_grad
            )

        return dense_impl

    def csr_impl(x, delta, coef, alpha, scale, coef_grad, intercept_grad):
        csr_backward_params(
            x[0],
            x[1],
            x[2],
            x[3],
            delta,
            coef,
            alpha,
            scale,
            coef_grad,
            intercept_grad,
        )

    return csr_impl
