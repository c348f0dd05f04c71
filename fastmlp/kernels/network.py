"""The compiled network: layer views, forward and backward pass, one epoch, predict.

Layout shared by every function here:

- ``units``: int64 array ``[n_features, hidden..., n_outputs]``.
- ``params`` (and ``grads``, and the optimizer's state): one flat vector, every
  layer's coefficient matrix (row-major) and then every layer's intercept, the
  order of scikit-learn's ``_pack``. ``coef_view`` and ``intercept_view`` give
  the pieces as views, so an optimizer step is one loop over one vector.
- ``acts`` and ``deltas``: flat work buffers that hold each layer's output and
  each layer's ``dL/dz`` for the current batch, allocated once per fit.
- ``X`` is a C-ordered 2-D array or a CSR matrix passed as the tuple
  ``(data, indices, indptr)``; ``take_batch`` returns a dense batch or a CSR
  batch tuple and the layer kernels accept both.

Backprop is the chain of the layer kernels' vector-Jacobian products in reverse
layer order (``forward_backward``, which also gathers its batch);
``train_epoch`` runs all the mini-batches of one epoch, optimizer steps
(``optimizer_update``) included, without returning to Python. A split batch
(see ``fastmlp._engine.StochasticTrainer``) calls the same two kernels from
Python, one ``forward_backward`` per part.

Every level of compiled calls re-optimizes the code of the levels below it
when numba links them, so the call chain is kept short: the first compile
of a fit is mostly that.
"""

import numpy as np
from numba import types
from numba.extending import overload

from fastmlp.kernels._compile import kernel
from fastmlp.kernels._views import matrix_view
from fastmlp.kernels.activations import activation_backward, activation_forward
from fastmlp.kernels.dense import (
    dense_backward_input,
    dense_backward_params,
    dense_forward,
    input_backward_params,
    input_forward,
)
from fastmlp.kernels.losses import output_forward, output_loss_delta, output_loss_mean
from fastmlp.kernels.optimizers import (
    ADAMW,
    SGD,
    adam_learning_rate,
    adam_step,
    coefs_in_range,
    finish_gradient,
    sgd_step,
    squared_norm,
)
from fastmlp.kernels.sums import pairwise_sum


@kernel
def coef_view(params, units, layer):
    offset = 0
    for i in range(layer):
        offset += units[i] * units[i + 1]
    return matrix_view(params, offset, units[layer], units[layer + 1])


@kernel
def intercept_view(params, units, layer):
    offset = 0
    for i in range(units.shape[0] - 1):
        offset += units[i] * units[i + 1]
    for i in range(layer):
        offset += units[i + 1]
    return params[offset : offset + units[layer + 1]]


@kernel
def n_coefs(units):
    total = 0
    for i in range(units.shape[0] - 1):
        total += units[i] * units[i + 1]
    return total


def take_batch(X, rows, start, stop, shuffled, buffer):
    """The rows ``rows[start:stop]`` of ``X`` as a batch the layer kernels take."""


@overload(take_batch)
def _take_batch(X, rows, start, stop, shuffled, buffer):
    if isinstance(X, types.Array):

        def dense_impl(X, rows, start, stop, shuffled, buffer):
            return take_rows(X, rows, start, stop, shuffled, buffer)

        return dense_impl

    def csr_impl(X, rows, start, stop, shuffled, buffer):
        return (X[0], X[1], X[2], rows[start:stop])

    return csr_impl


@kernel
def take_rows(values, rows, start, stop, shuffled, buffer):
    """``values[rows[start:stop]]`` for a 2-D ``values``, gathered into ``buffer``."""
    if not shuffled:
        return values[start:stop]
    batch = matrix_view(buffer, 0, stop - start, values.shape[1])
    for r in range(stop - start):
        row = rows[start + r]
        for j in range(values.shape[1]):  # a loop: a slice copy compiles slowly
            batch[r, j] = values[row, j]
    return batch


@kernel
def _layer_offsets(units, n):
    """Start of each layer's ``n x units`` block in the flat batch buffers."""
    offsets = np.zeros(units.shape[0], dtype=np.int64)
    for layer in range(units.shape[0] - 1):
        offsets[layer + 1] = offsets[layer] + n * units[layer + 1]
    return offsets


