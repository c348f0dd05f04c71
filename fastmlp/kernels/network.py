"""The compiled network: one forward chain, one backward chain, and the loops
that call them (one epoch of training, the full-batch objective, predict).

The network is a sequence of layers: a dense layer (dense or CSR input for
the first), then its hidden activation (and dropout, in training), or, for
the last, the output activation and its loss. ``forward_chain`` runs every
layer's forward kernel in order; ``backward_chain`` runs every layer's
backward kernel (its vector-Jacobian product) in reverse order. Training,
L-BFGS's objective, predict and the input Jacobians (``jacobian.py``) all run
``forward_chain``; training and L-BFGS run ``backward_chain``.

Bundles carry the arguments (see ``bundles.py``):

- ``net`` (``NetworkBundle``): the kernel set, ``units`` (``[n_features,
  hidden..., n_outputs]``), one activation code per hidden layer, the loss
  code and parameter, and the offsets of every layer in the flat buffers;
- ``params`` (and ``grads``, and the optimizer's state): one flat vector,
  every layer's coefficient matrix (row-major) and then every layer's
  intercept, the order of scikit-learn's ``_pack``; ``coef_view`` and
  ``intercept_view`` give the pieces as views;
- ``work``: ``(x, y, weights, acts, saved, deltas, masks, dropped)``, flat
  buffers for one batch: its gathered rows, and each layer's output,
  saved derivative (see ``activations.py``), ``dL/dz``, dropout mask and
  dropped-out output, layer
  ``l``'s block of ``n`` rows starting at ``n * net.unit_offsets[l]``;
- ``data``: ``(X, Y, sample_weight)``, ``X`` C-ordered 2-D or a CSR matrix
  as ``(data, indices, indptr)``;
- ``optimizer`` (``OptimizerBundle``): the solver code and its settings and
  state.

The kernel set (``_compile.KernelSet``) is the first field of ``net``: numba
compiles one specialisation of these loops per kernel set, holding only the
activation and loss kernels the network uses.

Every level of compiled calls re-optimizes the code of the levels below it
when numba links them, so the call chain is kept short: the first compile
of a fit is mostly that.
"""

import numpy as np
from numba import types
from numba.extending import overload

from fastmlp.kernels._atomics import barrier
from fastmlp.kernels._compile import (
    entry_point,
    kernel,
    linked_jit_options,
    make_selector,
)
from fastmlp.kernels._prefetch import prefetch_for_write
from fastmlp.kernels._views import matrix_view, new_array, read_only
from fastmlp.kernels.activations import HIDDEN_ACTIVATIONS
from fastmlp.kernels.dense import (
    dense_backward_input,
    dense_backward_params,
    dense_forward,
    input_backward_params,
    input_forward,
)
from fastmlp.kernels.losses import OUTPUT_LOSSES
from fastmlp.kernels.optimizers import (
    COUNTS_UPDATES,
    DECOUPLED_DECAY,
    PREFETCHES,
    coefs_in_range,
    squared_norm,
    update_rule,
)
from fastmlp.kernels.sums import pairwise_sum

_ACTIVATIONS = list(HIDDEN_ACTIVATIONS.values())
_LOSSES = list(OUTPUT_LOSSES.values())
activation_forward = make_selector([a.forward for a in _ACTIVATIONS], "activations")
activation_backward = make_selector([a.backward for a in _ACTIVATIONS], "activations")
output_forward = make_selector([loss.forward for loss in _LOSSES], "losses")
output_backward = make_selector([loss.backward for loss in _LOSSES], "losses")
output_loss_mean = make_selector([loss.loss_mean for loss in _LOSSES], "losses")
output_loss_delta = make_selector([loss.delta for loss in _LOSSES], "losses")


@kernel
def coef_view(params, net, layer):
    """Layer ``layer``'s coefficient matrix in the flat ``params``."""
    return matrix_view(
        params, net.param_offsets[layer], net.units[layer], net.units[layer + 1]
    )


@kernel
def intercept_view(params, net, layer):
    """Layer ``layer``'s intercept vector in the flat ``params``."""
    start = net.param_offsets[net.units.shape[0] - 1 + layer]
    return params[start : start + net.units[layer + 1]]