@kernel
def _layer_input(layer, units, offsets, n, dropout, acts, dropped):
    """The input of ``layer`` (>= 1): the previous layer's output, dropped out
    when that layer has dropout."""
    source = dropped if dropout[layer - 1] > 0.0 else acts
    return matrix_view(source, offsets[layer - 1], n, units[layer])


@kernel
def _drop_out(a, rate, mask, dropped):
    """Inverted dropout: ``dropped = a * mask``, ``mask`` 0 with probability
    ``rate`` and ``1 / (1 - rate)`` otherwise (numba's per-thread generator)."""
    scale = a.dtype.type(1.0 / (1.0 - rate))
    zero = a.dtype.type(0.0)
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            m = scale if np.random.random() >= rate else zero
            mask[i, j] = m
            dropped[i, j] = a[i, j] * m


@kernel
def forward_backward(
    X,
    Y,
    sample_weight,
    rows,
    start,
    stop,
    shuffled,
    params,
    grads,
    units,
    activations,
    loss,
    loss_param,
    dropout,
    seed,
    work,
):
    """Weighted mean data loss of the batch ``rows[start:stop]`` (the rows
    ``start:stop`` when not ``shuffled``), and its raw gradient.

    Returns ``(sum_i w_i l_i / sum_i w_i, sum_i w_i)``. ``grads`` receives the
    gradient of ``sum_i w_i l_i`` (the layers' vector-Jacobian products,
    before the L2 penalty and the division by ``sum_i w_i``, which the
    optimizer step applies) in the layout of ``params``. ``activations`` holds
    one activation code per hidden layer, ``dropout`` one rate per hidden
    layer; ``seed`` (>= 0) first seeds this thread's generator for the
    dropout masks. ``work`` is ``(x_buffer, y_buffer, weight_buffer, acts,
    pres, deltas, masks, dropped)``.
    """
    x_buffer, y_buffer, weight_buffer = work[:3]
    if seed >= 0:
        np.random.seed(seed)
    x = take_batch(X, rows, start, stop, shuffled, x_buffer)
    y = take_rows(Y, rows, start, stop, shuffled, y_buffer)
    if shuffled:
        w = weight_buffer[: stop - start]
        for r in range(stop - start):
            w[r] = sample_weight[rows[start + r]]
    else:
        w = sample_weight[start:stop]
    acts, pres, deltas, masks, dropped = work[3:]
    n = y.shape[0]
    last = units.shape[0] - 2
    weight_sum = float(pairwise_sum(w))
    offsets = _layer_offsets(units, n)

    # forward: z = input @ W, then bias and activation in place, then dropout
    for layer in range(last + 1):
        out = matrix_view(acts, offsets[layer], n, units[layer + 1])
        pre = matrix_view(pres, offsets[layer], n, units[layer + 1])
        coef = coef_view(params, units, layer)
        if layer == 0:
            input_forward(x, coef, out)
        else:
            a_in = _layer_input(layer, units, offsets, n, dropout, acts, dropped)
            dense_forward(a_in, coef, out)
        bias = intercept_view(params, units, layer)
        if layer == last:
            output_forward(loss, out, bias, pre)
        else:
            activation_forward(activations[layer], out, bias, pre)
            if dropout[layer] > 0.0:
                _drop_out(
                    out,
                    dropout[layer],
                    matrix_view(masks, offsets[layer], n, units[layer + 1]),
                    matrix_view(dropped, offsets[layer], n, units[layer + 1]),
                )
    data_loss = output_loss_mean(loss, out, y, w, weight_sum, loss_param)

    # backward: the layers' vector-Jacobian products in reverse order
    delta = matrix_view(deltas, offsets[last], n, units[last + 1])
    output_loss_delta(loss, out, y, w, loss_param, delta)
    for layer in range(last, 0, -1):
        a_in = _layer_input(layer, units, offsets, n, dropout, acts, dropped)
        dense_backward_params(
            a_in,
            delta,
            coef_view(grads, units, layer),
            intercept_view(grads, units, layer),
        )
        delta_prev = matrix_view(deltas, offsets[layer - 1], n, units[layer])
        dense_backward_input(delta, coef_view(params, units, layer), delta_prev)
        if dropout[layer - 1] > 0.0:
            mask = matrix_view(masks, offsets[layer - 1], n, units[layer])
            for i in range(n):
                for j in range(units[layer]):
                    delta_prev[i, j] *= mask[i, j]
        activation_backward(
            activations[layer - 1],
            matrix_view(pres, offsets[layer - 1], n, units[layer]),
            matrix_view(acts, offsets[layer - 1], n, units[layer]),
            delta_prev,
        )
        delta = delta_prev
    input_backward_params(
        x, delta, coef_view(grads, units, 0), intercept_view(grads, units, 0)
    )
    return data_loss, weight_sum