@kernel
def layer_block(buffer, net, n, layer):
    """Layer ``layer``'s ``n x units`` block of a flat batch buffer; an empty
    matrix when the buffer is empty (no derivatives or masks kept)."""
    if buffer.shape[0] == 0:
        return matrix_view(buffer, 0, 0, 0)
    return matrix_view(buffer, n * net.unit_offsets[layer], n, net.units[layer + 1])


def take_batch(X, rows, start, stop, shuffled, buffer):
    """The rows ``rows[start:stop]`` of ``X`` as a batch the layer kernels take."""


@overload(take_batch, jit_options=linked_jit_options())
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
def _layer_input(net, n, layer, dropout, acts, dropped):
    """The input of ``layer`` (>= 1): the previous layer's output, dropped out
    when that layer has dropout; typed read-only like the first layer's input
    (see ``read_only``)."""
    source = dropped if dropout[layer - 1] > 0.0 else acts
    return read_only(layer_block(source, net, n, layer - 1))


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
def forward_chain(net, params, x, n, dropout, acts, saved, masks, dropped):
    """Every layer's forward kernel, in order, on the batch ``x`` of ``n`` rows.

    Layer ``l``'s output lands in its block of ``acts`` (the last block is
    the network's output, after the output activation); derivatives in
    ``saved`` where the activation saves them (an empty ``saved`` keeps none);
    hidden layers with a ``dropout`` rate draw their masks into ``masks``
    and their dropped-out outputs into ``dropped``.
    """
    input_forward(x, coef_view(params, net, 0), layer_block(acts, net, n, 0))
    _layers_forward(net, params, n, dropout, acts, saved, masks, dropped)


@kernel
def _layers_forward(net, params, n, dropout, acts, saved, masks, dropped):
    """``forward_chain`` after the first layer's product ``x @ W0``: the part
    that does not depend on the input's kind, compiled once for dense and
    CSR input."""
    last = net.units.shape[0] - 2
    for layer in range(last + 1):
        out = layer_block(acts, net, n, layer)
        if layer > 0:
            a_in = _layer_input(net, n, layer, dropout, acts, dropped)
            dense_forward(a_in, coef_view(params, net, layer), out)
        bias = intercept_view(params, net, layer)
        layer_saved = layer_block(saved, net, n, layer)
        if layer == last:
            output_forward(net.kernels, net.loss, out, bias, layer_saved)
        else:
            activation_forward(
                net.kernels, net.activations[layer], out, bias, layer_saved
            )
            if dropout[layer] > 0.0:
                _drop_out(
                    out,
                    dropout[layer],
                    layer_block(masks, net, n, layer),
                    layer_block(dropped, net, n, layer),
                )


@kernel
def backward_chain(
    net, params, grads, x, n, dropout, acts, saved, deltas, masks, dropped
):
    """Every layer's backward kernel (vector-Jacobian product), in reverse
    order, from the output layer's ``dL/dz`` in its block of ``deltas``;
    ``grads`` receives ``dL/dparams`` in the layout of ``params``."""
    _layers_backward(
        net, params, grads, n, dropout, acts, saved, deltas, masks, dropped
    )
    input_backward_params(
        x,
        layer_block(deltas, net, n, 0),
        coef_view(grads, net, 0),
        intercept_view(grads, net, 0),
    )


@kernel
def _layers_backward(
    net, params, grads, n, dropout, acts, saved, deltas, masks, dropped
):
    """``backward_chain`` down to the first layer's ``dL/dz`` (in its block of
    ``deltas``), before the first layer's parameter gradients: the part that
    does not depend on the input's kind."""
    last = net.units.shape[0] - 2
    delta = layer_block(deltas, net, n, last)
    for layer in range(last, 0, -1):
        a_in = _layer_input(net, n, layer, dropout, acts, dropped)
        dense_backward_params(
            a_in, delta, coef_view(grads, net, layer), intercept_view(grads, net, layer)
        )
        delta_prev = layer_block(deltas, net, n, layer - 1)
        dense_backward_input(delta, coef_view(params, net, layer), delta_prev)
        if dropout[layer - 1] > 0.0:
            mask = layer_block(masks, net, n, layer - 1)
            for i in range(n):
                for j in range(net.units[layer]):
                    delta_prev[i, j] *= mask[i, j]
        activation_backward(
            net.kernels,
            net.activations[layer - 1],
            layer_block(saved, net, n, layer - 1),
            layer_block(acts, net, n, layer - 1),
            delta_prev,
        )
        delta = delta_prev


@kernel
def forward_backward(
    data, rows, start, stop, shuffled, params, grads, net, dropout, seed, work
):
    """Weighted mean data loss of the batch ``rows[start:stop]`` (the rows
    ``start:stop`` when not ``shuffled``), and its raw gradient.

    Returns ``(sum_i w_i l_i / sum_i w_i, sum_i w_i)``. ``grads`` receives the
    gradient of ``sum_i w_i l_i`` (before the L2 penalty and the division by
    ``sum_i w_i``, which the optimizer step applies). ``dropout`` holds one
    rate per hidden layer; ``seed`` (>= 0) first seeds this thread's
    generator for the dropout masks.
    """
    X, Y, sample_weight = data
    x_buffer, y_buffer, weight_buffer, acts, saved, deltas, masks, dropped = work
    if seed >= 0:
        np.random.seed(seed)
    x = take_batch(X, rows, start, stop, shuffled, x_buffer)
    y = take_rows(Y, rows, start, stop, shuffled, y_buffer)
    n = stop - start
    if shuffled:
        w = weight_buffer[:n]
        for r in range(n):
            w[r] = sample_weight[rows[start + r]]
    else:
        w = sample_weight[start:stop]
    weight_sum = float(pairwise_sum(w))

    forward_chain(net, params, x, n, dropout, acts, saved, masks, dropped)
    last = net.units.shape[0] - 2
    out = layer_block(acts, net, n, last)
    data_loss = output_loss_mean(
        net.kernels, net.loss, out, y, w, weight_sum, net.loss_param
    )
    delta = layer_block(deltas, net, n, last)
    output_loss_delta(net.kernels, net.loss, out, y, w, net.loss_param, delta)
    backward_chain(
        net, params, grads, x, n, dropout, acts, saved, deltas, masks, dropped
    )
    return data_loss, weight_sum


@kernel
def optimizer_update(params, grads, n_coefs, weight_sum, optimizer, step, begin, end):
    """The optimizer step of ``params[begin:end]`` for a whole batch (its
    raw gradient in ``grads[0]``) whose sample weights sum to ``weight_sum``;
    returns ``||W||^2`` over the range's coefficients before the step (the
    batch's L2 term is ``0.5 * l2_alpha(solver, alpha) * ||W||^2 /
    weight_sum``).

    ``params[:n_coefs]`` are the coefficients, the rest the intercepts.
    ``step`` is the number of this Adam update (from 1). Disjoint ranges may
    run on separate threads: each element's update depends on that element
    only.
    """
    return _range_step(
        params, grads[0, begin:end], None, n_coefs, weight_sum, optimizer, step,
        begin, end,
    )  # fmt: skip


@kernel
def split_batch_update(params, grads, n_coefs, weight_sum, optimizer, step, begin, end):
    """``optimizer_update`` for a split batch: ``grads`` holds one raw
    gradient per part (rows, at least 2), summed in part order, all but the
    last into ``grads[0]`` here and the last in the update rule's own loop
    (one pass over the range fewer: see ``optimizers``)."""
    n_parts = grads.shape[0]
    summed = grads[0, begin:end]
    for part in range(1, n_parts - 1):
        _add_into(summed, grads[part, begin:end])
    return _range_step(
        params, summed, grads[n_parts - 1, begin:end], n_coefs, weight_sum,
        optimizer, step, begin, end,
    )  # fmt: skip