@kernel
def optimizer_update(
    params,
    grads,
    coefs_end,
    weight_sum,
    alpha,
    solver,
    learning_rate,
    momentum,
    nesterov,
    beta_1,
    beta_2,
    epsilon,
    state_1,
    state_2,
    step,
    begin,
    end,
):
    """The optimizer step of ``params[begin:end]`` for a batch whose sample
    weights sum to ``weight_sum``; returns ``||W||^2`` over the range's
    coefficients before the step (the batch's L2 term is
    ``0.5 * l2_alpha(solver, alpha) * ||W||^2 / weight_sum``).

    ``grads`` is 2-D: the raw gradients of the batch's parts, summed here in
    row order into ``grads[0]``. ``params[:coefs_end]`` are the coefficients,
    the rest the intercepts. ``state_1`` and ``state_2`` are the optimizer's
    state (SGD: velocity and unused; Adam: first and second moments); ``step``
    is the number of this Adam update (from 1). Disjoint ranges may run on
    separate threads: each element's update depends on that element only.
    """
    summed = grads[0, begin:end]
    for part in range(1, grads.shape[0]):
        _add_into(summed, grads[part, begin:end])
    # slices, so that the steps' loops start at 0: the compiler then drops
    # numba's negative-index handling and vectorizes (a loop from a runtime
    # ``begin`` ran 4.5x slower)
    params = params[begin:end]
    n_range_coefs = coefs_in_range(coefs_end, begin, end)
    norm = squared_norm(params[:n_range_coefs])
    if solver == SGD:
        sgd_step(
            params, summed, state_1[begin:end], n_range_coefs, alpha, weight_sum,
            learning_rate, momentum, nesterov,
        )  # fmt: skip
        return norm
    decay = learning_rate * alpha if solver == ADAMW else 0.0
    adam_step(
        params, summed, state_1[begin:end], state_2[begin:end], n_range_coefs,
        l2_alpha(solver, alpha), weight_sum,
        adam_learning_rate(learning_rate, beta_1, beta_2, step), beta_1, beta_2,
        epsilon, decay,
    )  # fmt: skip
    return norm


@kernel
def _add_into(target, values):
    for i in range(target.shape[0]):
        target[i] += values[i]


@kernel
def l2_alpha(solver, alpha):
    """The L2 penalty's strength: ``alpha``, except for AdamW, whose ``alpha``
    is a decoupled weight decay instead."""
    return 0.0 if solver == ADAMW else alpha