@kernel
def _range_step(params, grads, last, n_coefs, weight_sum, o, step, begin, end):
    # slices, so that the steps' loops start at 0: the compiler then drops
    # numba's negative-index handling and vectorizes (a loop from a runtime
    # ``begin`` ran 4.5x slower)
    params = params[begin:end]
    n_range_coefs = coefs_in_range(n_coefs, begin, end)
    norm = squared_norm(params[:n_range_coefs])
    update_rule(
        o.kernels, o.solver, params, grads, last, o.first_moment[begin:end],
        o.second_moment[begin:end], n_range_coefs, o, weight_sum, step,
    )  # fmt: skip
    return norm


@kernel
def _add_into(target, values):
    for i in range(target.shape[0]):
        target[i] += values[i]


@kernel
def l2_alpha(solver, alpha):
    """The L2 penalty's strength: ``alpha``, except for a solver whose
    ``alpha`` is a decoupled weight decay instead (AdamW)."""
    return 0.0 if DECOUPLED_DECAY[solver] else alpha


@entry_point
def part_gradient(
    data, rows, start, stop, shuffled, params, grads, net, dropout, seed, work
):
    """``forward_backward`` over ``rows[start:stop]``, called from Python:
    L-BFGS's objective over every row (see ``loss_and_gradient``)."""
    return forward_backward(
        data, rows, start, stop, shuffled, params, grads, net, dropout, seed, work
    )


@entry_point
def train_epochs(
    data, orders, shuffled, batch_size, params, grads, net, dropout, seeds,
    optimizer, step, work, totals,
):  # fmt: skip
    """``totals.shape[0]`` epochs of mini-batch training, one after the other,
    in one call (the Python work between two epochs, tens of microseconds, is
    most of a small network's epoch); returns ``step``, the number of Adam
    updates so far.

    Epoch ``e`` takes the sample order ``orders[e]`` (when ``shuffled``; else
    the rows in order, ``orders`` holding one row of ``n_samples``), seeds
    its dropout masks with ``seeds[e]`` (when >= 0) and writes its sum of
    batch losses x rows to ``totals[e]``. A batch's loss is scikit-learn's:
    the weighted mean loss plus ``0.5 * alpha * ||W||^2 / sum(sample_weight)``,
    with W before the batch's update (AdamW: no penalty term). The same bits
    as one call per epoch: the optimizer's settings must not change between
    the epochs (its learning rate only changes between calls).
    """
    n_samples = orders.shape[1]
    n_coefs = net.param_offsets[net.units.shape[0] - 1]
    penalty_alpha = l2_alpha(optimizer.solver, optimizer.alpha)
    part_grads = grads.reshape((1, grads.shape[0]))
    for epoch in range(totals.shape[0]):
        if seeds[epoch] >= 0:
            np.random.seed(seeds[epoch])
        rows = orders[min(epoch, orders.shape[0] - 1)]
        total = 0.0
        for start in range(0, n_samples, batch_size):
            stop = min(start + batch_size, n_samples)
            data_loss, weight_sum = forward_backward(
                data, rows, start, stop, shuffled, params, grads, net, dropout, -1,
                work,
            )  # fmt: skip
            if COUNTS_UPDATES[optimizer.solver]:
                step += 1
            norm = optimizer_update(
                params, part_grads, n_coefs, weight_sum, optimizer, step, 0,
                params.shape[0],
            )  # fmt: skip
            total += (data_loss + 0.5 * penalty_alpha * norm / weight_sum) * (
                stop - start
            )
        totals[epoch] = total
    return step


# A split epoch's step under a rule that PREFETCHES (SGD) first asks for its
# ranges of the parameters, to be written (``_prefetch``), where the whole
# vector takes at most PREFETCH_MAX_BYTES: parameters that small stay in
# every core's cache through the parts. Measured on 2 threads (Intel, 2
# cores, 2 parts, tanh; the step's TSC cycles per batch and thread, then the
# fit's median of 7): (64, 256, 5) float64 (143 KB) 95k -> 45k, 0.105 ->
# 0.096 s; float32 (72 KB) 27k-45k -> 19k-23k, 0.067 -> 0.060 s; (100, 256,
# 128, 10) float32 (239 KB) 68k-168k -> 66k-71k, 0.260 -> 0.240 s; float64
# (478 KB) slower: 131k-143k -> 149k-170k (the lines are no longer in the
# other core's cache; prefetching then only delays the step). Adam's step,
# whose arithmetic hides the transfers, took longer prefetched (75k-86k ->
# 93k-101k): it never prefetches.
PREFETCH_MAX_BYTES = 256 * 1024


@entry_point
def train_epochs_in_parts(
    data, orders, shuffled, batch_size, params, grads, net, dropout, part_seeds,
    optimizer, step, work, range_edges, team, totals,
):  # fmt: skip
    """``train_epochs`` with split batches, on one of the ``team``'s threads;
    returns (step, whether the epochs ran to their end).

    Each batch is trained as ``grads.shape[0]`` row parts: the parts'
    ``forward_backward`` (part ``p`` of batch ``b`` of epoch ``e`` seeding
    its dropout masks with ``part_seeds[e, b, p]``), then the step over the
    parameter ranges ``range_edges``, shared out between the threads of
    ``team = (thread, n_threads, sync, part_results, range_norms)``; every
    thread calls this with its own ``thread`` number and ``work`` buffers and
    the same other arguments. Thread ``t`` takes the parts and ranges ``t, t
    + n_threads, ...``; the threads meet at a barrier (``_atomics``) after
    the parts, whose losses and weights they then all sum in part order from
    ``part_results``, and after the step, whose ``||W||^2`` they sum in range
    order from ``range_norms``. So every thread computes the same totals
    (thread 0 writes them), and the bits do not depend on the number of
    threads. An aborted barrier (another thread failed) ends the call early.
    """
    thread, n_threads, sync, part_results, range_norms = team
    n_parts = grads.shape[0]
    n_ranges = range_edges.shape[0] - 1
    n_samples = orders.shape[1]
    n_coefs = net.param_offsets[net.units.shape[0] - 1]
    penalty_alpha = l2_alpha(optimizer.solver, optimizer.alpha)
    prefetch = PREFETCHES[optimizer.solver] and params.nbytes <= PREFETCH_MAX_BYTES
    for epoch in range(totals.shape[0]):
        rows = orders[min(epoch, orders.shape[0] - 1)]
        seeds = part_seeds[epoch]
        total = 0.0
        batch = 0
        for start in range(0, n_samples, batch_size):
            stop = min(start + batch_size, n_samples)
            size = (stop - start + n_parts - 1) // n_parts
            for part in range(thread, n_parts, n_threads):
                begin = start + part * size
                if begin >= stop:  # a short last batch: no stale gradients
                    for i in range(grads.shape[1]):
                        grads[part, i] = 0.0
                    continue
                loss, weight = forward_backward(
                    data, rows, begin, min(begin + size, stop), shuffled, params,
                    grads[part], net, dropout, seeds[batch, part], work,
                )  # fmt: skip
                part_results[part, 0] = loss
                part_results[part, 1] = weight
            if not barrier(sync, n_threads):
                return step, False
            loss_sum = 0.0
            weight_sum = 0.0
            for part in range(n_parts):
                if start + part * size < stop:
                    weight = part_results[part, 1]
                    if weight > 0:
                        loss_sum += part_results[part, 0] * weight
                    weight_sum += weight
            if COUNTS_UPDATES[optimizer.solver]:
                step += 1
            for r in range(thread, n_ranges, n_threads):
                if prefetch:
                    prefetch_for_write(params, range_edges[r], range_edges[r + 1])
                range_norms[r] = split_batch_update(
                    params, grads, n_coefs, weight_sum, optimizer, step,
                    range_edges[r], range_edges[r + 1],
                )  # fmt: skip
            if not barrier(sync, n_threads):
                return step, False
            norm_sum = 0.0
            for r in range(n_ranges):
                norm_sum += range_norms[r]
            scale = weight_sum if weight_sum != 0.0 else np.nan
            penalty = 0.5 * penalty_alpha * norm_sum / scale
            total += (loss_sum / scale + penalty) * (stop - start)
            batch += 1
        if thread == 0:
            totals[epoch] = total
    return step, True