@kernel
def train_epoch(
    X,
    Y,
    sample_weight,
    rows,
    shuffled,
    batch_size,
    params,
    grads,
    units,
    activations,
    loss,
    loss_param,
    dropout,
    seed,
    alpha,
    solver,
    learning_rate,
    momentum,
    nesterov,
    beta_1,
    beta_2,
    epsilon,
    state_1,
    state_2,
    step,
    work,
):
    """One epoch of mini-batch training; returns (sum of batch losses x rows, step).

    A batch's loss is scikit-learn's: the weighted mean loss plus
    ``0.5 * alpha * ||W||^2 / sum(sample_weight)``, with W before the batch's
    update (AdamW: no penalty term). ``rows`` is the epoch's sample order
    (used when ``shuffled``); ``seed`` (>= 0) seeds the dropout masks of the
    epoch; ``step`` counts Adam updates so far. ``work`` is ``(x_buffer,
    y_buffer, weight_buffer, acts, pres, deltas, masks, dropped)``; the
    optimizer arguments are ``optimizer_update``'s.
    """
    if seed >= 0:
        np.random.seed(seed)
    n_samples = rows.shape[0]
    coefs_end = n_coefs(units)
    penalty_alpha = l2_alpha(solver, alpha)
    part_grads = grads.reshape((1, grads.shape[0]))
    total = 0.0
    for start in range(0, n_samples, batch_size):
        stop = min(start + batch_size, n_samples)
        data_loss, weight_sum = forward_backward(
            X, Y, sample_weight, rows, start, stop, shuffled, params, grads,
            units, activations, loss, loss_param, dropout, -1, work,
        )  # fmt: skip
        if solver != SGD:
            step += 1
        norm = optimizer_update(
            params, part_grads, coefs_end, weight_sum, alpha, solver,
            learning_rate, momentum, nesterov, beta_1, beta_2, epsilon, state_1,
            state_2, step, 0, params.shape[0],
        )  # fmt: skip
        total += (data_loss + 0.5 * penalty_alpha * norm / weight_sum) * (stop - start)
    return total, step


@kernel
def loss_and_gradient(
    X,
    Y,
    sample_weight,
    rows,
    params,
    grads,
    units,
    activations,
    loss,
    loss_param,
    dropout,
    alpha,
    work,
):
    """Full-batch loss and gradient (for L-BFGS); ``grads`` is filled in place."""
    data_loss, weight_sum = forward_backward(
        X, Y, sample_weight, rows, 0, rows.shape[0], False, params, grads, units,
        activations, loss, loss_param, dropout, -1, work,
    )  # fmt: skip
    penalty = 0.5 * alpha * coef_squared_norm(params, units) / weight_sum
    finish_gradient(params, grads, n_coefs(units), alpha, weight_sum)
    return data_loss + penalty


@kernel
def coef_squared_norm(params, units):
    """``||W||^2`` summed layer by layer, as scikit-learn adds it up."""
    total = 0.0
    offset = 0
    for layer in range(units.shape[0] - 1):
        size = units[layer] * units[layer + 1]
        total += squared_norm(params[offset : offset + size])
        offset += size
    return total


@kernel
def predict(X, params, units, activations, loss, chunk_rows, out):
    """Forward pass only, in chunks of ``chunk_rows`` rows; writes ``out``.

    Only two work buffers of ``chunk_rows x max(hidden units)`` are kept.
    """
    n_samples = out.shape[0]
    last = units.shape[0] - 2
    width = 1
    for layer in range(1, last + 1):
        width = max(width, units[layer])
    size = min(chunk_rows, n_samples) * width
    buffer_a = np.empty(size, dtype=out.dtype)
    buffer_b = np.empty(size, dtype=out.dtype)
    no_pre = np.empty((0, 0), dtype=out.dtype)  # nothing to keep for backward
    rows = np.arange(n_samples)
    for start in range(0, n_samples, chunk_rows):
        stop = min(start + chunk_rows, n_samples)
        n = stop - start
        x = take_batch(X, rows, start, stop, False, buffer_a)
        target = out[start:stop] if last == 0 else matrix_view(buffer_a, 0, n, units[1])
        input_forward(x, coef_view(params, units, 0), target)
        if last == 0:
            output_forward(loss, target, intercept_view(params, units, 0), no_pre)
            continue
        activation_forward(
            activations[0], target, intercept_view(params, units, 0), no_pre
        )
        current, spare = buffer_a, buffer_b
        for layer in range(1, last + 1):
            a_prev = matrix_view(current, 0, n, units[layer])
            if layer == last:
                target = out[start:stop]
            else:
                target = matrix_view(spare, 0, n, units[layer + 1])
            dense_forward(a_prev, coef_view(params, units, layer), target)
            bias = intercept_view(params, units, layer)
            if layer == last:
                output_forward(loss, target, bias, no_pre)
            else:
                activation_forward(activations[layer], target, bias, no_pre)
            current, spare = spare, current