@entry_point
def range_update(params, grads, n_coefs, weight_sum, optimizer, step, begin, end):
    """The step over one parameter range of ``grads.shape[0]`` part
    gradients, called from Python: the thread benchmark's cost model times
    the step with it (``benchmarks/threads.py``); training runs the step
    inside its epochs."""
    if grads.shape[0] == 1:
        return optimizer_update(
            params, grads, n_coefs, weight_sum, optimizer, step, begin, end
        )
    return split_batch_update(
        params, grads, n_coefs, weight_sum, optimizer, step, begin, end
    )


def loss_and_gradient(data, rows, params, grads, net, dropout, alpha, work):
    """Full-batch loss and gradient (L-BFGS's objective); ``grads`` is filled
    in place.

    ``part_gradient`` over all rows, then ``add_penalty``;
    ``_engine.FullBatchObjective`` makes the same two calls.
    """
    data_loss, weight_sum = part_gradient(
        data, rows, 0, rows.shape[0], False, params, grads, net, dropout, -1, work
    )
    return data_loss + add_penalty(params, grads, net, alpha, weight_sum)


def add_penalty(params, grads, net, alpha, weight_sum):
    """Turn a full batch's raw gradient into scikit-learn's, in place: add
    ``alpha * W`` and divide by ``weight_sum``; return the loss's L2 term
    ``0.5 * alpha * ||W||^2 / weight_sum``.

    NumPy, in float64 (as a kernel would compute it), with ``||W||^2`` the
    sum of one ``np.dot`` per layer, scikit-learn's ``_loss_grad_lbfgs``
    order: compiled, this one line of arithmetic cost 0.36 s of first use.
    """
    offsets = net.param_offsets
    n_layers = net.units.shape[0] - 1
    norm = 0.0
    for layer in range(n_layers):
        coef = params[offsets[layer] : offsets[layer + 1]]
        norm += float(np.dot(coef, coef))
    alpha, weight_sum = np.float64(alpha), np.float64(weight_sum)
    n_coefs = offsets[n_layers]
    grads[:n_coefs] = (grads[:n_coefs] + alpha * params[:n_coefs]) / weight_sum
    grads[n_coefs:] = grads[n_coefs:] / weight_sum
    return float(0.5 * alpha * norm / weight_sum)


@kernel
def no_dropout_rates(net):
    """A dropout rate of 0 for each hidden layer (predict, the Jacobians)."""
    rates = new_array(net.units.shape[0] - 2, np.float64)
    for layer in range(rates.shape[0]):
        rates[layer] = 0.0
    return rates


@entry_point
def predict(X, params, net, chunk_rows, out):
    """The forward chain in chunks of ``chunk_rows`` rows; writes ``out``.

    Work buffers hold one chunk's layer outputs only. Allocated with
    ``new_array``: each ``np.empty`` or ``np.zeros`` here would compile one of
    numba's array constructors (0.3 s of this kernel's first compile).
    """
    n_samples = out.shape[0]
    last = net.units.shape[0] - 2
    size = min(chunk_rows, n_samples) * net.unit_offsets[last + 1]
    acts = new_array(size, out.dtype)
    nothing = new_array(0, out.dtype)  # no gathered chunks, pre-activations or masks
    no_dropout = no_dropout_rates(net)
    rows = new_array(n_samples, np.int64)  # np.arange: 0.2 s more compile
    for i in range(n_samples):
        rows[i] = i
    rows = read_only(rows)  # typed as training's rows: shared code
    for start in range(0, n_samples, chunk_rows):
        stop = min(start + chunk_rows, n_samples)
        n = stop - start
        x = take_batch(X, rows, start, stop, False, nothing)
        forward_chain(net, params, x, n, no_dropout, acts, nothing, nothing, nothing)
        result = layer_block(acts, net, n, last)
        for i in range(n):
            for j in range(result.shape[1]):
                out[start + i, j] = result[i, j]


@entry_point
def loss_mean(net, p, y, sample_weight, weight_sum):
    """``sum_i w_i l_i / weight_sum``, the network's loss for predictions ``p``."""
    return output_loss_mean(
        net.kernels, net.loss, p, y, sample_weight, weight_sum, net.loss_param
    )
